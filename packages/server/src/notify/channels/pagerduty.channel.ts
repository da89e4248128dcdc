// PagerDuty Events API v2: trigger while the group fires, resolve when it resolves, paired by dedup_key.
// Incident pages trigger with the incident id as dedup_key (acknowledge and resolve follow it); status
// updates page nobody, so they go to the change events endpoint.
import type { IncidentMessage } from '@opsbook/contracts';
import { incidentTitle } from '../incident-message.js';
import type { Notification } from '../notification.types.js';
import {
  alertName,
  distinguishingLabels,
  firing,
  groupValue,
  isHttpUrl,
  iso,
  resolved,
  stableHash,
  summaryOf,
  title,
  truncate,
} from '../payloads.js';
import type { Channel, ChannelConfig } from './channel.js';
import { postJson } from './http.js';

type PagerDutyConfig = ChannelConfig<'pagerduty'>;
type Severity = 'critical' | 'error' | 'warning' | 'info';

/** The event without routing_key, which is added when sending so it is never stored. */
export interface PagerDutyEvent {
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: Severity;
    timestamp: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
  client: string;
  client_url?: string;
}

/** A change event (informational, never pages), without routing_key. */
export interface PagerDutyChangeEvent {
  payload: {
    summary: string;
    timestamp: string;
    source: string;
    custom_details: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
}

export type PagerDutyPayload = PagerDutyEvent | PagerDutyChangeEvent;

const SUMMARY_MAX = 1024;
const DETAILED_ALERTS = 20;

/** The same for every notification of a group, so the resolve closes the incident the trigger opened. */
export function dedupKey(groupKey: string): string {
  return stableHash(['opsbook', groupKey]);
}

const SEVERITIES: Record<string, Severity> = {
  critical: 'critical',
  error: 'error',
  warning: 'warning',
  info: 'info',
};

/** critical, warning and info map to themselves; anything else is PagerDuty's default, error. */
export function pagerDutySeverity(value: string | undefined): Severity {
  return SEVERITIES[value?.toLowerCase() ?? ''] ?? 'error';
}

const INCIDENT_SEVERITIES: Record<IncidentMessage['severity'], Severity> = {
  SEV1: 'critical',
  SEV2: 'error',
  SEV3: 'warning',
  SEV4: 'info',
};

/** The change events endpoint beside the configured events endpoint (…/v2/enqueue → …/v2/change/enqueue). */
export function changeEventsUrl(eventsUrl: string): string {
  return new URL('change/enqueue', eventsUrl).toString();
}

export function incidentPagerDutyPayload(n: Notification, m: IncidentMessage): PagerDutyPayload {
  const links = isHttpUrl(m.url) ? [{ href: m.url, text: `Open ${m.id} in Opsbook` }] : [];
  const details = {
    incident: m.id,
    title: m.title,
    severity: m.severity,
    stage: m.stage,
    commander: m.commander,
    services: m.services,
    text: m.text,
    ...(m.page && { paged: m.page }),
  };
  if (m.kind === 'status-update')
    return {
      payload: {
        summary: truncate(incidentTitle(m), SUMMARY_MAX),
        timestamp: iso(n.createdAt),
        source: 'opsbook',
        custom_details: { ...details, postedBy: m.actor },
      },
      ...(links.length > 0 && { links }),
    };
  const base = {
    dedup_key: m.id,
    client: 'Opsbook',
    ...(isHttpUrl(m.url) && { client_url: m.url }),
  };
  if (m.kind === 'acknowledged') return { event_action: 'acknowledge', ...base };
  if (m.kind === 'resolved') return { event_action: 'resolve', ...base };
  return {
    event_action: 'trigger',
    ...base,
    payload: {
      summary: truncate(incidentTitle(m), SUMMARY_MAX),
      source: m.services[0] ?? 'opsbook',
      severity: INCIDENT_SEVERITIES[m.severity],
      timestamp: iso(n.createdAt),
      ...(m.services[0] && { component: m.services[0] }),
      class: 'incident',
      custom_details: details,
    },
    ...(links.length > 0 && { links }),
  };
}

export function pagerDutyEvent(n: Notification): PagerDutyEvent {
  const clientUrl = isHttpUrl(n.externalUrl) ? n.externalUrl : undefined;
  const base = {
    dedup_key: dedupKey(n.groupKey),
    client: 'Opsbook',
    ...(clientUrl && { client_url: clientUrl }),
  };
  if (n.status === 'resolved') return { event_action: 'resolve', ...base };

  const active = firing(n);
  const summary = summaryOf(n, active.length === 1 ? active[0] : undefined);
  const started = Math.min(...active.map((a) => a.startsAt), n.createdAt);
  const component = groupValue(n, 'component') ?? groupValue(n, 'service');
  const group = groupValue(n, 'group') ?? groupValue(n, 'team');
  const links = [
    ...(clientUrl ? [{ href: clientUrl, text: 'Open in Opsbook' }] : []),
    ...[...new Set(active.map((a) => a.generatorUrl).filter(isHttpUrl))]
      .slice(0, 5)
      .map((href) => ({ href, text: 'Source' })),
  ];
  return {
    event_action: 'trigger',
    ...base,
    payload: {
      summary: truncate(summary ? `${title(n)}: ${summary}` : title(n), SUMMARY_MAX),
      source: groupValue(n, 'instance') ?? groupValue(n, 'service') ?? 'opsbook',
      severity: pagerDutySeverity(groupValue(n, 'severity')),
      timestamp: iso(started),
      ...(component && { component }),
      ...(group && { group }),
      class: alertName(n),
      custom_details: {
        firing: active.length,
        resolved: resolved(n).length,
        groupKey: n.groupKey,
        groupLabels: n.groupLabels,
        commonLabels: n.commonLabels,
        commonAnnotations: n.commonAnnotations,
        alerts: active.slice(0, DETAILED_ALERTS).map((a) => ({
          labels: distinguishingLabels(n, a),
          summary: a.annotations.summary,
          startsAt: iso(a.startsAt),
        })),
      },
    },
    ...(links.length > 0 && { links }),
  };
}

export const pagerDutyChannel: Channel<PagerDutyConfig, PagerDutyPayload> = {
  render: (notification) =>
    notification.incident
      ? incidentPagerDutyPayload(notification, notification.incident)
      : pagerDutyEvent(notification),
  // 202 accepted; 400 is a malformed event (never retried); 429 and 5xx are retried.
  send: (event, config, { signal }) =>
    postJson(
      'event_action' in event ? config.url : changeEventsUrl(config.url),
      { routing_key: config.routingKey, ...event },
      { signal },
    ),
  target: (config) => config.url,
  secrets: (config) => [config.routingKey],
};
