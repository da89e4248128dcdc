// Incident messages through the durable outbox: pages from escalation, status updates to the incident's
// channels, and the acknowledge and resolve that follow a page (PagerDuty closes its incident with them).
import type { IncidentMessage } from '@opsbook/contracts';
import type { Logger } from 'pino';
import { InputError } from '../errors.js';
import type { IncidentNotifier, PageRequest, StatusUpdateRequest } from '../incidents/incident-notifier.js';
import type { Incident } from '../incidents/incident.types.js';
import type { Store } from '../storage/db.js';
import { OutboxRepository, type DeliverySummaryRow } from '../storage/outbox.repository.js';
import {
  incidentGroupKey,
  incidentLabels,
  incidentTitle,
  pageTarget,
  type IncidentLane,
} from './incident-message.js';
import type { Notification, NotificationQueue, NotificationReason } from './notification.types.js';

export interface IncidentNoticesConfig {
  /** Names of notifications.receivers. */
  receivers: readonly string[];
  /** incidents.channels: where status updates go when the request names no receivers. */
  channels: readonly string[];
  /** Base URL for links ({externalUrl}/incidents/INC-7). */
  externalUrl: string;
}

export interface IncidentNoticesOptions {
  store: Store;
  /** The outbox (or a queue that forwards to it). */
  queue: NotificationQueue;
  config: IncidentNoticesConfig;
  logger: Logger;
  now?: () => number;
}

type Kind = IncidentMessage['kind'];

// The reason column tells a page (new) from its follow-ups, so the outbox itself records what was sent.
const REASONS: Record<Kind, NotificationReason> = {
  page: 'new',
  'status-update': 'new',
  acknowledged: 'update',
  resolved: 'resolved',
};

const ENDED = new Set(['post-incident', 'closed']);

export class OutboxIncidentNotifier implements IncidentNotifier {
  private config: IncidentNoticesConfig;
  private readonly repository: OutboxRepository;
  private readonly now: () => number;
  /** Last sequence per group key and receiver; read from the outbox the first time. */
  private readonly sequences = new Map<string, number>();
  // One message at a time, so sequence numbers are stored in the order they were given out.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: IncidentNoticesOptions) {
    this.config = options.config;
    this.repository = new OutboxRepository(options.store.db);
    this.now = options.now ?? Date.now;
  }

  /** A reloaded config: receivers, channels and the external URL. */
  configure(config: IncidentNoticesConfig): void {
    this.config = config;
  }

  /** The receivers a status update goes to: the named ones (each must exist), else incidents.channels. */
  statusReceivers(receivers?: readonly string[]): string[] {
    if (receivers && receivers.length > 0) return this.known(receivers);
    if (this.config.channels.length === 0)
      throw new InputError(
        'no channel for status updates: name receivers in the request, or list receiver names under incidents.channels in the config',
        'receivers',
      );
    return this.known(this.config.channels);
  }

  async page(request: PageRequest): Promise<void> {
    if (request.receivers.length === 0)
      throw new InputError(`paging ${request.target} needs at least one receiver`, 'receivers');
    const receivers = this.known(request.receivers);
    const page = { target: request.target, level: request.level, loop: request.loop };
    const text = `${request.incident.title}. ${pageTarget(page)} is paged; acknowledge ${request.incident.id} to stop the escalation.`;
    const message = this.message(request.incident, 'page', text, 'opsbook', page);
    await this.serial(() => this.send(message, 'page', receivers));
  }

  async statusUpdate(request: StatusUpdateRequest): Promise<void> {
    const text = request.text.trim();
    if (!text) throw new InputError('a status update needs text', 'text');
    const receivers = this.statusReceivers(request.receivers);
    const message = this.message(request.incident, 'status-update', text, request.actor);
    await this.serial(() => this.send(message, 'status', receivers));
  }

  /**
   * Brings every receiver that was paged for the incident up to date: an acknowledge once the incident
   * is acknowledged, a resolve once it reached post-incident. Call it after any change of the incident;
   * what was already sent is read from the outbox, so repeating the call sends nothing twice.
   * Returns how many follow-ups were queued.
   */
  async followUp(incident: Incident): Promise<number> {
    const ended = ENDED.has(incident.stage);
    if (!ended && incident.acknowledgedAt === null) return 0;
    return this.serial(async () => {
      const groupKey = incidentGroupKey(incident.id, 'page');
      const latest = new Map<string, DeliverySummaryRow>();
      // Newest first: the first row seen of a receiver is the last thing it was sent.
      for (const row of await this.repository.list({ groupKey, limit: 1000 }))
        if (!latest.has(row.receiver)) latest.set(row.receiver, row);
      let queued = 0;
      for (const [receiver, row] of latest) {
        if (!this.config.receivers.includes(receiver)) continue;
        let kind: Kind | undefined;
        if (ended && row.reason !== 'resolved') kind = 'resolved';
        else if (!ended && row.reason === REASONS.page) kind = 'acknowledged';
        if (!kind) continue;
        const actor =
          kind === 'resolved'
            ? (incident.stageHistory.findLast((s) => ENDED.has(s.stage))?.by ?? 'opsbook')
            : (incident.acknowledgedBy ?? 'opsbook');
        const text =
          kind === 'resolved'
            ? `${incident.id} was resolved by ${actor}; no one else will be paged for it.`
            : `${actor} acknowledged ${incident.id}; the escalation stops.`;
        await this.send(this.message(incident, kind, text, actor), 'page', [receiver]);
        queued++;
      }
      return queued;
    });
  }

  private known(receivers: readonly string[]): string[] {
    const unknown = receivers.filter((name) => !this.config.receivers.includes(name));
    if (unknown.length > 0)
      throw new InputError(
        `no receiver named ${unknown.map((n) => `"${n}"`).join(', ')}; define it under notifications.receivers${
          this.config.receivers.length > 0 ? ` (configured: ${this.config.receivers.join(', ')})` : ''
        }`,
        'receivers',
      );
    return [...new Set(receivers)];
  }

  private message(
    incident: Incident,
    kind: Kind,
    text: string,
    actor: string,
    page?: IncidentMessage['page'],
  ): IncidentMessage {
    return {
      id: incident.id,
      title: incident.title,
      severity: incident.severity,
      stage: incident.stage,
      commander: incident.commander,
      services: incident.services,
      url: `${this.config.externalUrl.replace(/\/+$/, '')}/incidents/${incident.id}`,
      kind,
      text,
      actor,
      ...(page && { page }),
    };
  }

  private async send(message: IncidentMessage, lane: IncidentLane, receivers: string[]): Promise<void> {
    const groupKey = incidentGroupKey(message.id, lane);
    for (const receiver of receivers) {
      const notification: Notification = {
        receiver,
        groupKey,
        status: message.kind === 'resolved' ? 'resolved' : 'firing',
        groupLabels: { incident: message.id },
        commonLabels: incidentLabels(message),
        commonAnnotations: { summary: incidentTitle(message) },
        alerts: [],
        reason: REASONS[message.kind],
        createdAt: this.now(),
        sequence: await this.nextSequence(groupKey, receiver),
        externalUrl: this.config.externalUrl,
        incident: message,
      };
      await this.options.queue.enqueue(notification);
    }
    this.options.logger.info(
      { incident: message.id, kind: message.kind, receivers },
      `incident ${message.kind} queued`,
    );
  }

  /** One more than the last stored for the group and receiver (so restarts never reuse a number). */
  private async nextSequence(groupKey: string, receiver: string): Promise<number> {
    const key = `${groupKey}\n${receiver}`;
    let last = this.sequences.get(key);
    if (last === undefined) {
      const [row] = await this.repository.list({ groupKey, receiver, limit: 1 });
      last = row ? Number(row.sequence) : 0;
    }
    this.sequences.set(key, last + 1);
    return last + 1;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
