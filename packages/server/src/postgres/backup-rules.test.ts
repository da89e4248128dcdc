// The backup gauges as published, evaluated by the default rules: which state fires which alert.
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../alerts/default-rules.js';
import { expandWindow } from '../config/alerting.schema.js';
import { evaluateInstant } from '../telemetry/promql/engine.js';
import { parseExpr } from '../telemetry/promql/parser.js';
import { arraySource } from '../telemetry/promql/test-source.js';
import type { IngestSample, Series } from '../telemetry/series.js';
import type { BackupRecord } from './backup.types.js';
import { backupSamples, type BackupGaugeInput } from './backup-metrics.js';

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
const rules = new Map(defaultRules(true).map((r) => [r.alert, r]));

function record(overrides: Partial<BackupRecord>): BackupRecord {
  return {
    id: 'orders-x',
    database: 'orders',
    status: 'succeeded',
    trigger: 'schedule',
    startedAt: NOW - 2 * HOUR,
    finishedAt: NOW - 2 * HOUR + 60_000,
    path: '/backups/orders/orders-x',
    sizeBytes: 1000,
    error: null,
    manifest: null,
    copies: [],
    ...overrides,
  };
}

function gauges(input: Partial<BackupGaugeInput>): IngestSample[] {
  return backupSamples({
    database: 'orders',
    service: 'shop',
    latestGood: undefined,
    lastFinished: undefined,
    scheduled: true,
    firstSeenAt: NOW - HOUR,
    maxAgeMs: 26 * HOUR,
    targets: ['azure'],
    now: NOW,
    ...input,
  });
}

/** What each rule returns at NOW, as "alert{labels}=value". */
async function firing(samples: IngestSample[]): Promise<string[]> {
  const series: Series[] = samples.map((s) => ({
    labels: { __name__: s.name, ...s.labels },
    samples: [{ t: s.t ?? NOW, v: s.value }],
  }));
  const out: string[] = [];
  for (const name of ['BackupFailed', 'BackupMissed', 'BackupCopyFailed']) {
    const rule = rules.get(name)!;
    const result = await evaluateInstant(
      parseExpr(expandWindow(rule.expr, rule.window)),
      NOW,
      arraySource(series),
    );
    if (result.type !== 'vector') throw new Error(`${name} is not an instant vector`);
    for (const s of result.samples)
      out.push(
        `${name}{${Object.entries(s.labels)
          .filter(([k]) => k !== '__name__')
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}}=${Math.round(s.value)}`,
      );
  }
  return out;
}

describe('backup alert rules over the published gauges', () => {
  it('nothing fires for a recent good backup copied everywhere', async () => {
    const good = record({
      copies: [{ target: 'azure', status: 'copied', location: 'x', at: NOW, error: null }],
    });
    expect(await firing(gauges({ latestGood: good, lastFinished: good }))).toEqual([]);
  });

  it('a failed last backup is a warning; the previous good one keeps BackupMissed quiet', async () => {
    const good = record({});
    const failed = record({ id: 'orders-y', status: 'failed', startedAt: NOW - HOUR, sizeBytes: null });
    expect(await firing(gauges({ latestGood: good, lastFinished: failed }))).toEqual([
      'BackupFailed{database=orders,service=shop}=0',
    ]);
    expect(rules.get('BackupFailed')!.severity).toBe('warning');
  });

  it('BackupMissed fires, critical, once the newest good backup is older than maxAge', async () => {
    const old = record({ startedAt: NOW - 30 * HOUR, finishedAt: NOW - 30 * HOUR + 60_000 });
    expect(await firing(gauges({ latestGood: old, lastFinished: old }))).toEqual([
      'BackupMissed{database=orders,service=shop}=108000',
    ]);
    const justInside = record({ startedAt: NOW - 25 * HOUR });
    expect(await firing(gauges({ latestGood: justInside, lastFinished: justInside }))).toEqual([]);
    expect(rules.get('BackupMissed')!.severity).toBe('critical');
  });

  it('a database never backed up counts its age from when Opsbook started watching it', async () => {
    expect(await firing(gauges({ firstSeenAt: NOW - HOUR }))).toEqual([]);
    expect(await firing(gauges({ firstSeenAt: NOW - 27 * HOUR }))).toEqual([
      'BackupMissed{database=orders,service=shop}=97200',
    ]);
    // Unscheduled databases are not expected to have backups: no age, nothing missed.
    expect(await firing(gauges({ firstSeenAt: NOW - 27 * HOUR, scheduled: false }))).toEqual([]);
  });

  it('a copy failed after its retries fires BackupCopyFailed for that target', async () => {
    const good = record({
      copies: [{ target: 'azure', status: 'failed', location: 'x', at: NOW, error: 'down' }],
    });
    expect(await firing(gauges({ latestGood: good, lastFinished: good }))).toEqual([
      'BackupCopyFailed{database=orders,service=shop,target=azure}=1',
    ]);
    const retrying = record({
      copies: [{ target: 'azure', status: 'pending', location: 'x', at: null, error: 'down' }],
    });
    expect(await firing(gauges({ latestGood: retrying, lastFinished: retrying }))).toEqual([]);
  });
});
