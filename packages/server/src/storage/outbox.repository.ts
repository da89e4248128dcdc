// The notification outbox's rows: deliveries (one per notification and receiver channel) and attempts.
import {
  sql,
  type ExpressionBuilder,
  type Insertable,
  type Kysely,
  type Selectable,
  type Updateable,
} from 'kysely';
import type { DB, NotificationAttemptsTable, NotificationDeliveriesTable } from './db.types.js';

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'expired';
export type DeliveryRow = Selectable<NotificationDeliveriesTable>;
export type DeliverySummaryRow = Omit<DeliveryRow, 'payload'>;
export type NewDelivery = Insertable<NotificationDeliveriesTable>;
export type AttemptRow = Selectable<NotificationAttemptsTable>;
export type NewAttempt = Omit<Insertable<NotificationAttemptsTable>, 'delivery_id'>;
export type DeliveryUpdate = Pick<
  Updateable<NotificationDeliveriesTable>,
  'status' | 'attempts' | 'last_error' | 'last_status' | 'next_attempt_at' | 'delivered_at' | 'updated_at'
>;

/** Open deliveries hold back later ones of their lane. */
const OPEN: DeliveryStatus[] = ['pending', 'sending'];
const ENDED: DeliveryStatus[] = ['delivered', 'failed', 'expired'];

export interface DeliveryFilter {
  status?: DeliveryStatus;
  receiver?: string;
  groupKey?: string;
  /** Deliveries with an id below this one (newest-first paging). */
  before?: number;
  limit: number;
}

const SUMMARY_COLUMNS = [
  'id',
  'idempotency_key',
  'lane',
  'group_key',
  'sequence',
  'receiver',
  'channel',
  'target',
  'notification_status',
  'reason',
  'alert_count',
  'status',
  'attempts',
  'last_error',
  'last_status',
  'created_at',
  'updated_at',
  'next_attempt_at',
  'delivered_at',
] as const;

/** An open delivery earlier in the same lane as `d`. */
function earlierOpen(eb: ExpressionBuilder<DB & { d: NotificationDeliveriesTable }, 'd'>) {
  return eb
    .selectFrom('notification_deliveries as e')
    .select(sql<number>`1`.as('one'))
    .whereRef('e.lane', '=', 'd.lane')
    .whereRef('e.sequence', '<', 'd.sequence')
    .where('e.status', 'in', OPEN);
}

export class OutboxRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Stores every row or none; a row whose idempotency key is already stored is skipped. Returns how many were new. */
  async insert(rows: NewDelivery[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      let inserted = 0;
      for (const row of rows) {
        const result = await trx
          .insertInto('notification_deliveries')
          .values(row)
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .executeTakeFirst();
        inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
      }
      return inserted;
    });
  }

  /** After a crash, deliveries caught mid-send go out again (at-least-once). */
  async resetSending(now: number): Promise<number> {
    const result = await this.db
      .updateTable('notification_deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now })
      .where('status', '=', 'sending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Gives up on open deliveries created before the cutoff. */
  async expire(cutoff: number, now: number, error: string): Promise<DeliverySummaryRow[]> {
    return this.db
      .updateTable('notification_deliveries')
      .set({ status: 'expired', next_attempt_at: null, updated_at: now, last_error: error })
      .where('status', '=', 'pending')
      .where('created_at', '<', cutoff)
      .returning(SUMMARY_COLUMNS)
      .execute();
  }

  /** Pending deliveries due by now whose lane has no earlier open delivery, oldest due first. */
  async due(now: number, limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('notification_deliveries as d')
      .selectAll('d')
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where((eb) => eb.not(eb.exists(earlierOpen(eb))))
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit)
      .execute();
  }

  /** When the next delivery that is free to go becomes due; null when none is waiting. */
  async nextDueAt(): Promise<number | null> {
    const row = await this.db
      .selectFrom('notification_deliveries as d')
      .select((eb) => eb.fn.min('d.next_attempt_at').as('at'))
      .where('d.status', '=', 'pending')
      .where((eb) => eb.not(eb.exists(earlierOpen(eb))))
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  /** Marks a pending delivery as being sent; false when something else changed it first. */
  async claim(id: number, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('notification_deliveries')
      .set({ status: 'sending', updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records an attempt and the delivery's new state together. */
  async recordAttempt(id: number, attempt: NewAttempt, update: DeliveryUpdate): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('notification_attempts')
        .values({ ...attempt, delivery_id: id })
        .execute();
      await trx.updateTable('notification_deliveries').set(update).where('id', '=', id).execute();
    });
  }

  async list(filter: DeliveryFilter): Promise<DeliverySummaryRow[]> {
    return this.db
      .selectFrom('notification_deliveries')
      .select(SUMMARY_COLUMNS)
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .$if(filter.receiver !== undefined, (q) => q.where('receiver', '=', filter.receiver!))
      .$if(filter.groupKey !== undefined, (q) => q.where('group_key', '=', filter.groupKey!))
      .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before!))
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
  }

  async get(id: number): Promise<DeliveryRow | undefined> {
    return this.db.selectFrom('notification_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byIdempotencyKey(key: string): Promise<DeliveryRow | undefined> {
    return this.db
      .selectFrom('notification_deliveries')
      .selectAll()
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  async attempts(deliveryId: number): Promise<AttemptRow[]> {
    return this.db
      .selectFrom('notification_attempts')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('attempt')
      .execute();
  }

  /**
   * Removes deliveries that ended (delivered, failed, expired) before `before`, with their attempts.
   * Open ones stay whatever their age: they are still owed to a receiver.
   */
  async purge(before: number): Promise<number> {
    const ended = this.db
      .selectFrom('notification_deliveries')
      .select('id')
      .where('status', 'in', ENDED)
      .where('updated_at', '<', before);
    // Attempts first, so the purge does not depend on the foreign key's cascade being enforced.
    await this.db.deleteFrom('notification_attempts').where('delivery_id', 'in', ended).execute();
    const result = await this.db
      .deleteFrom('notification_deliveries')
      .where('status', 'in', ENDED)
      .where('updated_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** How many deliveries are in each status. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('notification_deliveries')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
