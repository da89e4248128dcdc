// Per-series minute and hour aggregates of raw samples: count, sum, min, max and the last value.
import type { MetricRollupRow, RollupResolution } from '../storage/metrics.repository.js';
import { HOUR, MINUTE } from './rollup.js';

export const RESOLUTIONS: readonly { name: RollupResolution; ms: number }[] = [
  { name: '1m', ms: MINUTE },
  { name: '1h', ms: HOUR },
];

export interface OpenBucket {
  bucket: number;
  count: number;
  sum: number;
  /** NaN samples are left out of min and max (NaN when every sample was NaN). */
  min: number;
  max: number;
  last: number;
  /** Its current content has been handed to the writer; a later sample in the bucket clears this. */
  emitted: boolean;
}

export function openBucket(bucket: number): OpenBucket {
  return { bucket, count: 0, sum: 0, min: NaN, max: NaN, last: NaN, emitted: false };
}

export function accumulate(target: OpenBucket, v: number): void {
  target.count++;
  target.sum += v;
  if (!Number.isNaN(v)) {
    if (!(v >= target.min)) target.min = v;
    if (!(v <= target.max)) target.max = v;
  }
  target.last = v;
  target.emitted = false;
}

export function rollupRow(seriesId: number, resolution: RollupResolution, b: OpenBucket): MetricRollupRow {
  return {
    series_id: seriesId,
    resolution,
    bucket: b.bucket,
    count: b.count,
    sum: b.sum,
    min: b.min,
    max: b.max,
    last: b.last,
  };
}

/** The start of the bucket holding `t` at resolution `ms` (exposition timestamps may be negative). */
export function bucketOf(t: number, ms: number): number {
  return Math.floor(t / ms) * ms;
}
