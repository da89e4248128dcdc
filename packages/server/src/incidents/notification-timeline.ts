// Notifications on incident timelines: each delivery of an incident message, and of an alert notification
// whose alerts belong to an incident, becomes a `notification` entry once delivered or given up.
import type { Logger } from 'pino';
import { parseIncidentGroupKey } from '../notify/incident-message.js';
import type { Notification, NotificationQueue } from '../notify/notification.types.js';
import type { SettledEvent } from '../notify/outbox.js';
import { title } from '../notify/payloads.js';
import type { IncidentService } from './incident.service.js';
import { SYSTEM_ACTOR } from './incident.types.js';

export type TimelineIncidents = Pick<IncidentService, 'record' | 'idle' | 'incidentsForAlerts'>;

export interface NotificationTimelineOptions {
  /** Undefined until the incidents domain runs; deliveries settled before that are not recorded. */
  incidents: () => TimelineIncidents | undefined;
  logger: Logger;
  /** How many recent notifications to remember (title and alerts) until their deliveries settle. */
  capacity?: number;
}

interface Sent {
  title: string;
  fingerprints: string[];
}

const DEFAULT_CAPACITY = 10_000;

export class NotificationTimeline {
  // The outbox stores rendered messages only; what a timeline entry needs is kept here meanwhile. After
  // a restart, alert notifications still queued are not recorded (incident messages still are).
  private readonly sent = new Map<string, Sent>();
  private readonly capacity: number;

  constructor(private readonly options: NotificationTimelineOptions) {
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
  }

  /** A queue that remembers each notification, then hands it to `queue` (the outbox). */
  watch(queue: NotificationQueue): NotificationQueue {
    return {
      enqueue: async (notification) => {
        this.remember(notification);
        await queue.enqueue(notification);
      },
    };
  }

  remember(n: Notification): void {
    const key = keyOf(n.groupKey, n.receiver, n.sequence);
    this.sent.delete(key);
    this.sent.set(key, { title: title(n), fingerprints: n.alerts.map((a) => a.fingerprint) });
    if (this.sent.size > this.capacity) this.sent.delete(this.sent.keys().next().value!);
  }

  /** The outbox's onSettled: records the delivery on every incident it concerns. */
  async settled(event: SettledEvent): Promise<void> {
    const incidents = this.options.incidents();
    if (!incidents) return;
    const sent = this.sent.get(keyOf(event.groupKey, event.receiver, event.sequence));
    const about = parseIncidentGroupKey(event.groupKey);
    let ids: string[];
    if (about) ids = [about.id];
    else {
      if (!sent || sent.fingerprints.length === 0) return;
      // The alert change that caused this notification reached incidents first; wait until it is applied.
      await incidents.idle();
      ids = incidents.incidentsForAlerts(sent.fingerprints);
    }
    if (ids.length === 0) return;
    const heading =
      sent?.title ??
      (about
        ? `${about.id} ${about.lane === 'page' ? 'page' : 'status update'} #${event.sequence}`
        : event.groupKey);
    const text = describe(event, heading);
    const data = {
      receiver: event.receiver,
      channel: event.channel,
      target: event.target,
      status: event.status,
      title: heading,
      groupKey: event.groupKey,
      sequence: event.sequence,
      deliveryId: event.deliveryId,
      attempts: event.attempts,
      error: event.error,
      responseStatus: event.responseStatus,
    };
    for (const id of ids) {
      try {
        await incidents.record(id, 'notification', text, SYSTEM_ACTOR, data);
      } catch (error) {
        this.options.logger.error(
          { err: error, incident: id, deliveryId: event.deliveryId },
          'could not record a notification on the incident timeline',
        );
      }
    }
  }
}

function keyOf(groupKey: string, receiver: string, sequence: number): string {
  return `${groupKey}\n${receiver}\n${sequence}`;
}

/** "Notified ops-slack (slack): [FIRING:1] …" or "Notification to pager (webhook) failed after 5 attempts: HTTP 410". */
function describe(event: SettledEvent, heading: string): string {
  const to = `${event.receiver} (${event.channel})`;
  if (event.status === 'delivered') return `Notified ${to}: ${heading}`;
  const error = event.error ?? 'no reason recorded';
  if (event.status === 'failed')
    return `Notification to ${to} failed after ${event.attempts} attempt${event.attempts === 1 ? '' : 's'}: ${error}`;
  return `Notification to ${to} was not delivered: ${error}`;
}
