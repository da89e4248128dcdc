// Post-mortems and action items; the same queries on both engines.
import { sql, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import { chunks } from './chunks.js';
import type { DB } from './db.types.js';
import type { IncidentRow } from './incident.repository.js';
import type { ActionItemsTable, PostmortemsTable } from './postmortem-tables.js';

export type PostmortemRow = Selectable<PostmortemsTable>;
export type ActionItemRow = Selectable<ActionItemsTable>;
export type NewActionItemRow = Omit<Insertable<ActionItemsTable>, 'id' | 'seq'>;

export interface ActionItemFilter {
  status?: string;
  owner?: string;
  /** true: only open items past due at `now`; false: all others. */
  overdue?: boolean;
  now?: number;
  incidentIds?: string[];
  limit?: number;
}

export interface IncidentRangeFilter {
  from: number;
  to: number;
  severity?: string;
  service?: string;
}

export class PostmortemRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async get(incidentId: string): Promise<PostmortemRow | undefined> {
    return this.db
      .selectFrom('postmortems')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .executeTakeFirst();
  }

  /** Inserts unless the incident already has one (a sweep and a request may race); true when inserted. */
  async insert(row: PostmortemRow): Promise<boolean> {
    const result = await this.db
      .insertInto('postmortems')
      .values(row)
      .onConflict((oc) => oc.column('incident_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Compare-and-set on the version read, so two writers cannot silently overwrite each other. */
  async update(incidentId: string, version: number, patch: Updateable<PostmortemsTable>): Promise<boolean> {
    const result = await this.db
      .updateTable('postmortems')
      .set(patch)
      .where('incident_id', '=', incidentId)
      .where('version', '=', version)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async forIncidents(ids: string[]): Promise<PostmortemRow[]> {
    const out: PostmortemRow[] = [];
    for (const batch of chunks(ids, 500))
      out.push(
        ...(await this.db.selectFrom('postmortems').selectAll().where('incident_id', 'in', batch).execute()),
      );
    return out;
  }

  /**
   * Ids are AI-<max seq + 1>. Callers serialise inserts (one writer per process); the unique seq
   * turns a race with another process into an error rather than a duplicate.
   */
  async insertActionItem(row: NewActionItemRow): Promise<ActionItemRow> {
    return this.db.transaction().execute(async (trx) => {
      const max = await trx
        .selectFrom('action_items')
        .select((eb) => eb.fn.max('seq').as('max'))
        .executeTakeFirst();
      const seq = Number(max?.max ?? 0) + 1;
      const full = { ...row, id: `AI-${seq}`, seq };
      await trx.insertInto('action_items').values(full).execute();
      return full as ActionItemRow;
    });
  }

  async getActionItem(id: string): Promise<ActionItemRow | undefined> {
    return this.db.selectFrom('action_items').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async updateActionItem(id: string, patch: Updateable<ActionItemsTable>): Promise<void> {
    await this.db.updateTable('action_items').set(patch).where('id', '=', id).execute();
  }

  /** Soonest due first (items without a due date last), then oldest first; with the total before the limit. */
  async listActionItems(filter: ActionItemFilter): Promise<{ items: ActionItemRow[]; total: number }> {
    if (filter.incidentIds?.length === 0) return { items: [], total: 0 };
    const base = this.db
      .selectFrom('action_items')
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .$if(filter.owner !== undefined, (q) => q.where('owner', '=', filter.owner!))
      .$if(filter.overdue === true, (q) =>
        q.where('status', '=', 'open').where('due_at', 'is not', null).where('due_at', '<', filter.now!),
      )
      .$if(filter.overdue === false, (q) =>
        q.where((eb) =>
          eb.or([eb('status', '!=', 'open'), eb('due_at', 'is', null), eb('due_at', '>=', filter.now!)]),
        ),
      )
      .$if(filter.incidentIds !== undefined, (q) => q.where('incident_id', 'in', filter.incidentIds!));
    const count = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    const items = await base
      .selectAll()
      // Engines disagree on where NULLs sort; say it explicitly.
      .orderBy(sql`case when due_at is null then 1 else 0 end`)
      .orderBy('due_at')
      .orderBy('seq')
      .$if(filter.limit !== undefined, (q) => q.limit(filter.limit!))
      .execute();
    return { items, total: Number(count?.n ?? 0) };
  }

  /** Action items of many incidents (the report's range can hold more than one statement's parameters). */
  async actionItemsFor(incidentIds: string[]): Promise<ActionItemRow[]> {
    const out: ActionItemRow[] = [];
    for (const batch of chunks(incidentIds, 500))
      out.push(
        ...(await this.db.selectFrom('action_items').selectAll().where('incident_id', 'in', batch).execute()),
      );
    return out;
  }

  /**
   * Incidents opened in [from, to), for reports. Post-mortems belong to the incidents domain, so this
   * reads the incidents table directly: the incident repository's listing has no time bound.
   */
  async incidentsCreatedBetween(filter: IncidentRangeFilter): Promise<IncidentRow[]> {
    const rows = await this.db
      .selectFrom('incidents')
      .selectAll()
      .where('created_at', '>=', filter.from)
      .where('created_at', '<', filter.to)
      .$if(filter.severity !== undefined, (q) => q.where('severity', '=', filter.severity!))
      .$if(filter.service !== undefined, (q) =>
        q.where('services', 'like', `%${JSON.stringify(filter.service!)}%`),
      )
      .orderBy('created_at')
      .orderBy('seq')
      .execute();
    // The LIKE above narrows; the exact match is on the parsed list (a name may contain another).
    return filter.service === undefined
      ? rows
      : rows.filter((r) => (JSON.parse(r.services) as string[]).includes(filter.service!));
  }
}
