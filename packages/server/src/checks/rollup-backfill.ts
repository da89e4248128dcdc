// After a stop or crash, rebuilds the rollups the process did not write from what it did store:
// minutes from raw results, hours from minutes. The open minute is seeded into the aggregator.
import { ResultRepository, type RollupRow } from '../storage/result.repository.js';
import type { Store } from '../storage/db.js';
import {
  addSample,
  floor,
  HOUR,
  mergeBucket,
  MINUTE,
  newBucket,
  toRow,
  type Bucket,
  type RollupAggregator,
} from '../telemetry/rollup.js';
import { decodeSketch } from '../telemetry/sketch.js';

export async function backfillRollups(
  store: Store,
  aggregator: RollupAggregator,
  now: number,
  retention: { results: number; minuteRollups: number },
): Promise<{ minutes: number; hours: number }> {
  const repository = new ResultRepository(store.db);
  const currentMinute = floor(now, MINUTE);
  const latestMinute = await repository.latestRollupBucket('1m');
  const minuteFrom = Math.max(
    latestMinute === undefined ? 0 : latestMinute + MINUTE,
    now - retention.results,
  );

  const minutes = new Map<string, Bucket>();
  for (const result of await repository.resultsBetween(minuteFrom, now)) {
    if (result.started_at >= currentMinute) {
      aggregator.add(result.check_id, result.started_at, result.status === 'up', result.latency_ms);
      continue;
    }
    const bucketStart = floor(result.started_at, MINUTE);
    const key = `${result.check_id}\u0000${bucketStart}`;
    let bucket = minutes.get(key);
    if (!bucket) minutes.set(key, (bucket = newBucket(bucketStart)));
    addSample(bucket, result.status === 'up', result.latency_ms);
  }
  const minuteRows = [...minutes].map(([key, bucket]) => toRow(key.split('\u0000')[0]!, '1m', bucket));
  await repository.upsertRollups(minuteRows);

  const currentHour = floor(now, HOUR);
  const latestHour = await repository.latestRollupBucket('1h');
  const hourFrom = Math.max(
    latestHour === undefined ? 0 : latestHour + HOUR,
    floor(now - retention.minuteRollups, HOUR),
  );
  const hours = new Map<string, Bucket>();
  for (const row of await repository.rollups('1m', hourFrom, currentHour)) {
    const bucketStart = floor(row.bucket, HOUR);
    const key = `${row.check_id}\u0000${bucketStart}`;
    let bucket = hours.get(key);
    if (!bucket) hours.set(key, (bucket = newBucket(bucketStart)));
    mergeBucket(bucket, fromRow(row));
  }
  const hourRows = [...hours].map(([key, bucket]) => toRow(key.split('\u0000')[0]!, '1h', bucket));
  await repository.upsertRollups(hourRows);
  return { minutes: minuteRows.length, hours: hourRows.length };
}

export function fromRow(row: RollupRow): Bucket {
  return {
    bucket: row.bucket,
    count: row.count,
    failures: row.failures,
    latencySum: row.latency_sum,
    sketch: decodeSketch(row.sketch),
  };
}
