// What every channel's message shares: the title line, alert names and labels, times and hashes.
import { createHash } from 'node:crypto';
import type { AlertSnapshot } from '../alerts/alert.types.js';
import { incidentTitle } from './incident-message.js';
import type { Notification } from './notification.types.js';

/** Hex SHA-256 of the parts, which are joined unambiguously; `chars` keeps a prefix. */
export function stableHash(parts: readonly (string | number)[], chars = 64): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, chars);
}

export function firing(notification: Notification): AlertSnapshot[] {
  return notification.alerts.filter((a) => a.status === 'firing');
}

export function resolved(notification: Notification): AlertSnapshot[] {
  return notification.alerts.filter((a) => a.status === 'resolved');
}

/** "[FIRING:2]" or "[RESOLVED]", as Alertmanager's default templates start. */
export function statusTag(notification: Notification): string {
  return notification.status === 'firing' ? `[FIRING:${firing(notification).length}]` : '[RESOLVED]';
}

export function alertName(notification: Notification): string {
  return (
    notification.groupLabels.alertname ??
    notification.commonLabels.alertname ??
    notification.alerts[0]?.labels.alertname ??
    'alert'
  );
}

/**
 * "[FIRING:2] HighErrorRate service=shop": the tag, the alert name, then the other group labels.
 * Incident messages have their own title ("[SEV1] INC-7 Payment API down — paged: alice (level 1)").
 */
export function title(notification: Notification): string {
  if (notification.incident) return incidentTitle(notification.incident);
  const others = Object.entries(notification.groupLabels)
    .filter(([name]) => name !== 'alertname')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`);
  return [statusTag(notification), alertName(notification), ...others].join(' ');
}

/** A label of the group: its group label, else common to every alert. */
export function groupValue(notification: Notification, name: string): string | undefined {
  return notification.groupLabels[name] ?? notification.commonLabels[name];
}

/** The labels that tell this alert apart from the rest of its group ("instance=a pod=b"). */
export function distinguishingLabels(notification: Notification, alert: AlertSnapshot): string {
  return Object.entries(alert.labels)
    .filter(([name, value]) => name !== 'alertname' && notification.commonLabels[name] !== value)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
}

export function summaryOf(notification: Notification, alert?: AlertSnapshot): string | undefined {
  return alert?.annotations.summary ?? notification.commonAnnotations.summary;
}

export function descriptionOf(notification: Notification, alert?: AlertSnapshot): string | undefined {
  return alert?.annotations.description ?? notification.commonAnnotations.description;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Go's time.Time JSON (RFC 3339 with trailing fractional zeros dropped), as Alertmanager writes it. */
export function goTime(ms: number): string {
  return iso(ms).replace(/\.(\d*?)0+Z$/, (_, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

/** Alertmanager's zero time.Time, the endsAt of a firing alert in webhook payloads. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function isHttpUrl(value: string | undefined): value is string {
  return !!value && /^https?:\/\//i.test(value);
}
