// A notification: one flush of one alert group to one receiver, as the dispatcher decided it.
import type { IncidentMessage } from '@opsbook/contracts';
import type { AlertSnapshot } from '../alerts/alert.types.js';
import type { Labels } from '../telemetry/series.js';

export type NotificationReason = 'new' | 'update' | 'repeat' | 'resolved' | 'maintenance-ended';

export interface Notification {
  receiver: string;
  /** Route id and group labels, like Alertmanager's groupKey: "{}/{severity=\"critical\"}:{service=\"api\"}". */
  groupKey: string;
  /** firing while any alert of the group fires. */
  status: 'firing' | 'resolved';
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Record<string, string>;
  /** The group's alerts at flush time: firing ones and those resolved since the last notification. */
  alerts: AlertSnapshot[];
  reason: NotificationReason;
  /** Epoch ms when the dispatcher flushed the group. */
  createdAt: number;
  /** Increases by one per notification of the group; receivers get them in this order. */
  sequence: number;
  externalUrl: string;
  /**
   * Set when the notification is about an incident (a page, a status update) rather than an alert
   * group: alerts is empty, groupKey is incident/<id>/page or incident/<id>/status.
   */
  incident?: IncidentMessage;
}

/** The durable outbox: a notification is stored before anything is sent. */
export interface NotificationQueue {
  enqueue(notification: Notification): Promise<void>;
}
