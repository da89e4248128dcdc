import { describe, expect, it } from 'vitest';
import type { RuleConfig } from '../config/alerting.schema.js';
import { applyRuleResult, type ActiveAlert } from './rule-state.js';

const rule: RuleConfig = {
  alert: 'HighErrorRate',
  expr: 'x',
  window: 300_000,
  for: 60_000,
  keepFiringFor: 0,
  severity: 'critical',
  labels: { team: 'shop' },
  annotations: { summary: '{{ $labels.service }} error rate is {{ $value }}%' },
};
const sample = (value: number) => ({ labels: { __name__: 'ratio', service: 'shop' }, value });

function step(
  r: RuleConfig,
  alerts: ActiveAlert[],
  samples: { labels: Record<string, string>; value: number }[],
  now: number,
) {
  return applyRuleResult(r, samples, alerts, now, 'http://opsbook/q');
}

describe('alert rule state machine', () => {
  it('goes pending, then firing after `for`, with labels and templated annotations', () => {
    const first = step(rule, [], [sample(7.5)], 0);
    expect(first.changes.map((c) => c.to)).toEqual(['pending']);
    const alert = first.alerts[0]!;
    expect(alert.labels).toEqual({
      service: 'shop',
      team: 'shop',
      alertname: 'HighErrorRate',
      severity: 'critical',
    });
    expect(alert.annotations.summary).toBe('shop error rate is 7.5%');
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);

    const early = step(rule, first.alerts, [sample(8)], 30_000);
    expect(early.changes).toEqual([]);
    const fired = step(rule, early.alerts, [sample(9)], 60_000);
    expect(fired.changes.map((c) => c.to)).toEqual(['firing']);
    expect(fired.alerts[0]).toMatchObject({ state: 'firing', activeAt: 0, firedAt: 60_000, value: 9 });
    expect(fired.alerts[0]!.fingerprint).toBe(alert.fingerprint);
  });

  it('drops a pending alert that stops matching without firing', () => {
    const pending = step(rule, [], [sample(7)], 0);
    const gone = step(rule, pending.alerts, [], 30_000);
    expect(gone.changes.map((c) => c.to)).toEqual(['inactive']);
    expect(gone.alerts).toEqual([]);
  });

  it('resolves a firing alert when the condition clears', () => {
    const now = step({ ...rule, for: 0 }, [], [sample(7)], 0);
    expect(now.alerts[0]!.state).toBe('firing');
    const resolved = step({ ...rule, for: 0 }, now.alerts, [], 60_000);
    expect(resolved.changes.map((c) => c.to)).toEqual(['resolved']);
    expect(resolved.alerts[0]).toMatchObject({ state: 'resolved', resolvedAt: 60_000 });
    const again = step({ ...rule, for: 0 }, resolved.alerts, [sample(8)], 120_000);
    expect(again.changes.map((c) => c.to)).toEqual(['firing']);
    expect(again.alerts[0]).toMatchObject({ activeAt: 120_000, resolvedAt: null });
  });

  it('keep_firing_for holds a flapping alert firing', () => {
    const damped = { ...rule, for: 0, keepFiringFor: 120_000 };
    const firing = step(damped, [], [sample(7)], 0);
    const blip = step(damped, firing.alerts, [], 60_000);
    expect(blip.changes).toEqual([]);
    expect(blip.alerts[0]!.state).toBe('firing');
    const back = step(damped, blip.alerts, [sample(6)], 120_000);
    expect(back.changes).toEqual([]);
    const cleared = step(damped, back.alerts, [], 250_000);
    expect(cleared.changes.map((c) => c.to)).toEqual(['resolved']);
  });
});
