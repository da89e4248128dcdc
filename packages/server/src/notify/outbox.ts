// The durable notification outbox. enqueue() stores one delivery per receiver channel, rendered, in one
// transaction before anything is sent; a worker then sends due deliveries, records every attempt, retries
// with backoff and keeps each group's deliveries to a receiver channel in sequence order. Delivery is
// at-least-once: a crash mid-send sends again, and the idempotency key lets receivers drop the repeat.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ReceiverConfig } from '../config/notifications.schema.js';
import type { Store } from '../storage/db.js';
import {
  OutboxRepository,
  type DeliveryRow,
  type DeliveryStatus,
  type DeliverySummaryRow,
  type DeliveryUpdate,
  type NewDelivery,
} from '../storage/outbox.repository.js';
import { channels, receiverChannels } from './channels/index.js';
import { describeError, type Channel, type ChannelKind, type SendResult } from './channels/channel.js';
import type { Notification, NotificationQueue } from './notification.types.js';
import { stableHash } from './payloads.js';

const HOUR = 3_600_000;

export interface BackoffOptions {
  /** Delay before the first retry (ms); doubles per attempt. */
  initialMs: number;
  /** The longest delay between attempts (ms). */
  maxMs: number;
}

export interface OutboxOptions {
  store: Store;
  logger: Logger;
  receivers?: readonly ReceiverConfig[];
  /** How often the worker looks for due deliveries when nothing wakes it (ms). */
  pollIntervalMs?: number;
  /** Deliveries sent at once, across groups and receivers. */
  concurrency?: number;
  /** Limit for one attempt (ms). */
  timeoutMs?: number;
  /** A delivery not sent within this long after it was stored expires (ms). */
  maxAgeMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** How long stop() lets sends in flight finish before cancelling them (ms). */
  stopTimeoutMs?: number;
  /** Observer for metrics: called after every attempt. */
  onAttempt?(event: AttemptEvent): void;
  /** Observer for incident timelines: called once a delivery is delivered, failed or expired. */
  onSettled?(event: SettledEvent): void | Promise<void>;
  now?(): number;
  random?(): number;
}

export interface AttemptEvent {
  receiver: string;
  channel: ChannelKind;
  /** What the delivery became after the attempt. */
  status: DeliveryStatus;
  ok: boolean;
  durationMs: number;
}

/** A delivery that reached an end state, and the small summary a timeline entry needs. */
export interface SettledEvent {
  deliveryId: number;
  receiver: string;
  channel: ChannelKind;
  /** Where it went, credentials hidden. */
  target: string;
  groupKey: string;
  sequence: number;
  status: 'delivered' | 'failed' | 'expired';
  notificationStatus: string;
  reason: string;
  alertCount: number;
  attempts: number;
  /** Why it failed or expired; null when delivered. */
  error: string | null;
  /** HTTP status or SMTP reply code of the last attempt. */
  responseStatus: number | null;
}

export const OUTBOX_DEFAULTS = {
  pollIntervalMs: 1000,
  concurrency: 8,
  timeoutMs: 10_000,
  maxAgeMs: 24 * HOUR,
  backoff: { initialMs: 1000, maxMs: 5 * 60_000 },
  stopTimeoutMs: 5000,
};

/** Stable per notification and receiver channel: the same on every retry and after a restart. */
export function idempotencyKey(
  n: Pick<Notification, 'groupKey' | 'sequence' | 'receiver'>,
  channel: string,
): string {
  return stableHash([n.groupKey, n.sequence, n.receiver, channel], 32);
}

/** Deliveries of one lane (group, receiver, channel) go out one at a time in sequence order. */
export function laneOf(groupKey: string, receiver: string, channel: string): string {
  return stableHash([receiver, channel, groupKey], 32);
}

/** Exponential backoff with equal jitter: attempt 1 waits initial/2..initial, doubling up to the cap. */
export function retryDelay(
  attempt: number,
  backoff: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Replaces every secret in the text; longer secrets first, so a URL goes before its path. */
export function scrub(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret.length >= 4) result = result.split(secret).join('***');
  return result;
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
}

const STOPPED = 'outbox stopped';

export class Outbox implements NotificationQueue {
  private readonly repository: OutboxRepository;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly maxAgeMs: number;
  private readonly backoff: BackoffOptions;
  private readonly stopTimeoutMs: number;
  private receivers = new Map<string, ReceiverConfig>();
  private secrets: string[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private nextDueAt: number | null = null;
  private readonly inFlight = new Map<number, InFlight>();

  constructor(private readonly options: OutboxOptions) {
    this.repository = new OutboxRepository(options.store.db);
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.pollIntervalMs = options.pollIntervalMs ?? OUTBOX_DEFAULTS.pollIntervalMs;
    this.concurrency = Math.max(1, options.concurrency ?? OUTBOX_DEFAULTS.concurrency);
    this.timeoutMs = options.timeoutMs ?? OUTBOX_DEFAULTS.timeoutMs;
    this.maxAgeMs = options.maxAgeMs ?? OUTBOX_DEFAULTS.maxAgeMs;
    this.backoff = { ...OUTBOX_DEFAULTS.backoff, ...options.backoff };
    this.stopTimeoutMs = options.stopTimeoutMs ?? OUTBOX_DEFAULTS.stopTimeoutMs;
    this.setReceivers(options.receivers ?? []);
  }

  /** Applies a (reloaded) receiver config: new deliveries and every later attempt use it. */
  setReceivers(receivers: readonly ReceiverConfig[]): void {
    this.receivers = new Map(receivers.map((r) => [r.name, r]));
    this.secrets = receivers
      .flatMap((receiver) =>
        receiverChannels(receiver).flatMap((kind) => {
          const channel = channels[kind] as Channel<unknown, unknown>;
          return channel.secrets(receiver[kind]);
        }),
      )
      .sort((a, b) => b.length - a.length);
    this.wake();
  }

  /** Deliveries being sent right now. */
  get sendingCount(): number {
    return this.inFlight.size;
  }

  /**
   * Stores one rendered delivery per channel of the notification's receiver, all or none, then wakes
   * the worker. Storing the same notification again adds nothing (same idempotency keys).
   */
  async enqueue(notification: Notification): Promise<void> {
    const receiver = this.receivers.get(notification.receiver);
    if (!receiver) {
      this.logger.warn(
        { receiver: notification.receiver, groupKey: notification.groupKey },
        'notification for a receiver that is not configured; dropped',
      );
      return;
    }
    if (notification.status === 'resolved' && !receiver.sendResolved) return;
    const now = this.now();
    const rows = receiverChannels(receiver).map((kind) =>
      this.deliveryRow(notification, receiver, kind, now),
    );
    await this.repository.insert(rows);
    this.wake();
  }

  /** Drops the log of deliveries that ended before `before` (retention.notifications). */
  purge(before: number): Promise<number> {
    return this.repository.purge(before);
  }

  /** Starts sending. Deliveries a crash left mid-send are sent again. */
  async start(): Promise<void> {
    if (this.running) return;
    const resumed = await this.repository.resetSending(this.now());
    if (resumed > 0)
      this.logger.info({ deliveries: resumed }, 'resending notifications interrupted by a restart');
    this.running = true;
    this.wake();
  }

  /**
   * Stops sending: sends in flight get stopTimeoutMs to finish, then are cancelled and stay pending for
   * the next start. Call it before closing the store.
   */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    const settled = Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.stopTimeoutMs);
    });
    await Promise.race([settled, grace]);
    clearTimeout(timer);
    for (const flight of this.inFlight.values())
      flight.controller.abort(new DOMException(STOPPED, 'AbortError'));
    await Promise.allSettled([...this.inFlight.values()].map((f) => f.done));
  }

  private deliveryRow(
    n: Notification,
    receiver: ReceiverConfig,
    kind: ChannelKind,
    now: number,
  ): NewDelivery {
    const key = idempotencyKey(n, kind);
    const channel = channels[kind] as Channel<unknown, unknown>;
    const config: unknown = receiver[kind];
    let payload: string;
    let renderError: string | undefined;
    try {
      payload = JSON.stringify(channel.render(n, config, { idempotencyKey: key }));
    } catch (error) {
      payload = 'null';
      renderError = `could not render the message: ${scrub(describeError(error), this.secrets)}`;
    }
    return {
      idempotency_key: key,
      lane: laneOf(n.groupKey, n.receiver, kind),
      group_key: n.groupKey,
      sequence: n.sequence,
      receiver: n.receiver,
      channel: kind,
      target: channel.target(config),
      notification_status: n.status,
      reason: n.reason,
      alert_count: n.alerts.length,
      payload,
      status: renderError ? 'failed' : 'pending',
      attempts: 0,
      last_error: renderError ?? null,
      last_status: null,
      created_at: now,
      updated_at: now,
      next_attempt_at: renderError ? null : now,
      delivered_at: null,
    };
  }

  /** Runs the worker loop now (coalesced: one pass at a time, another if woken meanwhile). */
  private wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.tick();
      } while (this.again && this.running);
    })()
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'notification outbox could not read the store; will retry');
        this.nextDueAt = null;
      })
      .finally(() => {
        this.ticking = undefined;
        this.schedule();
      });
  }

  private schedule(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    let delay = this.pollIntervalMs;
    // With every slot busy, a finishing send wakes the worker; otherwise wake for the next due retry.
    if (this.nextDueAt !== null && this.inFlight.size < this.concurrency)
      delay = Math.min(delay, Math.max(5, this.nextDueAt - this.now()));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const now = this.now();
    const expired = await this.repository.expire(
      now - this.maxAgeMs,
      now,
      `expired: not delivered within ${formatDuration(this.maxAgeMs)}`,
    );
    for (const row of expired) {
      this.logger.warn(
        { deliveryId: row.id, receiver: row.receiver, channel: row.channel, groupKey: row.group_key },
        'notification expired before it could be delivered',
      );
      this.settled(row);
    }
    const free = this.concurrency - this.inFlight.size;
    if (free > 0) {
      for (const row of await this.repository.due(now, free)) {
        if (!this.running) break;
        if (this.inFlight.has(row.id) || !(await this.repository.claim(row.id, this.now()))) continue;
        this.launch(row);
      }
    }
    this.nextDueAt = await this.repository.nextDueAt();
  }

  private launch(row: DeliveryRow): void {
    const controller = new AbortController();
    const done = this.deliver(row, controller)
      .catch((error: unknown) =>
        this.logger.error({ err: error, deliveryId: row.id }, 'notification delivery failed'),
      )
      .finally(() => {
        this.inFlight.delete(row.id);
        this.wake();
      });
    this.inFlight.set(row.id, { controller, done });
  }

  private async deliver(row: DeliveryRow, controller: AbortController): Promise<void> {
    const startedAt = this.now();
    const clock = performance.now();
    const result = await this.attempt(row, controller);
    const durationMs = Math.round((performance.now() - clock) * 100) / 100;
    const stopped = controller.signal.aborted && isStopReason(controller.signal.reason);
    const attempts = row.attempts + 1;
    const error = result.error === undefined ? null : scrub(result.error, this.secrets);
    const response = result.response === undefined ? null : scrub(result.response, this.secrets);
    const now = this.now();
    const update: DeliveryUpdate = {
      attempts,
      last_error: result.ok ? null : error,
      last_status: result.status ?? null,
      updated_at: now,
      next_attempt_at: null,
    };
    if (result.ok) {
      update.status = 'delivered';
      update.delivered_at = now;
    } else if (!result.retryable) {
      update.status = 'failed';
    } else {
      const delay = stopped ? 0 : (result.retryAfterMs ?? retryDelay(attempts, this.backoff, this.random));
      const at = now + delay;
      if (at > row.created_at + this.maxAgeMs) {
        update.status = 'expired';
        update.last_error = `expired after ${attempts} attempts: ${error ?? 'not delivered'}`;
      } else {
        update.status = 'pending';
        update.next_attempt_at = at;
      }
    }
    await this.persist(row, update, {
      attempt: attempts,
      at: startedAt,
      duration_ms: durationMs,
      ok: result.ok ? 1 : 0,
      retryable: result.retryable ? 1 : 0,
      status: result.status ?? null,
      response,
      error,
    });
    this.report(row, update, result, durationMs, error);
  }

  /** One send through the channel with a deadline; never throws. */
  private async attempt(row: DeliveryRow, controller: AbortController): Promise<SendResult> {
    const kind = row.channel as ChannelKind;
    const channel = channels[kind] as Channel<unknown, unknown> | undefined;
    const config: unknown = this.receivers.get(row.receiver)?.[kind];
    if (!channel || config === undefined)
      return {
        ok: false,
        retryable: false,
        error: `receiver "${row.receiver}" has no ${row.channel} channel in the current config`,
      };
    const deadline = setTimeout(
      () => controller.abort(new DOMException(`timed out after ${this.timeoutMs} ms`, 'TimeoutError')),
      this.timeoutMs,
    );
    // A channel that ignores its signal still cannot hold a slot past the deadline.
    let onAbort: () => void = () => {};
    const aborted = new Promise<SendResult>((resolve) => {
      onAbort = () => resolve({ ok: false, retryable: true, error: abortText(controller.signal) });
      controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const payload: unknown = JSON.parse(row.payload);
      return await Promise.race([
        channel.send(payload, config, { signal: controller.signal, idempotencyKey: row.idempotency_key }),
        aborted,
      ]);
    } catch (error) {
      return { ok: false, retryable: true, error: describeError(error) };
    } finally {
      clearTimeout(deadline);
      controller.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Writes the attempt; if the store is briefly down, keeps trying while running. */
  private async persist(
    row: DeliveryRow,
    update: DeliveryUpdate,
    attempt: Parameters<OutboxRepository['recordAttempt']>[1],
  ): Promise<void> {
    for (;;) {
      try {
        await this.repository.recordAttempt(row.id, attempt, update);
        return;
      } catch (error) {
        // Left 'sending', the delivery is sent again after the next start: at-least-once.
        this.logger.error({ err: error, deliveryId: row.id }, 'could not record a notification attempt');
        if (!this.running) return;
        await new Promise((resolve) => setTimeout(resolve, this.pollIntervalMs));
      }
    }
  }

  private report(
    row: DeliveryRow,
    update: DeliveryUpdate,
    result: SendResult,
    durationMs: number,
    error: string | null,
  ): void {
    const status = update.status as DeliveryStatus;
    const context = {
      deliveryId: row.id,
      receiver: row.receiver,
      channel: row.channel,
      groupKey: row.group_key,
      sequence: row.sequence,
      attempt: update.attempts,
      ...(result.status !== undefined && { responseStatus: result.status }),
      durationMs,
    };
    if (status === 'delivered') this.logger.debug(context, 'notification delivered');
    else if (status === 'pending')
      this.logger.info(
        { ...context, error, retryAt: update.next_attempt_at },
        'notification not delivered; will retry',
      );
    else this.logger.warn({ ...context, error }, `notification ${status}; not retrying`);
    this.options.onAttempt?.({
      receiver: row.receiver,
      channel: row.channel as ChannelKind,
      status,
      ok: result.ok,
      durationMs,
    });
    if (status !== 'pending') this.settled({ ...row, ...update } as DeliverySummaryRow);
  }

  /** Tells the observer; its failures are logged and never reach the worker. */
  private settled(row: DeliverySummaryRow): void {
    const observer = this.options.onSettled;
    if (!observer) return;
    const event: SettledEvent = {
      deliveryId: row.id,
      receiver: row.receiver,
      channel: row.channel as ChannelKind,
      target: row.target,
      groupKey: row.group_key,
      sequence: Number(row.sequence),
      status: row.status as SettledEvent['status'],
      notificationStatus: row.notification_status,
      reason: row.reason,
      alertCount: row.alert_count,
      attempts: row.attempts,
      error: row.status === 'delivered' ? null : row.last_error,
      responseStatus: row.last_status,
    };
    const fail = (error: unknown) =>
      this.logger.error({ err: error, deliveryId: row.id }, 'notification settle observer failed');
    try {
      void Promise.resolve(observer(event)).catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}

function isStopReason(reason: unknown): boolean {
  return reason instanceof DOMException && reason.message === STOPPED;
}

function abortText(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') return reason.message;
  return isStopReason(reason) ? `cancelled: ${STOPPED}` : 'cancelled';
}

function formatDuration(ms: number): string {
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms}ms`;
}
