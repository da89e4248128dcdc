// The dispatcher's notification log (Alertmanager's nflog, kept in the database so restarts neither
// repeat notifications nor lose resolves).
import type { Kysely, Selectable } from 'kysely';
import type { DB, DispatchLogTable } from './db.types.js';
import { chunks } from './chunks.js';

export type DispatchLogRow = Selectable<DispatchLogTable>;

/** What an empty set looks like in the JSON columns. */
const EMPTY = '[]';
/** The row holding the sequence floor (entry ids are hex hashes, so it cannot clash). */
const FLOOR_ID = 'sequence-floor';

export class DispatchRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Every entry, and the sequence floor: new groups number their notifications above it. */
  async load(): Promise<{ rows: DispatchLogRow[]; sequenceFloor: number }> {
    const all = await this.db.selectFrom('dispatch_log').selectAll().orderBy('id').execute();
    const floor = all.find((r) => r.id === FLOOR_ID);
    return { rows: all.filter((r) => r.id !== FLOOR_ID), sequenceFloor: floor?.sequence ?? 0 };
  }

  /** Inserts or replaces rows, in one transaction. */
  async save(rows: DispatchLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const batch of chunks(rows, 50)) {
        await trx
          .insertInto('dispatch_log')
          .values(batch)
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              group_key: eb.ref('excluded.group_key'),
              receiver: eb.ref('excluded.receiver'),
              route_id: eb.ref('excluded.route_id'),
              group_labels: eb.ref('excluded.group_labels'),
              sequence: eb.ref('excluded.sequence'),
              firing_hash: eb.ref('excluded.firing_hash'),
              firing: eb.ref('excluded.firing'),
              resolved: eb.ref('excluded.resolved'),
              pending: eb.ref('excluded.pending'),
              notified_at: eb.ref('excluded.notified_at'),
              next_flush_at: eb.ref('excluded.next_flush_at'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  /**
   * Deletes idle entries (nothing firing, nothing pending) last written before `before`. Their highest
   * sequence number becomes the floor, so a group that comes back never reuses a sequence number (the
   * outbox deduplicates on group key and sequence).
   */
  async prune(before: number, now: number): Promise<{ ids: string[]; sequenceFloor: number }> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .deleteFrom('dispatch_log')
        .where('id', '!=', FLOOR_ID)
        .where('updated_at', '<', before)
        .where('firing', '=', EMPTY)
        .where('pending', '=', EMPTY)
        .returning(['id', 'sequence'])
        .execute();
      const stored = await trx
        .selectFrom('dispatch_log')
        .select('sequence')
        .where('id', '=', FLOOR_ID)
        .executeTakeFirst();
      const sequenceFloor = Math.max(stored?.sequence ?? 0, ...rows.map((r) => r.sequence));
      if (rows.length > 0)
        await trx
          .insertInto('dispatch_log')
          .values({
            id: FLOOR_ID,
            group_key: '',
            receiver: '',
            route_id: '',
            group_labels: '{}',
            sequence: sequenceFloor,
            firing_hash: '',
            firing: EMPTY,
            resolved: EMPTY,
            pending: EMPTY,
            notified_at: null,
            next_flush_at: null,
            updated_at: now,
          })
          .onConflict((oc) => oc.column('id').doUpdateSet({ sequence: sequenceFloor, updated_at: now }))
          .execute();
      return { ids: rows.map((r) => r.id), sequenceFloor };
    });
  }
}
