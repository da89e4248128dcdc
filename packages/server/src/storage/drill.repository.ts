// Drill records and the watch clock of each database; the same queries on both engines.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Store } from './db.js';
import type { DrillsTable } from './drill-tables.js';

export type DrillRow = Selectable<DrillsTable>;

export class DrillRepository {
  constructor(private readonly store: Store) {}

  async insert(row: Insertable<DrillsTable>): Promise<void> {
    await this.store.db.insertInto('drills').values(row).execute();
  }

  async update(id: string, patch: Updateable<DrillsTable>): Promise<void> {
    await this.store.db.updateTable('drills').set(patch).where('id', '=', id).execute();
  }

  async get(id: string): Promise<DrillRow | undefined> {
    const row = await this.store.db.selectFrom('drills').selectAll().where('id', '=', id).executeTakeFirst();
    return row && numeric(row);
  }

  /** Newest first. */
  async list(options: { database?: string; status?: string[]; limit?: number } = {}): Promise<DrillRow[]> {
    let query = this.store.db.selectFrom('drills').selectAll();
    if (options.database) query = query.where('database', '=', options.database);
    if (options.status?.length) query = query.where('status', 'in', options.status);
    const rows = await query
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit ?? 100)
      .execute();
    return rows.map(numeric);
  }

  /** The newest drill of a database in one of these statuses. */
  async latest(database: string, status: string[]): Promise<DrillRow | undefined> {
    return (await this.list({ database, status, limit: 1 }))[0];
  }

  /** Records the first time a database was watched; later calls keep the first time. */
  async watch(database: string, since: number): Promise<void> {
    await this.store.db
      .insertInto('drill_watch')
      .values({ database, since })
      .onConflict((oc) => oc.column('database').doNothing())
      .execute();
  }

  async watchedSince(database: string): Promise<number | undefined> {
    const row = await this.store.db
      .selectFrom('drill_watch')
      .select('since')
      .where('database', '=', database)
      .executeTakeFirst();
    return row ? Number(row.since) : undefined;
  }
}

// pg returns bigint columns as strings.
function numeric(row: DrillRow): DrillRow {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    ...row,
    started_at: Number(row.started_at),
    finished_at: n(row.finished_at),
    rto_ms: n(row.rto_ms),
    rpo_ms: n(row.rpo_ms),
    problems: Number(row.problems),
    updated_at: Number(row.updated_at),
  };
}
