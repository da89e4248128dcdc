// API overrides of on-call schedules and the escalation state of incidents; the same queries on both engines.
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { DB } from './db.types.js';
import type { EscalationPagesTable, EscalationsTable, OncallOverridesTable } from './oncall-tables.js';

export type OverrideRow = Selectable<OncallOverridesTable>;
export type EscalationRow = Selectable<EscalationsTable>;
export type PageRow = Selectable<EscalationPagesTable>;
export type NewPageRow = Insertable<EscalationPagesTable>;

export class OncallRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertOverride(row: Insertable<OncallOverridesTable>): Promise<void> {
    await this.db.insertInto('oncall_overrides').values(row).execute();
  }

  /** Overrides not deleted that overlap [from, to), oldest first (newer ones win ties). */
  async overrides(options: { scheduleId?: string; from?: number; to?: number } = {}): Promise<OverrideRow[]> {
    let query = this.db.selectFrom('oncall_overrides').selectAll().where('deleted_at', 'is', null);
    if (options.scheduleId !== undefined) query = query.where('schedule_id', '=', options.scheduleId);
    if (options.from !== undefined) query = query.where('end_at', '>', options.from);
    if (options.to !== undefined) query = query.where('start_at', '<', options.to);
    return query.orderBy('created_at').orderBy('id').execute();
  }

  async override(id: string): Promise<OverrideRow | undefined> {
    return this.db.selectFrom('oncall_overrides').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Marks it deleted; false when it already was (or does not exist). */
  async deleteOverride(id: string, by: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('oncall_overrides')
      .set({ deleted_at: at, deleted_by: by })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async activeEscalations(): Promise<EscalationRow[]> {
    return this.db.selectFrom('escalations').selectAll().where('status', '=', 'active').execute();
  }

  async escalation(incidentId: string): Promise<EscalationRow | undefined> {
    return this.db
      .selectFrom('escalations')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .executeTakeFirst();
  }

  /** False when the incident already has an escalation (it never starts twice). */
  async insertEscalation(row: EscalationRow): Promise<boolean> {
    const result = await this.db
      .insertInto('escalations')
      .values(row)
      .onConflict((oc) => oc.column('incident_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /**
   * Moves an active escalation on from the level and loop it is at, storing the pages it is about to
   * send in the same transaction. Returns the page ids, or undefined when another step got there first.
   */
  async advance(
    incidentId: string,
    from: { level: number; loop: number },
    patch: Updateable<EscalationsTable>,
    pages: NewPageRow[],
  ): Promise<number[] | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('escalations')
        .set(patch)
        .where('incident_id', '=', incidentId)
        .where('status', '=', 'active')
        .where('level', '=', from.level)
        .where('loop', '=', from.loop)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return undefined;
      const ids: number[] = [];
      for (const page of pages) {
        const row = await trx
          .insertInto('escalation_pages')
          .values(page)
          .returning('id')
          .executeTakeFirstOrThrow();
        ids.push(Number(row.id));
      }
      return ids;
    });
  }

  /** Ends an active escalation; false when it was not active any more. */
  async finish(incidentId: string, status: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('escalations')
      .set({ status, next_at: null, updated_at: at })
      .where('incident_id', '=', incidentId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setNextAt(incidentId: string, nextAt: number, at: number): Promise<void> {
    await this.db
      .updateTable('escalations')
      .set({ next_at: nextAt, updated_at: at })
      .where('incident_id', '=', incidentId)
      .where('status', '=', 'active')
      .execute();
  }

  async markPage(id: number, status: 'sent' | 'failed', error: string | null): Promise<void> {
    await this.db.updateTable('escalation_pages').set({ status, error }).where('id', '=', id).execute();
  }

  async pages(incidentId: string): Promise<PageRow[]> {
    const rows = await this.db
      .selectFrom('escalation_pages')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  /** Pages stored but never handed to the notifier (the process stopped in between). */
  async pendingPages(): Promise<PageRow[]> {
    const rows = await this.db
      .selectFrom('escalation_pages')
      .selectAll()
      .where('status', '=', 'pending')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }
}
