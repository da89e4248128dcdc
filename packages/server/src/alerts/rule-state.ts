// Prometheus's alerting-rule state machine: inactive -> pending -> firing -> resolved, with `for`
// (how long a condition must hold before firing) and `keep_firing_for` (flap damping).
import type { RuleConfig } from '../config/alerting.schema.js';
import type { Labels } from '../telemetry/series.js';
import { fingerprint } from './fingerprint.js';
import { expandTemplate } from './template.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface ActiveAlert {
  fingerprint: string;
  source: 'rule' | 'external';
  rule: string | null;
  labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  /** When the condition first held (pending since). */
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  /** External alerts: resolve at this time unless re-sent. */
  expiresAt: number | null;
  lastSeenAt: number;
  value: number | null;
  generatorUrl: string;
}

export interface StateChange {
  alert: ActiveAlert;
  /** 'inactive' when a pending alert disappears without firing. */
  to: AlertState | 'inactive';
  /** A re-sent external alert with no change of state: stored, not logged or notified. */
  quiet?: boolean;
}

export interface RuleSample {
  labels: Labels;
  value: number;
}

/** Labels of the alert a sample produces: the sample's (without __name__), the rule's, alertname, severity. */
export function alertLabels(rule: RuleConfig, sample: Labels, value: number): Labels {
  const { __name__: _name, ...rest } = sample;
  // Rule labels are templates too, as in Prometheus (keep $value out of them: it would change the fingerprint).
  const extra = Object.fromEntries(
    Object.entries(rule.labels).map(([k, v]) => [k, expandTemplate(v, rest, value)]),
  );
  return { ...rest, ...extra, alertname: rule.alert, severity: rule.severity };
}

export function applyRuleResult(
  rule: RuleConfig,
  samples: RuleSample[],
  current: ActiveAlert[],
  now: number,
  generatorUrl: string,
  /** Which rule the alerts belong to; rules may share an alert name, as in Prometheus. */
  ruleId: string = rule.alert,
): { alerts: ActiveAlert[]; changes: StateChange[] } {
  const previous = new Map(current.map((a) => [a.fingerprint, a]));
  const alerts: ActiveAlert[] = [];
  const changes: StateChange[] = [];
  const seen = new Set<string>();

  for (const sample of samples) {
    const labels = alertLabels(rule, sample.labels, sample.value);
    const id = fingerprint(labels);
    if (seen.has(id)) continue; // two series with the same labels after dropping __name__: first wins, as in Prometheus
    seen.add(id);
    const annotations = Object.fromEntries(
      Object.entries(rule.annotations).map(([k, v]) => [k, expandTemplate(v, labels, sample.value)]),
    );
    const before = previous.get(id);
    if (before && before.state !== 'resolved') {
      const alert: ActiveAlert = { ...before, labels, annotations, value: sample.value, lastSeenAt: now };
      if (alert.state === 'pending' && now - alert.activeAt >= rule.for) {
        alert.state = 'firing';
        alert.firedAt = now;
        changes.push({ alert, to: 'firing' });
      }
      alerts.push(alert);
      continue;
    }
    const fires = rule.for === 0;
    const alert: ActiveAlert = {
      fingerprint: id,
      source: 'rule',
      rule: ruleId,
      labels,
      annotations,
      state: fires ? 'firing' : 'pending',
      activeAt: now,
      firedAt: fires ? now : null,
      resolvedAt: null,
      expiresAt: null,
      lastSeenAt: now,
      value: sample.value,
      generatorUrl,
    };
    changes.push({ alert, to: alert.state });
    alerts.push(alert);
  }

  for (const before of current) {
    if (seen.has(before.fingerprint)) continue;
    if (before.state === 'pending') {
      changes.push({ alert: before, to: 'inactive' });
      continue;
    }
    if (before.state === 'firing') {
      if (rule.keepFiringFor > 0 && now - before.lastSeenAt < rule.keepFiringFor) {
        alerts.push(before);
        continue;
      }
      const alert: ActiveAlert = { ...before, state: 'resolved', resolvedAt: now };
      changes.push({ alert, to: 'resolved' });
      alerts.push(alert);
      continue;
    }
    alerts.push(before); // already resolved: kept a while for notifications and the API
  }
  return { alerts, changes };
}
