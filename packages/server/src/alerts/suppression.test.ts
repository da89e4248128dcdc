import { describe, expect, it } from 'vitest';
import { parseMatcher } from './matchers.js';
import type { ActiveAlert } from './rule-state.js';
import {
  compileInhibitRules,
  computeSuppression,
  windowActive,
  type MaintenanceWindow,
  type Silence,
} from './suppression.js';

function alert(
  fp: string,
  labels: Record<string, string>,
  state: ActiveAlert['state'] = 'firing',
): ActiveAlert {
  return {
    fingerprint: fp,
    source: 'rule',
    rule: labels.alertname ?? null,
    labels,
    annotations: {},
    state,
    activeAt: 0,
    firedAt: 0,
    resolvedAt: null,
    expiresAt: null,
    lastSeenAt: 0,
    value: 1,
    generatorUrl: '',
  };
}

function window(overrides: Partial<MaintenanceWindow>): MaintenanceWindow {
  return {
    id: 'w',
    name: 'deploy',
    source: 'api',
    services: ['shop'],
    matchers: [],
    startsAt: null,
    endsAt: null,
    schedule: null,
    durationMs: null,
    timezone: 'UTC',
    comment: '',
    createdBy: 't',
    createdAt: 0,
    expiredAt: null,
    ...overrides,
  };
}

const defaults = compileInhibitRules([
  {
    sourceMatchers: ['severity="critical"'],
    targetMatchers: ['severity=~"warning|info"'],
    equal: ['service'],
  },
]);

describe('suppression', () => {
  const critical = alert('c', { alertname: 'HighErrorRate', severity: 'critical', service: 'shop' });
  const warning = alert('w', { alertname: 'HighResponseTime', severity: 'warning', service: 'shop' });
  const otherWarning = alert('o', { alertname: 'HighResponseTime', severity: 'warning', service: 'cart' });

  it('a firing critical alert inhibits the warnings of the same service only', () => {
    const result = computeSuppression([critical, warning, otherWarning], [], [], defaults, 0);
    expect(result.get('w')!.inhibitedBy).toEqual(['c']);
    expect(result.get('o')!.inhibitedBy).toEqual([]);
    expect(result.get('c')!.inhibitedBy).toEqual([]);
    const pendingCritical = { ...critical, state: 'pending' as const };
    expect(computeSuppression([pendingCritical, warning], [], [], defaults, 0).get('w')!.inhibitedBy).toEqual(
      [],
    );
  });

  it('silences match by label matchers within their time range', () => {
    const silence: Silence = {
      id: 's1',
      matchers: [parseMatcher('service="shop"'), parseMatcher('alertname=~"High.*"')],
      startsAt: 100,
      endsAt: 200,
      untilResolved: false,
      boundFingerprints: [],
      createdBy: 't',
      comment: 'c',
      createdAt: 0,
      expiredAt: null,
    };
    expect(computeSuppression([critical, otherWarning], [silence], [], [], 150).get('c')!.silences).toEqual([
      's1',
    ]);
    expect(computeSuppression([critical], [silence], [], [], 150).get('c')!.silences).toHaveLength(1);
    expect(computeSuppression([otherWarning], [silence], [], [], 150).get('o')!.silences).toEqual([]);
    expect(computeSuppression([critical], [silence], [], [], 250).get('c')!.silences).toEqual([]);
    expect(
      computeSuppression([critical], [{ ...silence, expiredAt: 120 }], [], [], 150).get('c')!.silences,
    ).toEqual([]);
  });

  it('one-off maintenance windows mute their services between start and end', () => {
    const w = window({ startsAt: 1000, endsAt: 2000 });
    expect(computeSuppression([critical, otherWarning], [], [w], [], 1500).get('c')!.maintenance).toEqual([
      'deploy',
    ]);
    expect(computeSuppression([otherWarning], [], [w], [], 1500).get('o')!.maintenance).toEqual([]);
    expect(windowActive(w, 2000)).toBe(false);
  });

  it('recurring windows follow cron, duration and time zone', () => {
    // Sundays 02:00 in Berlin for 2 hours: 2026-11-29 01:00-03:00 UTC.
    const w = window({ schedule: '0 2 * * 0', durationMs: 2 * 3_600_000, timezone: 'Europe/Berlin' });
    expect(windowActive(w, Date.parse('2026-11-29T00:59:00Z'))).toBe(false);
    expect(windowActive(w, Date.parse('2026-11-29T01:00:00Z'))).toBe(true);
    expect(windowActive(w, Date.parse('2026-11-29T02:59:00Z'))).toBe(true);
    expect(windowActive(w, Date.parse('2026-11-29T03:00:00Z'))).toBe(false);
    expect(windowActive(w, Date.parse('2026-12-02T01:30:00Z'))).toBe(false);
  });
});
