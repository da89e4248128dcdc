// Generic webhook: Opsbook's documented JSON, or Alertmanager's webhook v4 body for receivers built for it.
import type { OpsbookIncidentWebhookPayload, OpsbookWebhookPayload } from '@opsbook/contracts';
import { incidentLabels, incidentTitle } from '../incident-message.js';
import type { Notification } from '../notification.types.js';
import { GO_ZERO_TIME, goTime, iso, stableHash } from '../payloads.js';
import { urlSecrets, type Channel, type ChannelConfig } from './channel.js';
import { postJson } from './http.js';

type WebhookConfig = ChannelConfig<'webhook'>;

/** Alertmanager's webhook v4 body (notify/webhook Message: template.Data plus the envelope fields). */
export interface AlertmanagerWebhookPayload {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
}

export type WebhookPayload =
  OpsbookWebhookPayload | OpsbookIncidentWebhookPayload | AlertmanagerWebhookPayload;

const SECRET_HEADER = /auth|token|key|secret|cookie|pass|sign|session/i;

export function opsbookPayload(
  n: Notification,
  idempotencyKey: string,
): OpsbookWebhookPayload | OpsbookIncidentWebhookPayload {
  const payload: OpsbookWebhookPayload = {
    version: '1',
    idempotencyKey,
    groupKey: n.groupKey,
    sequence: n.sequence,
    status: n.status,
    reason: n.reason,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalUrl: n.externalUrl,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: iso(a.startsAt),
      endsAt: a.endsAt === null ? null : iso(a.endsAt),
      fingerprint: a.fingerprint,
      generatorUrl: a.generatorUrl,
      suppressedBy: a.suppressedBy,
    })),
  };
  return n.incident ? { ...payload, incident: n.incident } : payload;
}

export function alertmanagerPayload(n: Notification): AlertmanagerWebhookPayload {
  if (n.incident) return incidentAlertmanagerPayload(n, n.incident);
  return {
    receiver: n.receiver,
    status: n.status,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: goTime(a.startsAt),
      // Alertmanager sends Go's zero time while an alert fires.
      endsAt: a.endsAt === null || a.status === 'firing' ? GO_ZERO_TIME : goTime(a.endsAt),
      generatorURL: a.generatorUrl,
      fingerprint: a.fingerprint,
    })),
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalUrl,
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: 0,
  };
}

/**
 * An incident message as Alertmanager would send one alert: alertname IncidentPage, IncidentStatusUpdate
 * or IncidentAcknowledged, with incident, severity and stage labels; a resolve ends the page's alert.
 */
function incidentAlertmanagerPayload(
  n: Notification,
  m: NonNullable<Notification['incident']>,
): AlertmanagerWebhookPayload {
  const labels = incidentLabels(m);
  const annotations = { summary: incidentTitle(m), description: m.text };
  const status = m.kind === 'resolved' ? 'resolved' : 'firing';
  return {
    receiver: n.receiver,
    status,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: goTime(n.createdAt),
        endsAt: status === 'resolved' ? goTime(n.createdAt) : GO_ZERO_TIME,
        generatorURL: m.url,
        // Alertmanager fingerprints are 16 hex digits; the page and its resolve share one.
        fingerprint: stableHash(['incident', m.id, labels.alertname!], 16),
      },
    ],
    groupLabels: { incident: m.id },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: n.externalUrl,
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: 0,
  };
}

export const webhookChannel: Channel<WebhookConfig, WebhookPayload> = {
  render(notification, config, { idempotencyKey }) {
    return config.format === 'alertmanager'
      ? alertmanagerPayload(notification)
      : opsbookPayload(notification, idempotencyKey);
  },

  send(payload, config, { signal, idempotencyKey }) {
    return postJson(config.url, payload, {
      signal,
      headers: { ...config.headers, 'Idempotency-Key': idempotencyKey },
    });
  },

  target(config) {
    try {
      const url = new URL(config.url);
      if (url.password) url.password = '***';
      if (url.search) url.search = '?***';
      return `POST ${url.toString()}`;
    } catch {
      return 'POST ***';
    }
  },

  secrets(config) {
    const headers = Object.entries(config.headers)
      .filter(([name]) => SECRET_HEADER.test(name))
      .map(([, value]) => value);
    return [...urlSecrets(config.url, { path: false }), ...headers];
  },
};
