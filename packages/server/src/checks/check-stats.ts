// Availability and latency quantiles over a window, from rollups: closed hours from the hour tier,
// the edges from minutes, and the still-open minute from memory. No raw scans.
import type { CheckStats } from '@opsbook/contracts';
import { ResultRepository } from '../storage/result.repository.js';
import type { Store } from '../storage/db.js';
import { floor, HOUR, mergeBucket, MINUTE, newBucket, type RollupAggregator } from '../telemetry/rollup.js';
import { quantile } from '../telemetry/sketch.js';
import { fromRow } from './rollup-backfill.js';

export const STATS_WINDOWS = {
  '1h': HOUR,
  '24h': 24 * HOUR,
  '7d': 7 * 24 * HOUR,
  '30d': 30 * 24 * HOUR,
} as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

export async function checkStats(
  store: Store,
  aggregator: RollupAggregator,
  checkId: string,
  window: StatsWindow,
  now: number,
): Promise<CheckStats> {
  const repository = new ResultRepository(store.db);
  const from = floor(now - STATS_WINDOWS[window], MINUTE);
  const total = newBucket(from);
  const stored = new Set<number>();
  const add = (rows: Awaited<ReturnType<ResultRepository['rollups']>>) =>
    rows.forEach((row) => {
      if (row.resolution === '1m') stored.add(row.bucket);
      mergeBucket(total, fromRow(row));
    });

  const firstFullHour = Math.ceil(from / HOUR) * HOUR;
  const currentHour = floor(now, HOUR);
  if (firstFullHour < currentHour) {
    add(await repository.rollups('1m', from, firstFullHour, checkId));
    add(await repository.rollups('1h', firstFullHour, currentHour, checkId));
    add(await repository.rollups('1m', currentHour, now + MINUTE, checkId));
  } else {
    add(await repository.rollups('1m', from, now + MINUTE, checkId));
  }
  // Minutes still in memory, unless the store already has them (the writer may have just committed).
  for (const bucket of aggregator.pendingMinutes(checkId))
    if (bucket.bucket >= from && !stored.has(bucket.bucket)) mergeBucket(total, bucket);

  return {
    checkId,
    window,
    from,
    to: now,
    total: total.count,
    failures: total.failures,
    availability: total.count === 0 ? null : round(((total.count - total.failures) / total.count) * 100, 3),
    latency: {
      avg: total.count === 0 ? null : round(total.latencySum / total.count, 2),
      p50: nullableRound(quantile(total.sketch, 0.5)),
      p95: nullableRound(quantile(total.sketch, 0.95)),
      p99: nullableRound(quantile(total.sketch, 0.99)),
    },
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function nullableRound(value: number | null): number | null {
  return value === null ? null : round(value, 2);
}
