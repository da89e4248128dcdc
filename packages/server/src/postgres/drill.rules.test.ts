// The default drill rules evaluated over exactly the samples the drill service publishes.
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../alerts/default-rules.js';
import { evaluateInstant } from '../telemetry/promql/engine.js';
import { parseExpr } from '../telemetry/promql/parser.js';
import { arraySource } from '../telemetry/promql/test-source.js';
import type { Series } from '../telemetry/series.js';
import { drillSamples, type DrillFigures } from './drill.metrics.js';

const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const DAY = 86_400_000;
const rules = new Map(defaultRules(true).map((r) => [r.alert, r]));

const base: DrillFigures = {
  database: 'shop',
  service: 'checkout',
  watchedSince: NOW - 400 * DAY,
  rtoTargetMs: 3_600_000,
  rpoTargetMs: 25 * 3_600_000,
  overdueAfterMs: 100 * DAY,
};

/** The alerts each drill rule raises for these figures, as "Rule{database,service}". */
async function firing(figures: DrillFigures): Promise<string[]> {
  const series: Series[] = drillSamples(figures, NOW).map((s) => ({
    labels: { __name__: s.name, ...s.labels },
    samples: [{ t: s.t!, v: s.value }],
  }));
  const out: string[] = [];
  for (const name of ['DrillFailed', 'DrillTargetMissed', 'DrillOverdue']) {
    const rule = rules.get(name)!;
    const result = await evaluateInstant(parseExpr(rule.expr), NOW, arraySource(series));
    if (result.type !== 'vector') continue;
    for (const s of result.samples) out.push(`${name}{${s.labels.database},${s.labels.service}}`);
  }
  return out;
}

describe('default drill rules', () => {
  it('are warnings', () => {
    for (const name of ['DrillFailed', 'DrillTargetMissed', 'DrillOverdue'])
      expect(rules.get(name)!.severity).toBe('warning');
  });

  it('stay quiet after a recent passed drill', async () => {
    const figures = { ...base, last: { status: 'passed' as const, rtoMs: 60_000, rpoMs: 3_600_000 } };
    expect(await firing({ ...figures, lastSuccessAt: NOW - 10 * DAY })).toEqual([]);
  });

  it('DrillFailed and DrillTargetMissed follow the last drill; DrillOverdue the last passed one', async () => {
    expect(
      await firing({
        ...base,
        last: { status: 'failed', rtoMs: null, rpoMs: 3_600_000 },
        lastSuccessAt: NOW - 30 * DAY,
      }),
    ).toEqual(['DrillFailed{shop,checkout}']);
    expect(
      await firing({
        ...base,
        last: { status: 'missed-target', rtoMs: 7_200_000, rpoMs: 3_600_000 },
        lastSuccessAt: NOW - 101 * DAY,
      }),
    ).toEqual(['DrillTargetMissed{shop,checkout}', 'DrillOverdue{shop,checkout}']);
  });

  it('DrillOverdue counts from when drills began watching a database never drilled', async () => {
    expect(await firing({ ...base, watchedSince: NOW - 99 * DAY })).toEqual([]);
    expect(await firing({ ...base, watchedSince: NOW - 101 * DAY })).toEqual(['DrillOverdue{shop,checkout}']);
    // A per-database overdueAfter (monthly drills, say) moves the line.
    expect(await firing({ ...base, watchedSince: NOW - 40 * DAY, overdueAfterMs: 35 * DAY })).toEqual([
      'DrillOverdue{shop,checkout}',
    ]);
  });
});
