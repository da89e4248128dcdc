// Writes one batch of probe results, check states, closed rollups and events in one transaction.
import type { Store } from './db.js';
import { CheckRepository, type CheckStatusRow } from './check.repository.js';
import { EventRepository, type NewEvent } from './event.repository.js';
import { ResultRepository, type NewResult, type RollupRow } from './result.repository.js';
import { HOUR, mergeBucket, newBucket, toRow, type ClosedHour } from '../telemetry/rollup.js';
import { decodeSketch } from '../telemetry/sketch.js';

export interface CheckBatch {
  results: NewResult[];
  statuses: CheckStatusRow[];
  minutes: RollupRow[];
  hours: ClosedHour[];
  events: NewEvent[];
}

export class CheckBatchWriter {
  private readonly checks: CheckRepository;
  private readonly results: ResultRepository;
  private readonly events: EventRepository;

  constructor(private readonly store: Store) {
    this.checks = new CheckRepository(store.db);
    this.results = new ResultRepository(store.db);
    this.events = new EventRepository(store.db);
  }

  async write(batch: CheckBatch): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      await this.results.insertResults(batch.results, trx);
      await this.checks.saveStatuses(batch.statuses, trx);
      await this.results.upsertRollups(batch.minutes, trx);
      const hours = await Promise.all(batch.hours.map((hour) => this.completeHour(hour, trx)));
      await this.results.upsertRollups(
        hours.map((hour) => toRow(hour.checkId, '1h', hour.bucket)),
        trx,
      );
      await this.events.append(batch.events, trx);
    });
  }

  /** An hour that began before this process rebuilds from its stored minutes, which are complete. */
  private async completeHour(
    hour: ClosedHour,
    trx: Store['db'],
  ): Promise<{ checkId: string; bucket: ClosedHour['bucket'] }> {
    if (!hour.partial) return hour;
    const rows = await new ResultRepository(trx).rollups(
      '1m',
      hour.bucket.bucket,
      hour.bucket.bucket + HOUR,
      hour.checkId,
    );
    const bucket = newBucket(hour.bucket.bucket);
    for (const row of rows) {
      mergeBucket(bucket, {
        bucket: row.bucket,
        count: row.count,
        failures: row.failures,
        latencySum: row.latency_sum,
        sketch: decodeSketch(row.sketch),
      });
    }
    return { checkId: hour.checkId, bucket };
  }
}
