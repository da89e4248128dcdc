// Writes one batch of probe results, check states, closed rollups and events in one transaction.
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { Store } from './db.js';
import { CheckRepository, type CheckStatusRow } from './check.repository.js';
import { EventRepository, type NewEvent } from './event.repository.js';
import { ResultRepository, type NewResult, type RollupRow } from './result.repository.js';
import { HOUR, mergeBucket, newBucket, toRow, type Bucket, type ClosedHour } from '../telemetry/rollup.js';
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
  private readonly fast: SqliteRows | undefined;

  constructor(private readonly store: Store) {
    this.checks = new CheckRepository(store.db);
    this.results = new ResultRepository(store.db);
    this.events = new EventRepository(store.db);
    this.fast = store.sqlite ? new SqliteRows(store.sqlite) : undefined;
  }

  async write(batch: CheckBatch): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      if (this.fast) {
        this.fast.insertResults(batch.results);
        this.fast.saveStatuses(batch.statuses);
      } else {
        await this.results.insertResults(batch.results, trx);
        await this.checks.saveStatuses(batch.statuses, trx);
      }
      await this.results.upsertRollups(batch.minutes, trx);
      const hours = await this.completeHours(batch.hours, trx);
      await this.results.upsertRollups(
        hours.map((hour) => toRow(hour.checkId, '1h', hour.bucket)),
        trx,
      );
      await this.events.append(batch.events, trx);
    });
  }

  /**
   * Hours that began before this process started are rebuilt from their stored minutes, which are
   * complete; one query per hour for all such checks, not one per check.
   */
  private async completeHours(
    hours: ClosedHour[],
    trx: Store['db'],
  ): Promise<{ checkId: string; bucket: Bucket }[]> {
    const partial = new Map<number, string[]>();
    for (const hour of hours) {
      if (!hour.partial) continue;
      const list = partial.get(hour.bucket.bucket);
      if (list) list.push(hour.checkId);
      else partial.set(hour.bucket.bucket, [hour.checkId]);
    }
    const rebuilt = new Map<string, Bucket>();
    const repository = new ResultRepository(trx);
    for (const [start, checkIds] of partial) {
      for (const row of await repository.rollupsOf('1m', start, start + HOUR, checkIds)) {
        const key = `${row.check_id}\u0000${start}`;
        let bucket = rebuilt.get(key);
        if (!bucket) rebuilt.set(key, (bucket = newBucket(start)));
        mergeBucket(bucket, {
          bucket: row.bucket,
          count: row.count,
          failures: row.failures,
          latencySum: row.latency_sum,
          sketch: decodeSketch(row.sketch),
        });
      }
    }
    return hours.map((hour) =>
      hour.partial
        ? {
            checkId: hour.checkId,
            bucket:
              rebuilt.get(`${hour.checkId}\u0000${hour.bucket.bucket}`) ?? newBucket(hour.bucket.bucket),
          }
        : hour,
    );
  }
}

/**
 * The two writes made for every probe run (a result row, the check's status), as statements
 * prepared once: building and preparing a multi-row statement per batch cost twice as much.
 */
class SqliteRows {
  private readonly insertResult: Statement;
  private readonly upsertStatus: Statement;

  constructor(database: Database.Database) {
    this.insertResult = database.prepare(
      'insert into check_results (check_id, started_at, status, latency_ms, message, detail) values (?, ?, ?, ?, ?, ?)',
    );
    this.upsertStatus = database.prepare(
      `insert into check_status (check_id, status, since, consecutive_successes, consecutive_failures, started,
         last_run_at, last_status, last_latency_ms, last_message)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (check_id) do update set status = excluded.status, since = excluded.since,
         consecutive_successes = excluded.consecutive_successes, consecutive_failures = excluded.consecutive_failures,
         started = excluded.started, last_run_at = excluded.last_run_at, last_status = excluded.last_status,
         last_latency_ms = excluded.last_latency_ms, last_message = excluded.last_message`,
    );
  }

  insertResults(rows: NewResult[]): void {
    for (const r of rows)
      this.insertResult.run(r.check_id, r.started_at, r.status, r.latency_ms, r.message, r.detail);
  }

  saveStatuses(rows: CheckStatusRow[]): void {
    for (const r of rows)
      this.upsertStatus.run(
        r.check_id,
        r.status,
        r.since,
        r.consecutive_successes,
        r.consecutive_failures,
        r.started,
        r.last_run_at,
        r.last_status,
        r.last_latency_ms,
        r.last_message,
      );
  }
}
