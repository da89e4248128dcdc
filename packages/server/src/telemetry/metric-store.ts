// The metric store: an in-memory head of recent samples per series (rule evaluation over minutes never
// touches the database), an inverted label index, and the database behind it (series, raw samples,
// 1m/1h rollups) written in batches by a periodic flush.
//
// Reads older than the head come from the database, by tier: raw samples within the samples retention,
// then minute rollups, then hour rollups. A rollup bucket reads as one sample carrying the bucket's
// last value, stamped at the bucket's last millisecond (bucket + resolution - 1): for counters that
// keeps rate()/increase() exact at bucket granularity, and for gauges it is the value the series had
// when the bucket ended. count/sum/min/max stay in the rows for *_over_time on coarse data later.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { MetricsConfig } from '../config/metrics.schema.js';
import type { Store } from '../storage/db.js';
import {
  MetricRepository,
  type MetricBatch,
  type MetricRollupRow,
  type SampleRow,
  type SeriesRow,
} from '../storage/metrics.repository.js';
import { InputError, UnavailableError } from '../errors.js';
import type { IngestSample, LabelMatcher, Labels, Sample, Series, SeriesSource } from './series.js';
import {
  NAME_LABEL,
  compileMatcher,
  isLabelName,
  isMetricName,
  labelsKey,
  seriesKey,
  seriesLabels,
  type CompiledMatcher,
} from './labels.js';
import { SeriesIndex } from './series-index.js';
import {
  RESOLUTIONS,
  accumulate,
  bucketOf,
  openBucket,
  rollupRow,
  type OpenBucket,
} from './metric-rollup.js';
import { HOUR } from './rollup.js';

export interface MetricStoreOptions {
  store: Store;
  logger: Logger;
  retention: MetricsConfig['retention'];
  /** How far back the head keeps every sample (ms); at least maxSampleAgeMs + 1 h. */
  headWindowMs?: number;
  /** Bound per series in the head; a faster series keeps less than the window in memory. */
  maxSamplesPerSeries?: number;
  /** Samples older than this (ms before now) are rejected, as Prometheus rejects out-of-bounds ones. */
  maxSampleAgeMs?: number;
  /** Samples further in the future than this are rejected. */
  maxFutureMs?: number;
  maxSeries?: number;
  flushIntervalMs?: number;
  /** A rollup bucket is written this long after it ends, so slightly late samples still land in it. */
  rollupGraceMs?: number;
  /** How often retention is applied. */
  purgeIntervalMs?: number;
  /** Bound on samples buffered while the database is unreachable; the oldest are dropped beyond it. */
  maxPendingSamples?: number;
  now?(): number;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  /** The first few rejections, by index into the ingested array. */
  errors: { index: number; reason: string }[];
}

export interface MetricStoreStats {
  series: number;
  headSamples: number;
  pendingSamples: number;
}

export interface PurgeResult {
  samples: number;
  minutes: number;
  hours: number;
  series: number;
}

interface MemSeries {
  id: number;
  labels: Labels;
  /** Head samples, oldest first, as two parallel arrays of doubles. */
  ts: number[];
  vs: number[];
  lastT: number;
  /** The head holds every sample of this series with t >= complete; older ones are in the database. */
  complete: number;
  /** Open rollup buckets, one per resolution (RESOLUTIONS order). */
  buckets: (OpenBucket | undefined)[];
}

const MINUTE = 60_000;
const MAX_ERRORS_REPORTED = 10;

export class MetricStore implements SeriesSource {
  private readonly repository: MetricRepository;
  private index = new SeriesIndex<MemSeries>();
  private readonly byKey = new Map<string, MemSeries>();
  private readonly byId = new Map<number, MemSeries>();
  private readonly now: () => number;
  private readonly headWindowMs: number;
  private readonly maxSamplesPerSeries: number;
  private readonly maxSampleAgeMs: number;
  private readonly maxFutureMs: number;
  private readonly maxSeries: number;
  private readonly graceMs: number;
  private readonly maxPending: number;
  private pending: MetricBatch = emptyBatch();
  private flushing: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private nextId = 1;
  private headSamples = 0;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  /** While replaying stored samples at start: buckets before these were already stored. */
  private replayFloor: number[] | undefined;

  constructor(private readonly options: MetricStoreOptions) {
    this.repository = new MetricRepository(options.store.db);
    this.now = options.now ?? Date.now;
    this.maxSampleAgeMs = options.maxSampleAgeMs ?? HOUR;
    this.headWindowMs = options.headWindowMs ?? 2 * HOUR;
    this.maxSamplesPerSeries = options.maxSamplesPerSeries ?? 8192;
    this.maxFutureMs = options.maxFutureMs ?? 10 * MINUTE;
    this.maxSeries = options.maxSeries ?? 1_000_000;
    this.graceMs = options.rollupGraceMs ?? 10_000;
    this.maxPending = options.maxPendingSamples ?? 2_000_000;
    // Replay at start rebuilds every bucket a sample may still land in from the head's raw samples.
    if (this.headWindowMs < this.maxSampleAgeMs + HOUR)
      throw new Error('headWindowMs must be at least maxSampleAgeMs + 1h');
  }

  get stats(): MetricStoreStats {
    return {
      series: this.byId.size,
      headSamples: this.headSamples,
      pendingSamples: this.pending.samples.length,
    };
  }

  /**
   * Loads series definitions and the head window from the database, rebuilds open rollup buckets from
   * those samples, then starts the flush, head-trim and retention timers.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('MetricStore.start() was already called');
    this.state = 'starting';
    try {
      await this.load();
    } catch (error) {
      // Leave nothing half-loaded, so start() can be retried once the database answers.
      this.index = new SeriesIndex();
      this.byKey.clear();
      this.byId.clear();
      this.pending = emptyBatch();
      this.headSamples = 0;
      this.nextId = 1;
      this.replayFloor = undefined;
      this.state = 'new';
      throw error;
    }
    this.state = 'running';
    this.every(this.options.flushIntervalMs ?? 1000, () => void this.flush());
    this.every(15_000, () => this.trimHead(this.now()));
    this.every(this.options.purgeIntervalMs ?? HOUR, () => void this.purge().catch(() => {}));
    this.options.logger.info(
      { series: this.byId.size, headSamples: this.headSamples },
      'metric store loaded its head from the database',
    );
  }

  private async load(): Promise<void> {
    const now = this.now();
    const rows = await this.repository.loadSeries();
    const loadFrom = now - this.headWindowMs;
    for (const row of rows) {
      const labels = seriesLabels(row.name, JSON.parse(row.labels) as Labels);
      const series = this.addSeries(row.id, labels);
      series.complete = loadFrom;
      this.nextId = Math.max(this.nextId, row.id + 1);
    }
    // Buckets already stored are not rewritten, except the last one or two, which a crash may have
    // cut short; replays write whole buckets, so rewriting them is harmless.
    const floors: number[] = [];
    for (const { name, ms } of RESOLUTIONS) {
      const latest = await this.repository.latestRollupBucket(name);
      floors.push(latest === undefined ? -Infinity : latest - ms);
    }
    const replayFrom = bucketOf(now - this.maxSampleAgeMs, HOUR);
    this.replayFloor = floors;
    const ids = rows.map((r) => r.id);
    for (let i = 0; i < ids.length; i += 500) {
      // Chunked, so a large head never sits in memory twice as row objects.
      const samples = await this.repository.samples(ids.slice(i, i + 500), loadFrom);
      for (const s of samples) {
        const series = this.byId.get(s.series_id);
        if (!series) continue;
        this.appendHead(series, s.t, s.v);
        if (s.t >= replayFrom) this.addToRollups(series, s.t, s.v);
      }
    }
    this.replayFloor = undefined;
  }

  /** Stops the timers and writes everything buffered, including the open rollup buckets. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    if (!wasRunning) return;
    // Open buckets are written as they stand: a restart after this hour cannot rebuild them.
    for (const series of this.byId.values()) {
      RESOLUTIONS.forEach(({ name }, r) => {
        const bucket = series.buckets[r];
        if (bucket && !bucket.emitted) this.emit(series, name, bucket);
      });
    }
    await this.flush();
  }

  /**
   * Adds samples to the head and the write buffer. Names are validated first, all or nothing (an
   * InputError names the field); samples out of order, too old or too new are counted as rejected.
   */
  ingest(samples: readonly IngestSample[]): IngestResult {
    if (this.state !== 'running')
      throw new UnavailableError(`the metric store is ${this.state === 'stopped' ? 'stopped' : 'starting'}`);
    samples.forEach(validate);
    const now = this.now();
    const result: IngestResult = { accepted: 0, rejected: 0, errors: [] };
    const reject = (index: number, reason: string) => {
      result.rejected++;
      if (result.errors.length < MAX_ERRORS_REPORTED) result.errors.push({ index, reason });
    };
    samples.forEach((sample, index) => {
      const t = sample.t === undefined ? now : Math.round(sample.t);
      if (t < now - this.maxSampleAgeMs)
        return reject(index, `too old: more than ${this.maxSampleAgeMs / 1000}s before now`);
      if (t > now + this.maxFutureMs)
        return reject(index, `too far in the future: more than ${this.maxFutureMs / 1000}s after now`);
      const key = seriesKey(sample.name, sample.labels);
      let series = this.byKey.get(key);
      if (!series) {
        if (this.byId.size >= this.maxSeries)
          return reject(index, `series limit of ${this.maxSeries} reached`);
        series = this.createSeries(seriesLabels(sample.name, sample.labels), key, now);
      }
      const v = sample.value;
      if (t < series.lastT) return reject(index, 'out of order: older than the series’ last sample');
      if (t === series.lastT) {
        // Prometheus accepts an identical duplicate (a retried push) and rejects a changed one.
        if (Object.is(series.vs.at(-1), v)) result.accepted++;
        else reject(index, 'duplicate timestamp with a different value');
        return;
      }
      this.appendHead(series, t, v);
      this.pending.samples.push({ series_id: series.id, t, v });
      this.addToRollups(series, t, v);
      result.accepted++;
    });
    if (this.pending.samples.length >= 50_000) void this.flush();
    return result;
  }

  /** Series matching every matcher with their samples in [from, to]; series without samples are left out. */
  async select(matchers: LabelMatcher[], from: number, to: number): Promise<Series[]> {
    if (this.state === 'new' || this.state === 'starting')
      throw new UnavailableError('the metric store is starting');
    if (to < from) return [];
    const compiled = matchers.map(compileMatcher);
    const matched = this.index.select(compiled);
    const older = matched.filter((s) => from < s.complete);
    const stored = older.length > 0 ? await this.readStored(older, from, to) : new Map<number, Sample[]>();
    const out: Series[] = [];
    for (const series of matched) {
      const samples = stored.get(series.id) ?? [];
      const start = Math.max(from, series.complete);
      for (let i = lowerBound(series.ts, start); i < series.ts.length && series.ts[i]! <= to; i++)
        samples.push({ t: series.ts[i]!, v: series.vs[i]! });
      if (samples.length > 0) out.push({ labels: { ...series.labels }, samples });
    }
    return out;
  }

  /** Label sets of the series matching every matcher, sorted, at most `limit`. */
  series(matchers: LabelMatcher[], limit: number): { items: Labels[]; total: number } {
    const matched = this.index.select(matchers.map(compileMatcher));
    const keyed = matched.map((s) => ({ key: labelsSortKey(s.labels), labels: s.labels }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { items: keyed.slice(0, limit).map((k) => ({ ...k.labels })), total: matched.length };
  }

  /** Writes buffered series, samples and closed rollup buckets in one transaction; one write at a time. */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (this.state === 'running') this.closeDue(this.now() - this.graceMs);
      const batch = this.pending;
      this.pending = emptyBatch();
      if (batch.series.length + batch.samples.length + batch.rollups.length === 0) return;
      try {
        await this.repository.write(batch);
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not write metric samples; will retry');
        this.requeue(batch);
      }
    });
    this.flushing = run.catch(() => {});
    return run;
  }

  /** Applies retention per tier and forgets series left with no data anywhere. */
  purge(): Promise<PurgeResult> {
    const run = this.flushing.then(async (): Promise<PurgeResult> => {
      const now = this.now();
      const { retention } = this.options;
      const removed = await this.repository.purge({
        samples: now - this.rawRetention,
        minuteRollups: now - retention.minuteRollups,
        hourRollups: now - retention.hourRollups,
      });
      const empty = await this.repository.emptySeries();
      const pendingIds = new Set(this.pending.samples.map((s) => s.series_id));
      const gone: number[] = [];
      for (const id of empty) {
        const series = this.byId.get(id);
        if (
          series &&
          (series.ts.length > 0 || pendingIds.has(id) || series.buckets.some((b) => b && !b.emitted))
        )
          continue;
        if (series) this.forget(series);
        gone.push(id);
      }
      await this.repository.deleteSeries(gone);
      const result = { ...removed, series: gone.length };
      if (removed.samples + removed.minutes + removed.hours + gone.length > 0)
        this.options.logger.info(result, 'metric retention applied');
      return result;
    });
    this.flushing = run.catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'metric retention failed; will retry'),
    );
    return run;
  }

  /** Closes rollup buckets that ended before `cutoff`, queueing their rows. */
  closeDue(cutoff: number): void {
    for (const series of this.byId.values()) {
      RESOLUTIONS.forEach(({ name, ms }, r) => {
        const bucket = series.buckets[r];
        if (bucket && !bucket.emitted && bucket.bucket + ms <= cutoff) this.emit(series, name, bucket);
      });
    }
  }

  /** Drops head samples older than the head window. */
  trimHead(now: number): void {
    const cutoff = now - this.headWindowMs;
    for (const series of this.byId.values()) {
      if (series.complete < cutoff) series.complete = cutoff;
      if (series.ts.length === 0 || series.ts[0]! >= cutoff) continue;
      const drop = lowerBound(series.ts, cutoff);
      series.ts.splice(0, drop);
      series.vs.splice(0, drop);
      this.headSamples -= drop;
    }
  }

  private createSeries(labels: Labels, key: string, now: number): MemSeries {
    const id = this.nextId++;
    const series = this.addSeries(id, labels, key);
    const row: SeriesRow = {
      id,
      name: labels[NAME_LABEL]!,
      labels: JSON.stringify(labels),
      labels_key: createHash('sha256').update(key).digest('hex'),
      created_at: now,
    };
    this.pending.series.push(row);
    return series;
  }

  private addSeries(id: number, labels: Labels, key = labelsKey(labels)): MemSeries {
    // A series new to this process and the database has all its samples in the head.
    const series: MemSeries = {
      id,
      labels,
      ts: [],
      vs: [],
      lastT: -Infinity,
      complete: -Infinity,
      buckets: [],
    };
    this.byKey.set(key, series);
    this.byId.set(id, series);
    this.index.add(series);
    return series;
  }

  private forget(series: MemSeries): void {
    this.byKey.delete(labelsKey(series.labels));
    this.byId.delete(series.id);
    this.index.remove(series);
  }

  private appendHead(series: MemSeries, t: number, v: number): void {
    series.ts.push(t);
    series.vs.push(v);
    series.lastT = t;
    this.headSamples++;
    if (series.ts.length > this.maxSamplesPerSeries) {
      // Drop an eighth at once so the cost of shifting the arrays is amortised.
      const drop = Math.ceil(this.maxSamplesPerSeries / 8);
      series.complete = Math.max(series.complete, series.ts[drop - 1]! + 1);
      series.ts.splice(0, drop);
      series.vs.splice(0, drop);
      this.headSamples -= drop;
    }
  }

  private addToRollups(series: MemSeries, t: number, v: number): void {
    RESOLUTIONS.forEach(({ name, ms }, r) => {
      const start = bucketOf(t, ms);
      let bucket = series.buckets[r];
      if (!bucket || start > bucket.bucket) {
        if (bucket && !bucket.emitted) this.emit(series, name, bucket);
        bucket = series.buckets[r] = openBucket(start);
      }
      // A sample after its bucket was written reopens it; the bucket is then written again whole.
      accumulate(bucket, v);
    });
  }

  private emit(series: MemSeries, resolution: MetricRollupRow['resolution'], bucket: OpenBucket): void {
    bucket.emitted = true;
    const floor = this.replayFloor?.[resolution === '1m' ? 0 : 1];
    if (floor !== undefined && bucket.bucket < floor) return;
    this.pending.rollups.push(rollupRow(series.id, resolution, bucket));
  }

  private requeue(batch: MetricBatch): void {
    this.pending.series = [...batch.series, ...this.pending.series];
    this.pending.rollups = [...batch.rollups, ...this.pending.rollups];
    const samples = [...batch.samples, ...this.pending.samples];
    const excess = samples.length - this.maxPending;
    if (excess > 0)
      this.options.logger.warn({ dropped: excess }, 'metric write buffer full; dropped the oldest samples');
    this.pending.samples = excess > 0 ? samples.slice(excess) : samples;
  }

  /** Samples of these series older than what the head holds, from the finest stored tier per range. */
  private async readStored(list: MemSeries[], from: number, to: number): Promise<Map<number, Sample[]>> {
    const now = this.now();
    const { retention } = this.options;
    const rawFrom = now - this.rawRetention;
    const minuteFrom = now - retention.minuteRollups;
    let newest = -Infinity;
    for (const series of list) newest = Math.max(newest, series.complete);
    const until = Math.min(to, newest - 1);
    const ids = list.map((s) => s.id);
    const out = new Map<number, Sample[]>();
    const push = (id: number, t: number, v: number) => {
      let samples = out.get(id);
      if (!samples) out.set(id, (samples = []));
      samples.push({ t, v });
    };
    const tiers: { resolution: '1m' | '1h'; ms: number; from: number; to: number }[] = [
      { resolution: '1h', ms: HOUR, from, to: Math.min(until, minuteFrom - 1) },
      { resolution: '1m', ms: MINUTE, from: Math.max(from, minuteFrom), to: Math.min(until, rawFrom - 1) },
    ];
    for (const tier of tiers) {
      if (tier.from > tier.to) continue;
      // A bucket reads as a sample at its last millisecond, which must fall in [tier.from, tier.to].
      const rows = await this.repository.rollups(
        tier.resolution,
        ids,
        tier.from - tier.ms + 1,
        tier.to - tier.ms + 1,
      );
      for (const row of rows) push(row.series_id, row.bucket + tier.ms - 1, row.last);
    }
    const rawStart = Math.max(from, rawFrom);
    if (rawStart <= until) {
      const rows: SampleRow[] = await this.repository.samples(ids, rawStart, until);
      for (const row of rows) push(row.series_id, row.t, row.v);
    }
    // The head answers from each series' own boundary on.
    for (const series of list) {
      const samples = out.get(series.id);
      if (!samples) continue;
      let keep = samples.length;
      while (keep > 0 && samples[keep - 1]!.t >= series.complete) keep--;
      samples.length = keep;
    }
    return out;
  }

  /** Raw samples outlive the head window whatever the config says: a restart reloads the head from them. */
  private get rawRetention(): number {
    return Math.max(this.options.retention.samples, this.headWindowMs);
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

function emptyBatch(): MetricBatch {
  return { series: [], samples: [], rollups: [] };
}

function validate(sample: IngestSample, index: number): void {
  const at = `samples[${index}]`;
  if (typeof sample.name !== 'string' || !isMetricName(sample.name))
    throw new InputError(
      `${at}.name: ${JSON.stringify(sample.name)} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
      `${at}.name`,
    );
  for (const [name, value] of Object.entries(sample.labels ?? {})) {
    if (!isLabelName(name) || name.startsWith('__'))
      throw new InputError(
        `${at}.labels: ${JSON.stringify(name)} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`,
        `${at}.labels.${name}`,
      );
    if (typeof value !== 'string')
      throw new InputError(`${at}.labels.${name}: must be a string`, `${at}.labels.${name}`);
  }
  if (typeof sample.value !== 'number')
    throw new InputError(`${at}.value: must be a number (NaN and ±Infinity allowed)`, `${at}.value`);
  if (sample.t !== undefined && (typeof sample.t !== 'number' || !Number.isFinite(sample.t)))
    throw new InputError(`${at}.t: must be epoch milliseconds`, `${at}.t`);
}

/** Index of the first element >= value in an ascending array. */
function lowerBound(values: readonly number[], value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Orders label sets like Prometheus: by metric name, then by the remaining labels. */
function labelsSortKey(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}\u0001${v}`)
    .join('\u0002');
}

export type { CompiledMatcher };
