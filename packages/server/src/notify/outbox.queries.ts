// Read side of the outbox for the API: the delivery log and one delivery with its attempts.
import type {
  DeliveryStatus,
  NotificationAttempt,
  NotificationChannel,
  NotificationDelivery,
  NotificationDeliveryDetail,
  NotificationDeliveryList,
} from '@opsbook/contracts';
import { NotFoundError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { OutboxRepository, type AttemptRow, type DeliverySummaryRow } from '../storage/outbox.repository.js';

export interface DeliveryQuery {
  status?: DeliveryStatus;
  receiver?: string;
  groupKey?: string;
  /** nextCursor of the previous page. */
  cursor?: string;
  limit: number;
}

export class OutboxQueries {
  private readonly repository: OutboxRepository;

  constructor(store: Store) {
    this.repository = new OutboxRepository(store.db);
  }

  /** Newest first; nextCursor is null on the last page. */
  async list(query: DeliveryQuery): Promise<NotificationDeliveryList> {
    const rows = await this.repository.list({
      status: query.status,
      receiver: query.receiver,
      groupKey: query.groupKey,
      before: query.cursor === undefined ? undefined : Number(query.cursor),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    return { items: page.map(toView), nextCursor: more ? String(page[page.length - 1]!.id) : null };
  }

  async get(id: number): Promise<NotificationDeliveryDetail> {
    const row = await this.repository.get(id);
    if (!row)
      throw new NotFoundError(`no notification delivery ${id}; list them with GET /api/v1/notifications`);
    const attempts = await this.repository.attempts(id);
    let payload: unknown = null;
    try {
      payload = JSON.parse(row.payload);
    } catch {
      payload = null;
    }
    return { ...toView(row), payload, attempts: attempts.map(toAttempt) };
  }
}

function toView(row: DeliverySummaryRow): NotificationDelivery {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    groupKey: row.group_key,
    sequence: row.sequence,
    receiver: row.receiver,
    channel: row.channel as NotificationChannel,
    target: row.target,
    notificationStatus: row.notification_status as NotificationDelivery['notificationStatus'],
    reason: row.reason,
    alertCount: row.alert_count,
    status: row.status as DeliveryStatus,
    attemptCount: row.attempts,
    lastError: row.last_error,
    lastStatus: row.last_status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    nextAttemptAt: row.next_attempt_at,
    deliveredAt: row.delivered_at,
  };
}

function toAttempt(row: AttemptRow): NotificationAttempt {
  return {
    attempt: row.attempt,
    at: row.at,
    durationMs: row.duration_ms,
    ok: row.ok === 1,
    retryable: row.retryable === 1,
    status: row.status,
    response: row.response,
    error: row.error,
  };
}
