// Per-check minute and hour aggregates (count, failures, latency sum, DDSketch). The open minute
// lives in memory; closed buckets are handed to the writer as rows.
import type { RollupRow } from '../storage/result.repository.js';
import { encodeSketch, newSketch, type DDSketch } from './sketch.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export interface Bucket {
  bucket: number;
  count: number;
  failures: number;
  latencySum: number;
  sketch: DDSketch;
}

export function newBucket(bucket: number): Bucket {
  return { bucket, count: 0, failures: 0, latencySum: 0, sketch: newSketch() };
}

export function addSample(target: Bucket, up: boolean, latencyMs: number): void {
  target.count++;
  if (!up) target.failures++;
  target.latencySum += latencyMs;
  target.sketch.accept(Math.max(0, latencyMs));
}

export function mergeBucket(target: Bucket, source: Bucket): void {
  target.count += source.count;
  target.failures += source.failures;
  target.latencySum += source.latencySum;
  target.sketch.merge(source.sketch);
}

export function toRow(checkId: string, resolution: '1m' | '1h', bucket: Bucket): RollupRow {
  return {
    check_id: checkId,
    resolution,
    bucket: bucket.bucket,
    count: bucket.count,
    failures: bucket.failures,
    latency_sum: bucket.latencySum,
    sketch: encodeSketch(bucket.sketch),
  };
}

interface Open {
  minute: Bucket;
  hour: Bucket;
  /** The hour bucket misses minutes from before this process started; rebuild it from stored minutes. */
  hourPartial: boolean;
}

export interface ClosedHour {
  checkId: string;
  bucket: Bucket;
  /** Misses minutes from before this process started: rebuild it from the stored minutes. */
  partial: boolean;
}

export class RollupAggregator {
  private readonly open = new Map<string, Open>();
  private closedMinutes: RollupRow[] = [];
  /** Closed minutes not yet committed to the store, so stats see them in the meantime. */
  private readonly unsaved = new Map<string, Bucket[]>();
  private closedHours: ClosedHour[] = [];

  constructor(private readonly startedAt: number) {}

  add(checkId: string, at: number, up: boolean, latencyMs: number): void {
    let open = this.open.get(checkId);
    if (open) this.advance(checkId, open, at);
    else {
      const hourStart = floor(at, HOUR);
      open = {
        minute: newBucket(floor(at, MINUTE)),
        hour: newBucket(hourStart),
        hourPartial: hourStart < this.startedAt,
      };
      this.open.set(checkId, open);
    }
    addSample(open.minute, up, latencyMs);
  }

  /** Closes every bucket that ended before `now` (called each minute, so quiet checks flush too). */
  closeDue(now: number): void {
    for (const [checkId, open] of this.open) this.advance(checkId, open, now);
  }

  /** Buckets closed since the last call, for the writer to store. */
  takeClosed(): { minutes: RollupRow[]; hours: ClosedHour[] } {
    const taken = { minutes: this.closedMinutes, hours: this.closedHours };
    this.closedMinutes = [];
    this.closedHours = [];
    return taken;
  }

  /** Minutes of a check not in the store yet: closed-but-unsaved ones and the open one. */
  pendingMinutes(checkId: string): Bucket[] {
    const open = this.open.get(checkId)?.minute;
    return [...(this.unsaved.get(checkId) ?? []), ...(open && open.count > 0 ? [open] : [])];
  }

  /** The writer committed these minute rows. */
  markSaved(rows: RollupRow[]): void {
    for (const row of rows) {
      const list = this.unsaved.get(row.check_id);
      if (!list) continue;
      const rest = list.filter((b) => b.bucket !== row.bucket);
      if (rest.length > 0) this.unsaved.set(row.check_id, rest);
      else this.unsaved.delete(row.check_id);
    }
  }

  forget(checkId: string): void {
    this.open.delete(checkId);
    this.unsaved.delete(checkId);
  }

  private advance(checkId: string, open: Open, at: number): void {
    const minute = floor(at, MINUTE);
    if (minute > open.minute.bucket) {
      if (open.minute.count > 0) {
        this.closedMinutes.push(toRow(checkId, '1m', open.minute));
        const list = this.unsaved.get(checkId);
        if (list) list.push(open.minute);
        else this.unsaved.set(checkId, [open.minute]);
        mergeBucket(open.hour, open.minute);
      }
      open.minute = newBucket(minute);
    }
    const hour = floor(at, HOUR);
    if (hour > open.hour.bucket) {
      if (open.hour.count > 0 || open.hourPartial)
        this.closedHours.push({ checkId, bucket: open.hour, partial: open.hourPartial });
      open.hour = newBucket(hour);
      open.hourPartial = false;
    }
  }
}

export function floor(at: number, size: number): number {
  return at - (at % size);
}
