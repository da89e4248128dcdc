// Deployment records, newest first with keyset paging; the same queries on both engines.
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { DB } from './db.types.js';
import type { DeploymentsTable } from './deployment-tables.js';

export type DeploymentRow = Selectable<DeploymentsTable>;

export interface DeploymentFilter {
  service?: string;
  environment?: string;
  status?: string;
  /** Rows after this one in newest-first order (the previous page's last row). */
  after?: { startedAt: number; id: string };
  limit: number;
}

export class DeploymentRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: Insertable<DeploymentsTable>, db: Kysely<DB> = this.db): Promise<void> {
    await db.insertInto('deployments').values(row).execute();
  }

  async update(id: string, patch: Updateable<DeploymentsTable>, db: Kysely<DB> = this.db): Promise<void> {
    await db.updateTable('deployments').set(patch).where('id', '=', id).execute();
  }

  async get(id: string, db: Kysely<DB> = this.db): Promise<DeploymentRow | undefined> {
    const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
    return row && numeric(row);
  }

  async list(filter: DeploymentFilter): Promise<DeploymentRow[]> {
    const { after } = filter;
    const rows = await this.db
      .selectFrom('deployments')
      .selectAll()
      .$if(filter.service !== undefined, (q) => q.where('service', '=', filter.service!))
      .$if(filter.environment !== undefined, (q) => q.where('environment', '=', filter.environment!))
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .$if(after !== undefined, (q) =>
        q.where((eb) =>
          eb.or([
            eb('started_at', '<', after!.startedAt),
            eb.and([eb('started_at', '=', after!.startedAt), eb('id', '<', after!.id)]),
          ]),
        ),
      )
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
    return rows.map(numeric);
  }
}

// Times as numbers whatever the driver hands back for a bigint column.
function numeric(row: DeploymentRow): DeploymentRow {
  return {
    ...row,
    started_at: Number(row.started_at),
    finished_at: row.finished_at === null ? null : Number(row.finished_at),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}
