import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { sql } from 'kysely';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { openStore, type Store } from '../storage/db.js';
import { MetricRepository } from '../storage/metrics.repository.js';
import { InputError, UnavailableError } from '../errors.js';
import { MetricStore, type MetricStoreOptions } from './metric-store.js';
import type { IngestSample, LabelMatcher } from './series.js';

const logger = pino({ level: 'silent' });
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const RETENTION = { samples: 2 * DAY, minuteRollups: 35 * DAY, hourRollups: 400 * DAY };

const eq = (name: string, value: string): LabelMatcher => ({ name, op: '=', value });
const byName = (name: string) => [eq('__name__', name)];

describe.each(ENGINES)('metric store on %s', (engine) => {
  let t: TestStore;
  let clock: number;
  const opened: MetricStore[] = [];

  function newStore(overrides: Partial<MetricStoreOptions> = {}, store: Store = t.store): MetricStore {
    const metrics = new MetricStore({
      store,
      logger,
      retention: RETENTION,
      flushIntervalMs: HOUR,
      purgeIntervalMs: DAY,
      now: () => clock,
      ...overrides,
    });
    opened.push(metrics);
    return metrics;
  }

  async function started(overrides: Partial<MetricStoreOptions> = {}): Promise<MetricStore> {
    const metrics = newStore(overrides);
    await metrics.start();
    return metrics;
  }

  /** Ingests one sample per series every `stepMs` from the clock to `until`, flushing every 5 minutes. */
  async function feed(
    metrics: MetricStore,
    until: number,
    stepMs: number,
    make: (t: number) => IngestSample[],
  ): Promise<void> {
    let lastFlush = clock;
    for (; clock <= until; clock += stepMs) {
      const result = metrics.ingest(make(clock));
      expect(result.rejected).toBe(0);
      if (clock - lastFlush >= 5 * MIN) {
        await metrics.flush();
        lastFlush = clock;
      }
    }
    clock -= stepMs;
    await metrics.flush();
  }

  async function rows(table: 'samples' | 'series' | 'sample_rollups'): Promise<number> {
    const row = await t.store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  beforeEach(async () => {
    t = await openTestStore(engine);
    clock = T0;
  });

  afterEach(async () => {
    for (const metrics of opened.splice(0)) await metrics.stop();
    await t.cleanup();
  });

  it('answers recent windows from the head, without the database', async () => {
    const metrics = await started();
    const result = metrics.ingest([
      { name: 'http_requests_total', labels: { service: 'shop', code: '200' }, value: 1, t: T0 - 10_000 },
      { name: 'http_requests_total', labels: { code: '200', service: 'shop' }, value: 4, t: T0 },
      { name: 'http_requests_total', labels: { service: 'shop', code: '500' }, value: 2, t: T0 },
      { name: 'queue_depth', labels: { service: 'shop' }, value: 7 },
    ]);
    expect(result).toEqual({ accepted: 4, rejected: 0, errors: [] });
    // Without the table, only the head can answer.
    await sql`alter table samples rename to samples_moved`.execute(t.store.db);
    try {
      const series = await metrics.select(
        [...byName('http_requests_total'), eq('code', '200')],
        T0 - 5 * MIN,
        T0,
      );
      expect(series).toEqual([
        {
          labels: { __name__: 'http_requests_total', code: '200', service: 'shop' },
          samples: [
            { t: T0 - 10_000, v: 1 },
            { t: T0, v: 4 },
          ],
        },
      ]);
      const all = await metrics.select([eq('service', 'shop')], T0 - 5 * MIN, T0);
      expect(all.map((s) => s.labels.__name__).sort()).toEqual([
        'http_requests_total',
        'http_requests_total',
        'queue_depth',
      ]);
      expect(await metrics.select([eq('service', 'shop')], T0 - 5 * MIN, T0 - 20_000)).toEqual([]);
    } finally {
      await sql`alter table samples_moved rename to samples`.execute(t.store.db);
    }
  });

  it('matches =, !=, =~ and !~ like Prometheus, including missing labels as empty', async () => {
    const metrics = await started();
    metrics.ingest([
      { name: 'up', labels: { job: 'api', env: 'prod' }, value: 1 },
      { name: 'up', labels: { job: 'web', env: 'prod' }, value: 0 },
      { name: 'up', labels: { job: 'db' }, value: 1 },
      { name: 'other', labels: { job: 'api' }, value: 3 },
    ]);
    const jobs = async (matchers: LabelMatcher[]) =>
      (await metrics.select(matchers, T0 - MIN, T0))
        .map((s) => `${s.labels.__name__}/${s.labels.job}`)
        .sort();
    expect(await jobs(byName('up'))).toEqual(['up/api', 'up/db', 'up/web']);
    expect(await jobs([...byName('up'), { name: 'job', op: '!=', value: 'api' }])).toEqual([
      'up/db',
      'up/web',
    ]);
    expect(await jobs([{ name: 'job', op: '=~', value: 'a.*|d.' }])).toEqual([
      'other/api',
      'up/api',
      'up/db',
    ]);
    expect(await jobs([...byName('up'), { name: 'env', op: '!~', value: 'prod' }])).toEqual(['up/db']);
    expect(await jobs([...byName('up'), eq('env', '')])).toEqual(['up/db']);
    expect(await jobs([{ name: '__name__', op: '=~', value: 'o.*' }])).toEqual(['other/api']);
    expect(await jobs([eq('job', 'nope')])).toEqual([]);
    expect(metrics.series([eq('job', 'api')], 10)).toEqual({
      items: [
        { __name__: 'other', job: 'api' },
        { __name__: 'up', env: 'prod', job: 'api' },
      ],
      total: 2,
    });
  });

  it('validates names all or nothing, and rejects samples out of order, too old or duplicated', async () => {
    const metrics = await started();
    const bad = () =>
      metrics.ingest([
        { name: 'fine', labels: {}, value: 1 },
        { name: '9lives', labels: {}, value: 1 },
      ]);
    expect(bad).toThrow(InputError);
    try {
      bad();
    } catch (error) {
      expect((error as InputError).field).toBe('samples[1].name');
    }
    expect(() => metrics.ingest([{ name: 'x', labels: { 'bad-label': 'v' }, value: 1 }])).toThrow(
      /samples\[0\]\.labels/,
    );
    expect(() => metrics.ingest([{ name: 'x', labels: { __reserved: 'v' }, value: 1 }])).toThrow(InputError);
    expect(metrics.stats.series).toBe(0);

    metrics.ingest([{ name: 'g', labels: {}, value: 1, t: T0 }]);
    const result = metrics.ingest([
      { name: 'g', labels: {}, value: 2, t: T0 - 1000 },
      { name: 'g', labels: {}, value: 1, t: T0 },
      { name: 'g', labels: {}, value: 5, t: T0 },
      { name: 'g', labels: {}, value: 1, t: T0 - 2 * HOUR },
      { name: 'g', labels: {}, value: 1, t: T0 + DAY },
      { name: 'g', labels: {}, value: 3, t: T0 + 1000 },
    ]);
    expect(result.accepted).toBe(2);
    expect(result.rejected).toBe(4);
    expect(result.errors.map((e) => e.index)).toEqual([0, 2, 3, 4]);
    expect(result.errors[0]!.reason).toMatch(/out of order/);
    expect(result.errors[2]!.reason).toMatch(/too old/);
    const [series] = await metrics.select(byName('g'), T0 - HOUR, T0 + HOUR);
    expect(series!.samples).toEqual([
      { t: T0, v: 1 },
      { t: T0 + 1000, v: 3 },
    ]);
  });

  it('refuses to ingest before start with UnavailableError', () => {
    const metrics = newStore();
    expect(() => metrics.ingest([{ name: 'x', labels: {}, value: 1 }])).toThrow(UnavailableError);
  });

  it('persists series and samples in batches and reloads the head after a restart', async () => {
    const first = await started();
    await feed(first, T0 + 10 * MIN, 15_000, (at): IngestSample[] => [
      { name: 'orders_total', labels: { service: 'shop' }, value: (at - T0) / 1000 },
      { name: 'temperature', labels: { room: 'a "quoted"\nroom' }, value: 20 },
    ]);
    await first.stop();
    expect(await rows('series')).toBe(2);
    expect(await rows('samples')).toBe(2 * 41);

    clock = T0 + 20 * MIN;
    const second = await started();
    expect(second.stats.series).toBe(2);
    expect(second.stats.headSamples).toBe(2 * 41);
    // A rule over the last 15 minutes has its data right away, from the head.
    const [orders] = await second.select(byName('orders_total'), clock - 15 * MIN, clock);
    expect(orders!.samples).toHaveLength(21);
    expect(orders!.samples.at(-1)).toEqual({ t: T0 + 10 * MIN, v: 600 });
    const [temperature] = await second.select(byName('temperature'), T0, clock);
    expect(temperature!.labels.room).toBe('a "quoted"\nroom');
    // New samples continue the same series (same id, no duplicate series row).
    second.ingest([{ name: 'orders_total', labels: { service: 'shop' }, value: 700 }]);
    await second.flush();
    expect(await rows('series')).toBe(2);
    expect(await rows('samples')).toBe(2 * 41 + 1);
  });

  it('reads what the head no longer holds from raw samples, minute rollups and hour rollups', async () => {
    const first = await started();
    await feed(first, T0 + 3 * HOUR - 15_000, 15_000, (at) => [
      { name: 'jobs_total', labels: { queue: 'mail' }, value: (at - T0) / 15_000 },
    ]);
    await first.stop();
    const total = (3 * HOUR) / 15_000;
    expect(await rows('samples')).toBe(total);
    expect(await rows('sample_rollups')).toBe(180 + 3);

    // Six hours later the head starts after the data: raw samples from the database.
    clock = T0 + 9 * HOUR;
    const second = await started();
    const [raw] = await second.select(byName('jobs_total'), T0, T0 + HOUR - 1);
    expect(raw!.samples).toHaveLength(240);
    expect(raw!.samples[0]).toEqual({ t: T0, v: 0 });
    await second.stop();

    // Past the samples retention: one sample per minute, the minute's last value at its end.
    clock = T0 + 3 * DAY;
    const third = await started();
    const [minutes] = await third.select(byName('jobs_total'), T0, T0 + 3 * HOUR);
    expect(minutes!.samples).toHaveLength(180);
    expect(minutes!.samples[0]).toEqual({ t: T0 + MIN - 1, v: 3 });
    expect(minutes!.samples[1]).toEqual({ t: T0 + 2 * MIN - 1, v: 7 });
    const [windowed] = await third.select(byName('jobs_total'), T0 + 30 * MIN, T0 + 40 * MIN);
    expect(windowed!.samples.map((s) => s.t)).toEqual(
      Array.from({ length: 10 }, (_, i) => T0 + 31 * MIN + i * MIN - 1),
    );
    await third.stop();

    // Past the minute rollups' retention: one sample per hour.
    clock = T0 + 40 * DAY;
    const fourth = await started();
    const [hours] = await fourth.select(byName('jobs_total'), T0 - HOUR, T0 + 4 * HOUR);
    expect(hours!.samples).toEqual([
      { t: T0 + HOUR - 1, v: 239 },
      { t: T0 + 2 * HOUR - 1, v: 479 },
      { t: T0 + 3 * HOUR - 1, v: 719 },
    ]);
  });

  it('writes minute and hour rollups when their buckets close, and rewrites a bucket a late sample reopens', async () => {
    const metrics = await started({ rollupGraceMs: 5000 });
    const repo = new MetricRepository(t.store.db);
    const g = (value: number, at: number): IngestSample => ({ name: 'load', labels: {}, value, t: at });
    metrics.ingest([g(4, T0 + 10_000), g(-2, T0 + 20_000), g(NaN, T0 + 30_000), g(9, T0 + 50_000)]);
    await metrics.flush();
    expect(await rows('sample_rollups')).toBe(0);

    metrics.ingest([g(1, T0 + 70_000)]); // the first minute closes on the next minute's sample
    await metrics.flush();
    const [id] = (await repo.loadSeries()).map((s) => s.id);
    let minutes = await repo.rollups('1m', [id!], T0, T0 + HOUR);
    expect(minutes).toHaveLength(1);
    expect(minutes[0]).toMatchObject({ bucket: T0, count: 4, min: -2, max: 9, last: 9 });
    expect(minutes[0]!.sum).toBeNaN();

    clock = T0 + 2 * MIN + 4000; // within the grace period: still open
    await metrics.flush();
    expect(await repo.rollups('1m', [id!], T0, T0 + HOUR)).toHaveLength(1);
    clock = T0 + 2 * MIN + 5000; // the quiet minute closes by the clock
    await metrics.flush();
    minutes = await repo.rollups('1m', [id!], T0, T0 + HOUR);
    expect(minutes.map((m) => [m.bucket, m.count, m.sum])).toEqual([
      [T0, 4, NaN],
      [T0 + MIN, 1, 1],
    ]);

    clock = T0 + 3 * MIN;
    metrics.ingest([g(5, T0 + 100_000)]); // late, but after the series' last sample: reopens the minute
    await metrics.flush();
    expect(await repo.rollups('1m', [id!], T0 + MIN, T0 + MIN)).toMatchObject([
      { count: 2, sum: 6, min: 1, max: 5, last: 5 },
    ]);

    expect(await repo.rollups('1h', [id!], T0, T0)).toEqual([]);
    clock = T0 + HOUR + 5000;
    await metrics.flush();
    expect(await repo.rollups('1h', [id!], T0, T0)).toMatchObject([{ count: 6, min: -2, max: 9, last: 5 }]);
  });

  it('rebuilds the open hour from stored samples after a restart, so its rollup stays whole', async () => {
    const first = await started();
    await feed(first, T0 + 30 * MIN, MIN, () => [{ name: 'ticks', labels: {}, value: 1 }]);
    await first.stop();
    const repo = new MetricRepository(t.store.db);
    const [id] = (await repo.loadSeries()).map((s) => s.id);
    // Stopping writes the open hour as it stood.
    expect(await repo.rollups('1h', [id!], T0, T0)).toMatchObject([{ count: 31 }]);

    clock = T0 + 40 * MIN;
    const second = await started();
    await feed(second, T0 + 59 * MIN, MIN, () => [{ name: 'ticks', labels: {}, value: 2 }]);
    clock = T0 + HOUR + MIN;
    await second.flush();
    expect(await repo.rollups('1h', [id!], T0, T0)).toMatchObject([{ count: 51, sum: 31 + 2 * 20, last: 2 }]);
    expect(await repo.rollups('1m', [id!], T0, T0 + HOUR)).toHaveLength(51);
  });

  it('after a crash, rebuilds the rollups the dead process had not written from its stored samples', async () => {
    const crashed = newStore();
    opened.pop(); // never stopped: its open buckets die with it
    await crashed.start();
    await feed(crashed, T0 + 4 * MIN + 30_000, 30_000, () => [{ name: 'jobs', labels: {}, value: 1 }]);
    const repo = new MetricRepository(t.store.db);
    const [id] = (await repo.loadSeries()).map((s) => s.id);
    expect((await repo.rollups('1m', [id!], T0, T0 + HOUR)).map((r) => r.bucket)).toEqual(
      [0, 1, 2, 3].map((m) => T0 + m * MIN),
    );

    clock = T0 + 10 * MIN;
    const second = await started();
    await second.flush();
    const minutes = await repo.rollups('1m', [id!], T0, T0 + HOUR);
    expect(minutes.map((r) => [r.bucket, r.count])).toEqual([0, 1, 2, 3, 4].map((m) => [T0 + m * MIN, 2]));
    await second.stop();
    expect(await repo.rollups('1h', [id!], T0, T0)).toMatchObject([{ count: 10, sum: 10 }]);
  });

  it('can retry start() after the database failed to answer', async () => {
    const first = await started();
    first.ingest([{ name: 'x', labels: {}, value: 1 }]);
    await first.stop();
    await sql`alter table series rename to series_moved`.execute(t.store.db);
    const second = newStore();
    await expect(second.start()).rejects.toThrow();
    expect(() => second.ingest([{ name: 'x', labels: {}, value: 2 }])).toThrow(UnavailableError);
    await sql`alter table series_moved rename to series`.execute(t.store.db);
    clock += 1000;
    await second.start();
    expect(second.stats).toMatchObject({ series: 1, headSamples: 1 });
  });

  it('keeps NaN and infinities through the database', async () => {
    const first = await started();
    first.ingest([
      { name: 'odd', labels: { k: 'nan' }, value: NaN, t: T0 },
      { name: 'odd', labels: { k: 'inf' }, value: Infinity, t: T0 },
      { name: 'odd', labels: { k: 'ninf' }, value: -Infinity, t: T0 },
    ]);
    await first.stop();
    clock = T0 + 5 * HOUR;
    const second = await started();
    const series = await second.select(byName('odd'), T0, T0);
    const values = Object.fromEntries(series.map((s) => [s.labels.k, s.samples[0]!.v]));
    expect(values.nan).toBeNaN();
    expect(values.inf).toBe(Infinity);
    expect(values.ninf).toBe(-Infinity);
  });

  it('keeps samples when a write fails and writes them on the next flush', async () => {
    const metrics = await started();
    metrics.ingest([{ name: 'kept', labels: {}, value: 1 }]);
    await sql`alter table samples rename to samples_moved`.execute(t.store.db);
    await metrics.flush();
    expect(metrics.stats.pendingSamples).toBe(1);
    await sql`alter table samples_moved rename to samples`.execute(t.store.db);
    expect(await rows('series')).toBe(0); // the failed transaction wrote nothing
    clock += 1000;
    metrics.ingest([{ name: 'kept', labels: {}, value: 2 }]);
    await metrics.flush();
    expect(metrics.stats.pendingSamples).toBe(0);
    expect(await rows('series')).toBe(1);
    expect(await rows('samples')).toBe(2);
  });

  it('purges each tier past its retention and forgets series left without data', async () => {
    const metrics = await started();
    await feed(metrics, T0 + 2 * HOUR, MIN, () => [{ name: 'old', labels: {}, value: 1 }]);
    clock = T0 + 3 * DAY;
    metrics.trimHead(clock);
    metrics.ingest([{ name: 'fresh', labels: {}, value: 1 }]);
    await metrics.flush();
    expect(await rows('sample_rollups')).toBe(121 + 3);

    expect(await metrics.purge()).toEqual({ samples: 121, minutes: 0, hours: 0, series: 0 });
    expect(await rows('samples')).toBe(1);

    clock = T0 + 36 * DAY;
    metrics.trimHead(clock);
    await metrics.flush(); // closes fresh's minute and hour
    expect(await metrics.purge()).toEqual({ samples: 1, minutes: 121, hours: 0, series: 0 });

    clock = T0 + 401 * DAY;
    metrics.trimHead(clock);
    await metrics.flush();
    expect(await metrics.purge()).toEqual({ samples: 0, minutes: 1, hours: 3, series: 1 });
    expect(await rows('series')).toBe(1);
    expect(metrics.stats.series).toBe(1);
    expect(metrics.series(byName('old'), 10).total).toBe(0);
    expect(metrics.series(byName('fresh'), 10).total).toBe(1);
    // The forgotten series comes back as a new one when it reports again.
    metrics.ingest([{ name: 'old', labels: {}, value: 2 }]);
    await metrics.flush();
    expect(await rows('series')).toBe(2);
  });

  it('ingests 10,000 series per cycle and selects among them through the label index', async () => {
    const metrics = await started();
    const cycle = (at: number): IngestSample[] =>
      Array.from({ length: 10_000 }, (_, i) => ({
        name: i % 2 ? 'http_requests_total' : 'http_request_duration_seconds_count',
        labels: {
          instance: `host-${i % 500}:9100`,
          route: `/r${Math.floor(i / 500)}`,
          code: i % 10 ? '200' : '500',
        },
        value: at / 1000 + i,
        t: at,
      }));
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const result = metrics.ingest(cycle(T0 + i * 15_000));
      const elapsed = performance.now() - started;
      expect(result.accepted).toBe(10_000);
      expect(elapsed).toBeLessThan(i === 0 ? 2000 : 500);
    }
    clock = T0 + 30_000;
    await metrics.flush();
    expect(await rows('samples')).toBe(30_000);

    let at = performance.now();
    const one = await metrics.select(
      [...byName('http_requests_total'), eq('instance', 'host-7:9100'), eq('route', '/r0')],
      T0,
      clock,
    );
    expect(performance.now() - at).toBeLessThan(20);
    expect(one).toHaveLength(1);
    expect(one[0]!.samples).toHaveLength(3);

    at = performance.now();
    const errors = await metrics.select(
      [...byName('http_request_duration_seconds_count'), eq('code', '500')],
      clock - 5 * MIN,
      clock,
    );
    expect(performance.now() - at).toBeLessThan(200);
    expect(errors).toHaveLength(1000);
    const regex = await metrics.select(
      [
        { name: 'route', op: '=~', value: '/r1[0-9]' },
        { name: 'code', op: '!=', value: '200' },
      ],
      clock - 5 * MIN,
      clock,
    );
    expect(regex).toHaveLength(10 * 50);
    expect(regex.every((s) => /^\/r1\d$/.test(s.labels.route!) && s.labels.code === '500')).toBe(true);
  });
});

it('lets a second store over the same SQLite file see the first one’s series (restart over a file)', async () => {
  const t = await openTestStore('sqlite');
  let clock = T0;
  const options = { logger, retention: RETENTION, flushIntervalMs: HOUR, now: () => clock };
  try {
    const first = new MetricStore({ store: t.store, ...options });
    await first.start();
    first.ingest([{ name: 'a', labels: { x: '1' }, value: 1 }]);
    await first.stop();
    const reopened = await openStore({ url: t.url });
    try {
      clock += MIN;
      const second = new MetricStore({ store: reopened, ...options });
      await second.start();
      expect(await second.select(byName('a'), T0, clock)).toEqual([
        { labels: { __name__: 'a', x: '1' }, samples: [{ t: T0, v: 1 }] },
      ]);
      // A new series gets an id after the stored ones.
      second.ingest([{ name: 'b', labels: {}, value: 1 }]);
      await second.stop();
      const ids = (await new MetricRepository(reopened.db).loadSeries()).map((s) => s.id);
      expect(ids).toEqual([1, 2]);
    } finally {
      await reopened.close();
    }
  } finally {
    await t.cleanup();
  }
});
