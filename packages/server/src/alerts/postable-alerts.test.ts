// The fast check of Prometheus's POST body may only pass what the zod schema passes; it must pass what
// Prometheus sends, or intake pays for zod again.
import { describe, expect, it } from 'vitest';
import { PostableAlerts } from '@opsbook/contracts';
import { fastPostableAlerts } from './postable-alerts.js';

const good = {
  labels: { alertname: 'DiskFull', service: 'db', severity: 'critical', instance: 'db-1:9100' },
  annotations: { summary: 'disk 95% full', description: 'long text' },
  startsAt: '2026-11-27T08:59:00.123Z',
  endsAt: '2026-11-27T10:14:00+01:00',
  generatorURL: 'http://prometheus:9090/graph?g0.expr=x',
};

/** Bodies zod rejects, and a few it accepts that the fast check leaves to it. */
const variants: unknown[] = [
  {},
  null,
  'text',
  [null],
  [[]],
  [{}],
  [{ labels: [] }],
  [{ labels: null }],
  [{ labels: { service: 'x' } }],
  [{ labels: { alertname: '' } }],
  [{ labels: { alertname: 7 } }],
  [{ labels: { alertname: 'A', value: 1 } }],
  [{ labels: { alertname: 'A' }, annotations: { summary: null } }],
  [{ labels: { alertname: 'A' }, annotations: [] }],
  [{ labels: { alertname: 'A' }, annotations: null }],
  [{ labels: { alertname: 'A' }, startsAt: '2026-11-27' }],
  [{ labels: { alertname: 'A' }, startsAt: '2026-11-27T09:00:00' }],
  [{ labels: { alertname: 'A' }, startsAt: '2026-02-30T09:00:00Z' }],
  [{ labels: { alertname: 'A' }, startsAt: 1_795_740_000_000 }],
  [{ labels: { alertname: 'A' }, endsAt: null }],
  [{ labels: { alertname: 'A' }, generatorURL: 5 }],
  [{ labels: { alertname: 'A' }, startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T09:00:00Z' }],
  [good, { ...good, labels: { ...good.labels, alertname: undefined } }],
  JSON.parse('[{"labels":{"alertname":"A","__proto__":"x"}}]'),
  [{ labels: { alertname: 'A' }, status: 'firing', extra: { nested: true } }],
];

describe('fastPostableAlerts', () => {
  it('passes what Prometheus sends, unchanged', () => {
    const body = [
      good,
      { labels: { alertname: 'Minimal' } },
      { ...good, endsAt: '0001-01-01T00:00:00Z', startsAt: undefined },
    ];
    const parsed = JSON.parse(JSON.stringify(body)) as unknown;
    expect(fastPostableAlerts(parsed)).toBe(parsed);
    expect(fastPostableAlerts([])).toEqual([]);
  });

  it('never passes a body zod rejects', () => {
    for (const body of variants) {
      const zod = PostableAlerts.safeParse(body).success;
      const fast = fastPostableAlerts(body) !== undefined;
      if (fast) expect(zod, JSON.stringify(body)).toBe(true);
    }
    expect(variants.filter((b) => !PostableAlerts.safeParse(b).success).length).toBeGreaterThan(20);
  });
});
