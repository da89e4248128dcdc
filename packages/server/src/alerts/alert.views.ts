// Alert domain objects shaped into the public contracts.
import type { AlertView, MaintenanceView, SilenceView } from '@opsbook/contracts';
import { formatMatcher } from './matchers.js';
import type { ActiveAlert } from './rule-state.js';
import type { AlertSnapshot } from './alert.types.js';
import {
  nextWindowStart,
  silenceActive,
  windowActive,
  type MaintenanceWindow,
  type Silence,
} from './suppression.js';

export function alertView(alert: ActiveAlert, suppressedBy: AlertSnapshot['suppressedBy']): AlertView {
  return {
    fingerprint: alert.fingerprint,
    alertname: alert.labels.alertname ?? '',
    severity: alert.labels.severity ?? 'warning',
    service: alert.labels.service ?? null,
    state: alert.state,
    source: alert.source,
    rule: alert.rule,
    labels: alert.labels,
    annotations: alert.annotations,
    value: alert.value === null || Number.isFinite(alert.value) ? alert.value : null,
    activeAt: alert.activeAt,
    firedAt: alert.firedAt,
    resolvedAt: alert.resolvedAt,
    generatorUrl: alert.generatorUrl,
    suppressed:
      suppressedBy.silences.length + suppressedBy.inhibitedBy.length + suppressedBy.maintenance.length > 0,
    suppressedBy,
  };
}

export function silenceView(silence: Silence, now: number): SilenceView {
  const status = silenceActive(silence, now)
    ? 'active'
    : silence.expiredAt === null && silence.startsAt > now
      ? 'pending'
      : 'expired';
  return {
    id: silence.id,
    matchers: silence.matchers.map(formatMatcher),
    startsAt: silence.startsAt,
    endsAt: silence.endsAt,
    untilResolved: silence.untilResolved,
    status,
    createdBy: silence.createdBy,
    comment: silence.comment,
    createdAt: silence.createdAt,
    expiredAt: silence.expiredAt,
  };
}

export function maintenanceView(window: MaintenanceWindow, now: number): MaintenanceView {
  return {
    id: window.id,
    name: window.name,
    source: window.source,
    services: window.services,
    matchers: window.matchers.map(formatMatcher),
    startsAt: window.startsAt,
    endsAt: window.endsAt,
    schedule: window.schedule,
    durationSeconds: window.durationMs === null ? null : window.durationMs / 1000,
    timezone: window.timezone,
    comment: window.comment,
    active: windowActive(window, now),
    nextStart: window.expiredAt === null ? nextWindowStart(window, now) : null,
    createdBy: window.createdBy,
    createdAt: window.createdAt,
    expiredAt: window.expiredAt,
  };
}
