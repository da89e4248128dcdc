import { describe, expect, it } from 'vitest';
import type { Labels, Series } from '../series.js';
import { evaluateInstant, evaluateRange, PromqlEvalError, selectorsOf, type VectorSample } from './engine.js';
import { parseExpr } from './parser.js';
import { arraySource, every, series } from './test-source.js';

/** Evaluation time used throughout: 10 minutes after the epoch, so a [5m] window is (300s, 600s]. */
const T = 600_000;

async function vector(text: string, data: Series[], at = T, lookbackMs?: number): Promise<VectorSample[]> {
  const result = await evaluateInstant(parseExpr(text), at, arraySource(data), { lookbackMs });
  if (result.type !== 'vector') throw new Error(`expected a vector from ${text}, got a ${result.type}`);
  return result.samples;
}

async function scalar(text: string, data: Series[] = [], at = T): Promise<number> {
  const result = await evaluateInstant(parseExpr(text), at, arraySource(data));
  if (result.type !== 'scalar') throw new Error(`expected a scalar from ${text}`);
  return result.value;
}

/** The single value of a one-element result. */
async function only(text: string, data: Series[], at = T): Promise<VectorSample> {
  const samples = await vector(text, data, at);
  expect(samples).toHaveLength(1);
  return samples[0]!;
}

/** label value -> sample value, for results that differ in one label. */
function byLabel(samples: VectorSample[], label: string): Record<string, number> {
  return Object.fromEntries(samples.map((s) => [s.labels[label] ?? '', s.value]));
}

describe('selectors and label matchers', () => {
  const data = [
    series('up', { job: 'api', instance: 'a:9100', env: 'prod' }, [[590, 1]]),
    series('up', { job: 'api', instance: 'b:9100' }, [[590, 0]]),
    series('up', { job: 'apiserver', instance: 'c:9100', env: 'dev' }, [[590, 1]]),
    series('node_load1', { job: 'api', instance: 'a:9100' }, [[590, 0.5]]),
  ];

  it('keeps all labels, including __name__, on a plain selector', async () => {
    const samples = await vector('up{instance="a:9100"}', data);
    expect(samples).toEqual([
      { labels: { __name__: 'up', job: 'api', instance: 'a:9100', env: 'prod' }, value: 1 },
    ]);
  });

  it('anchors regular expressions and treats a missing label as empty', async () => {
    expect(await vector('up{job=~"api"}', data)).toHaveLength(2);
    expect(await vector('up{job=~"api.*"}', data)).toHaveLength(3);
    expect(await vector('up{job!~"api"}', data)).toHaveLength(1);
    expect((await vector('up{env=""}', data)).map((s) => s.labels.instance)).toEqual(['b:9100']);
    expect(await vector('up{env!=""}', data)).toHaveLength(2);
    expect(await vector('up{env!="prod"}', data)).toHaveLength(2);
  });

  it('selects by __name__', async () => {
    expect(await vector('{__name__=~"up|node_load1", instance="a:9100"}', data)).toHaveLength(2);
    expect(await vector('{__name__="node_load1"}', data)).toHaveLength(1);
  });

  it('returns instant vectors sorted by labels', async () => {
    const samples = await vector('up', data);
    // Compared label by label: env (dev < prod) comes before instance.
    expect(samples.map((s) => s.labels.instance)).toEqual(['c:9100', 'a:9100', 'b:9100']);
  });
});

describe('lookback', () => {
  const data = [
    series('g', { s: 'fresh' }, [
      [500, 1],
      [580, 2],
      [610, 3], // after the evaluation time: not visible
    ]),
    series('g', { s: 'stale' }, [[299, 7]]), // 301s before T: outside the 5m lookback
    series('g', { s: 'edge' }, [[300, 8]]), // exactly 5m before T: the window is left-open, as in Prometheus 3
    series('g', { s: 'recent' }, [[301, 9]]),
  ];

  it('takes the latest sample at or before the evaluation time within 5m', async () => {
    expect(byLabel(await vector('g', data), 's')).toEqual({ fresh: 2, recent: 9 });
  });

  it('includes a sample exactly at the evaluation time', async () => {
    expect(byLabel(await vector('g', data, 610_000), 's')).toEqual({ fresh: 3 });
  });

  it('honours a custom lookback', async () => {
    expect(byLabel(await vector('g', data, T, 60_000), 's')).toEqual({ fresh: 2 });
    expect(byLabel(await vector('g', data, T, 600_000), 's')).toEqual({
      fresh: 2,
      stale: 7,
      edge: 8,
      recent: 9,
    });
  });

  it('shifts the window with offset', async () => {
    // (240s, 540s]
    expect(byLabel(await vector('g offset 1m', data), 's')).toEqual({
      fresh: 1,
      stale: 7,
      edge: 8,
      recent: 9,
    });
    // (310s, 610s]
    expect(byLabel(await vector('g offset -10s', data), 's')).toEqual({ fresh: 3 });
  });
});

describe('rate, increase and friends on counters', () => {
  // Scraped every 30s from 310s to 580s; the counter resets between 140 and 5. A sample at 280s
  // lies outside the (300s, 600s] window.
  const counter = series('http_requests_total', { job: 'api' }, [
    [280, 90],
    ...every(310, 30, [100, 110, 120, 130, 140, 5, 15, 25, 35, 45]),
  ]);

  it('handles the reset and extrapolates to the window boundaries like Prometheus', async () => {
    // Increase within the samples: 45 - 100 + 140 (the reset) = 85 over 270s. The first sample is
    // 10s after the window start and the last 20s before its end, both under 1.1 x the 30s average
    // interval, so Prometheus extrapolates to the full 300s: 85 * 300 / 270.
    const increase = await only('increase(http_requests_total[5m])', [counter]);
    expect(increase.labels).toEqual({ job: 'api' });
    expect(increase.value).toBeCloseTo((85 * 300) / 270, 10);
    expect((await only('rate(http_requests_total[5m])', [counter])).value).toBeCloseTo(85 / 270, 12);
  });

  it('extrapolates only half an interval when a series starts inside the window', async () => {
    // Samples from 450s: 12 over 120s. The start is 150s away (beyond 1.1 x 30s), so only 15s is
    // added there; the end is 30s away (within 33s), so all of it: 12 * (120 + 15 + 30) / 120 = 16.5.
    const late = series('c', {}, every(450, 30, [3, 6, 9, 12, 15]));
    expect((await only('increase(c[5m])', [late])).value).toBeCloseTo(16.5, 10);
    expect((await only('rate(c[5m])', [late])).value).toBeCloseTo(16.5 / 300, 12);
  });

  it('extrapolates only half an interval when a series stops inside the window', async () => {
    // Samples from 310s to 430s: 40 over 120s. The start is 10s away (within 33s): all of it; the
    // end is 170s away: 15s. 40 * (120 + 10 + 15) / 120.
    const stopped = series('c', {}, every(310, 30, [10, 20, 30, 40, 50]));
    expect((await only('increase(c[5m])', [stopped])).value).toBeCloseTo((40 * 145) / 120, 10);
  });

  it('does not extrapolate a counter below zero', async () => {
    // 40 over 120s from a value of 1: the counter would reach 0 just 3s before the first sample,
    // so 3s is added at the start instead of 15s: 40 * (120 + 3 + 30) / 120 = 51.
    const fresh = series('c', {}, every(450, 30, [1, 11, 21, 31, 41]));
    expect((await only('increase(c[5m])', [fresh])).value).toBeCloseTo(51, 10);
  });

  it('needs two samples in the window', async () => {
    const single = series('c', {}, [[590, 10]]);
    expect(await vector('rate(c[5m])', [single])).toEqual([]);
    expect(await vector('irate(c[5m])', [single])).toEqual([]);
  });

  it('irate and idelta use the last two samples', async () => {
    expect((await only('irate(http_requests_total[5m])', [counter])).value).toBeCloseTo(10 / 30, 12);
    const reset = series('c', {}, [
      [550, 40],
      [580, 4],
    ]);
    expect((await only('irate(c[5m])', [reset])).value).toBeCloseTo(4 / 30, 12);
    expect((await only('idelta(c[5m])', [reset])).value).toBe(-36);
  });

  it('delta treats the series as a gauge (no reset handling)', async () => {
    // -55 over 270s, extrapolated to 300s.
    expect((await only('delta(http_requests_total[5m])', [counter])).value).toBeCloseTo(
      (-55 * 300) / 270,
      10,
    );
  });

  it('counts resets and changes', async () => {
    expect((await only('resets(http_requests_total[5m])', [counter])).value).toBe(1);
    expect((await only('changes(http_requests_total[5m])', [counter])).value).toBe(9);
  });

  it('deriv and predict_linear fit a line', async () => {
    const disk = series('free', {}, every(310, 30, [1000, 970, 940, 910, 880, 850, 820, 790, 760, 730]));
    expect((await only('deriv(free[5m])', [disk])).value).toBeCloseTo(-1, 10);
    // At 600s the line is at 730 - 20 = 710; an hour on it is 710 - 3600.
    expect((await only('predict_linear(free[5m], 3600)', [disk])).value).toBeCloseTo(710 - 3600, 8);
  });
});

describe('over_time functions', () => {
  const gauge = series('temp', { room: 'a' }, [
    [200, 100], // outside the window
    ...every(330, 60, [4, 8, 6, 2, 10]),
  ]);

  it.each([
    ['avg_over_time', 6],
    ['min_over_time', 2],
    ['max_over_time', 10],
    ['sum_over_time', 30],
    ['count_over_time', 5],
    ['last_over_time', 10],
    ['present_over_time', 1],
    ['stdvar_over_time', 8], // mean 6; squared deviations 4 + 4 + 0 + 16 + 16 = 40; / 5
    ['stddev_over_time', Math.sqrt(8)],
  ])('%s', async (func, expected) => {
    const sample = await only(`${func}(temp[5m])`, [gauge]);
    expect(sample.value).toBeCloseTo(expected, 12);
    // Only last_over_time keeps the metric name, as in Prometheus.
    expect(sample.labels).toEqual(
      func === 'last_over_time' ? { __name__: 'temp', room: 'a' } : { room: 'a' },
    );
  });

  it('quantile_over_time interpolates between ranks', async () => {
    // Sorted: 2 4 6 8 10; φ=0.9 → rank 3.6 → 8 + 0.6 * 2.
    expect((await only('quantile_over_time(0.9, temp[5m])', [gauge])).value).toBeCloseTo(9.2, 12);
    expect((await only('quantile_over_time(0.5, temp[5m])', [gauge])).value).toBe(6);
  });

  it('absent_over_time returns 1 only when no series has samples in the range', async () => {
    expect(await vector('absent_over_time(temp[5m])', [gauge])).toEqual([]);
    expect(await vector('absent_over_time(temp{room="a"}[1m])', [gauge], 900_000)).toEqual([
      { labels: { room: 'a' }, value: 1 },
    ]);
  });

  it('fails when dropping the name leaves duplicate label sets', async () => {
    const data = [
      series('a', { x: '1' }, every(330, 60, [1, 2])),
      series('b', { x: '1' }, every(330, 60, [1, 2])),
    ];
    await expect(vector('sum_over_time({__name__=~"a|b"}[5m])', data)).rejects.toThrow(
      'vector cannot contain metrics with the same labelset',
    );
    expect(await vector('last_over_time({__name__=~"a|b"}[5m])', data)).toHaveLength(2);
  });
});

describe('aggregations', () => {
  const data = [
    series('load', { service: 'api', instance: 'a', zone: 'x' }, [[590, 1]]),
    series('load', { service: 'api', instance: 'b', zone: 'y' }, [[590, 3]]),
    series('load', { service: 'api', instance: 'c', zone: 'y' }, [[590, 8]]),
    series('load', { service: 'web', instance: 'd', zone: 'x' }, [[590, 4]]),
  ];

  it('sum by and without', async () => {
    expect(await vector('sum by (service) (load)', data)).toEqual([
      { labels: { service: 'api' }, value: 12 },
      { labels: { service: 'web' }, value: 4 },
    ]);
    expect(await vector('sum(load) by (zone, service)', data)).toEqual([
      { labels: { service: 'api', zone: 'x' }, value: 1 },
      { labels: { service: 'api', zone: 'y' }, value: 11 },
      { labels: { service: 'web', zone: 'x' }, value: 4 },
    ]);
    expect(await vector('sum without (instance) (load)', data)).toEqual([
      { labels: { service: 'api', zone: 'x' }, value: 1 },
      { labels: { service: 'api', zone: 'y' }, value: 11 },
      { labels: { service: 'web', zone: 'x' }, value: 4 },
    ]);
    expect(await vector('sum(load)', data)).toEqual([{ labels: {}, value: 16 }]);
  });

  it('by a label no series has gives one group without it', async () => {
    expect(await vector('sum by (nope) (load)', data)).toEqual([{ labels: {}, value: 16 }]);
  });

  it('avg, min, max, count, group, stddev, stdvar', async () => {
    expect(byLabel(await vector('avg by (service) (load)', data), 'service')).toEqual({ api: 4, web: 4 });
    expect(byLabel(await vector('min by (service) (load)', data), 'service')).toEqual({ api: 1, web: 4 });
    expect(byLabel(await vector('max by (service) (load)', data), 'service')).toEqual({ api: 8, web: 4 });
    expect(byLabel(await vector('count by (service) (load)', data), 'service')).toEqual({ api: 3, web: 1 });
    expect(byLabel(await vector('group by (service) (load)', data), 'service')).toEqual({ api: 1, web: 1 });
    // api: mean 4, deviations -3, -1, 4 → variance 26 / 3.
    const stdvar = byLabel(await vector('stdvar by (service) (load)', data), 'service');
    expect(stdvar.api).toBeCloseTo(26 / 3, 12);
    expect(stdvar.web).toBe(0);
    expect((await vector('stddev by (service) (load)', data))[0]!.value).toBeCloseTo(Math.sqrt(26 / 3), 12);
  });

  it('quantile interpolates like Prometheus, with out-of-range φ as ±Inf', async () => {
    // api: 1 3 8; φ=0.75 → rank 1.5 → 3 + 0.5 * 5.
    expect(byLabel(await vector('quantile by (service) (0.75, load)', data), 'service')).toEqual({
      api: 5.5,
      web: 4,
    });
    expect((await only('quantile(0.5, load)', data)).value).toBe(3.5);
    expect((await only('quantile(2, load)', data)).value).toBe(Infinity);
    expect((await only('quantile(-1, load)', data)).value).toBe(-Infinity);
  });

  it('topk and bottomk keep the whole series, per group, highest first', async () => {
    expect(await vector('topk(2, load)', data)).toEqual([
      { labels: { __name__: 'load', service: 'api', instance: 'c', zone: 'y' }, value: 8 },
      { labels: { __name__: 'load', service: 'web', instance: 'd', zone: 'x' }, value: 4 },
    ]);
    expect((await vector('topk by (service) (1, load)', data)).map((s) => s.labels.instance)).toEqual([
      'c',
      'd',
    ]);
    expect((await vector('bottomk(2, load)', data)).map((s) => s.value)).toEqual([1, 3]);
    expect(await vector('topk(0, load)', data)).toEqual([]);
  });

  it('count_values counts series per value', async () => {
    const versions = [
      series('build', { instance: 'a', version: '1.2' }, [[590, 12]]),
      series('build', { instance: 'b', version: '1.2' }, [[590, 12]]),
      series('build', { instance: 'c', version: '1.3' }, [[590, 13.5]]),
    ];
    expect(byLabel(await vector('count_values("v", build)', versions), 'v')).toEqual({ '12': 2, '13.5': 1 });
  });

  it('aggregating nothing gives nothing', async () => {
    expect(await vector('sum(missing)', data)).toEqual([]);
  });
});

describe('binary operators', () => {
  const mem = [
    series('mem_available', { instance: 'a', job: 'node' }, [[590, 25]]),
    series('mem_available', { instance: 'b', job: 'node' }, [[590, 75]]),
    series('mem_total', { instance: 'a', job: 'node' }, [[590, 100]]),
    series('mem_total', { instance: 'b', job: 'node' }, [[590, 100]]),
    series('mem_total', { instance: 'c', job: 'node' }, [[590, 100]]),
  ];

  it('computes scalar arithmetic with Prometheus precedence, division by zero and modulo', async () => {
    expect(await scalar('1 + 2 * 3 ^ 2')).toBe(19);
    expect(await scalar('2 ^ 3 ^ 2')).toBe(512);
    expect(await scalar('-2 ^ 2')).toBe(-4);
    expect(await scalar('1 / 0')).toBe(Infinity);
    expect(await scalar('-1 / 0')).toBe(-Infinity);
    expect(await scalar('0 / 0')).toBeNaN();
    expect(await scalar('7 % 3')).toBe(1);
    expect(await scalar('-7 % 3')).toBe(-1);
    expect(await scalar('1 ^ NaN')).toBe(1);
    expect(await scalar('3 > bool 2')).toBe(1);
    expect(await scalar('3 < bool 2')).toBe(0);
    expect(await scalar('time()', [], 90_000)).toBe(90);
  });

  it('applies a scalar to every element and drops the metric name', async () => {
    expect(await vector('100 * mem_available / 50', mem)).toEqual([
      { labels: { instance: 'a', job: 'node' }, value: 50 },
      { labels: { instance: 'b', job: 'node' }, value: 150 },
    ]);
    expect(byLabel(await vector('mem_available / 0', mem), 'instance')).toEqual({ a: Infinity, b: Infinity });
    expect(byLabel(await vector('-mem_available', mem), 'instance')).toEqual({ a: -25, b: -75 });
  });

  it('matches vectors one-to-one on all labels but the name', async () => {
    // Instance c has no mem_available: no result for it.
    expect(await vector('100 * (1 - mem_available / mem_total)', mem)).toEqual([
      { labels: { instance: 'a', job: 'node' }, value: 75 },
      { labels: { instance: 'b', job: 'node' }, value: 25 },
    ]);
  });

  const requests = [
    series('errors', { service: 'api', code: '500' }, [[590, 3]]),
    series('errors', { service: 'api', code: '503' }, [[590, 1]]),
    series('errors', { service: 'web', code: '500' }, [[590, 2]]),
    series('total', { service: 'api' }, [[590, 100]]),
    series('total', { service: 'web' }, [[590, 50]]),
    series('owner', { service: 'api', team: 'core' }, [[590, 1]]),
  ];

  it('matches on(...) and ignoring(...) labels', async () => {
    expect(await vector('sum by (service) (errors) / on(service) total', requests)).toEqual([
      { labels: { service: 'api' }, value: 0.04 },
      { labels: { service: 'web' }, value: 0.04 },
    ]);
    // One-to-one matching drops the ignored labels from the result.
    expect(await vector('errors{code="500"} / ignoring(code) total', requests)).toEqual([
      { labels: { service: 'api' }, value: 0.03 },
      { labels: { service: 'web' }, value: 0.04 },
    ]);
    // on() keeps only the listed labels in the result.
    expect((await vector('errors{code="503"} + on(service) total', requests))[0]!.labels).toEqual({
      service: 'api',
    });
  });

  it('refuses many-to-many matches, and group_left allows many-to-one', async () => {
    // Two api errors series match one total: one-to-one matching refuses that.
    await expect(vector('errors / on(service) total', requests)).rejects.toThrow(PromqlEvalError);
    await expect(vector('errors / ignoring(code) total', requests)).rejects.toThrow(
      'multiple matches for labels',
    );
    await expect(vector('total / on(service) errors', requests)).rejects.toThrow('found duplicate series');
    expect(await vector('errors / on(service) group_left total', requests)).toEqual([
      { labels: { service: 'api', code: '500' }, value: 0.03 },
      { labels: { service: 'web', code: '500' }, value: 0.04 },
      { labels: { service: 'api', code: '503' }, value: 0.01 },
    ]);
    // group_left(team) copies the team label from the "one" side.
    expect(await vector('errors * on(service) group_left(team) owner', requests)).toEqual([
      { labels: { service: 'api', code: '500', team: 'core' }, value: 3 },
      { labels: { service: 'api', code: '503', team: 'core' }, value: 1 },
    ]);
    expect(await vector('owner * on(service) group_right errors', requests)).toHaveLength(2);
  });

  it('comparisons filter and keep the left value and name; bool returns 0/1 without the name', async () => {
    expect(await vector('mem_available > 50', mem)).toEqual([
      { labels: { __name__: 'mem_available', instance: 'b', job: 'node' }, value: 75 },
    ]);
    // With the scalar on the left, the vector's value is kept.
    expect(await vector('50 < mem_available', mem)).toEqual([
      { labels: { __name__: 'mem_available', instance: 'b', job: 'node' }, value: 75 },
    ]);
    expect(await vector('mem_available > bool 50', mem)).toEqual([
      { labels: { instance: 'a', job: 'node' }, value: 0 },
      { labels: { instance: 'b', job: 'node' }, value: 1 },
    ]);
    expect(await vector('mem_available < mem_total', mem)).toEqual([
      { labels: { __name__: 'mem_available', instance: 'a', job: 'node' }, value: 25 },
      { labels: { __name__: 'mem_available', instance: 'b', job: 'node' }, value: 75 },
    ]);
    expect(byLabel(await vector('mem_available >= bool mem_total', mem), 'instance')).toEqual({ a: 0, b: 0 });
    expect(byLabel(await vector('mem_available == 25', mem), 'instance')).toEqual({ a: 25 });
    expect(byLabel(await vector('mem_available != 25', mem), 'instance')).toEqual({ b: 75 });
    // Chained: a band filter.
    expect(byLabel(await vector('mem_total > 50 <= 100', mem), 'instance')).toEqual({
      a: 100,
      b: 100,
      c: 100,
    });
  });

  it('and, or, unless', async () => {
    const instances = (samples: VectorSample[]) =>
      samples.map((s) => `${s.labels.__name__}/${s.labels.instance}`);
    expect(instances(await vector('mem_total and mem_available', mem))).toEqual([
      'mem_total/a',
      'mem_total/b',
    ]);
    expect(instances(await vector('mem_total unless mem_available', mem))).toEqual(['mem_total/c']);
    expect(instances(await vector('mem_available or mem_total', mem))).toEqual([
      'mem_available/a',
      'mem_available/b',
      'mem_total/c',
    ]);
    expect(instances(await vector('mem_total and on(job) mem_available{instance="a"}', mem))).toHaveLength(3);
    expect(instances(await vector('mem_total unless on(instance) mem_available > 50', mem))).toEqual([
      'mem_total/a',
      'mem_total/c',
    ]);
  });
});

describe('histogram_quantile', () => {
  // http_request_duration_seconds_bucket for two services with two instances each, scraped every
  // 30s from 310s to 580s. Each instance's bucket counter grows linearly from a large base, so
  // rate() over [5m] is (per-sample increment x 9) / 270s, and the instances add up to these rates:
  //   api: le 0.1 → 1/s, 0.25 → 2, 0.5 → 3, 1 → 3.5, 2.5 → 3.9, +Inf → 4
  //   web: le 0.1 → 8/s, 0.25 → 9.6, 0.5 → 9.9, 1 → 10, 2.5 → 10, +Inf → 10
  const bounds = ['0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  const rates: Record<string, number[]> = { api: [1, 2, 3, 3.5, 3.9, 4], web: [8, 9.6, 9.9, 10, 10, 10] };
  const buckets: Series[] = [];
  for (const [service, perBucket] of Object.entries(rates))
    for (const instance of ['i1', 'i2'])
      bounds.forEach((le, i) => {
        const perSample = (perBucket[i]! / 2) * 30; // half the rate from each instance
        const values = Array.from({ length: 10 }, (_, n) => 100_000 * (i + 1) + perSample * n);
        buckets.push(
          series('http_request_duration_seconds_bucket', { service, instance, le }, every(310, 30, values)),
        );
      });
  const p = (q: number) =>
    `histogram_quantile(${q}, sum by (le, service) (rate(http_request_duration_seconds_bucket[5m])))`;

  it('interpolates linearly within the bucket holding the rank', async () => {
    // api p95: rank 0.95 x 4 = 3.8 falls in (1, 2.5] holding 3.5..3.9 → 1 + 1.5 x (0.3 / 0.4) = 2.125.
    // web p95: rank 9.5 falls in (0.1, 0.25] holding 8..9.6 → 0.1 + 0.15 x (1.5 / 1.6) = 0.240625.
    const samples = await vector(p(0.95), buckets);
    expect(samples.map((s) => s.labels)).toEqual([{ service: 'api' }, { service: 'web' }]);
    expect(samples[0]!.value).toBeCloseTo(2.125, 9);
    expect(samples[1]!.value).toBeCloseTo(0.240625, 9);
  });

  it('follows Prometheus edge rules', async () => {
    // The first bucket interpolates from 0: api p10, rank 0.4 → 0.1 x 0.4 / 1.
    expect(byLabel(await vector(p(0.1), buckets), 'service').api).toBeCloseTo(0.04, 9);
    // A rank in the +Inf bucket gives the highest finite bound: api p99, rank 3.96 > 3.9.
    expect(byLabel(await vector(p(0.99), buckets), 'service').api).toBe(2.5);
    expect(byLabel(await vector(p(1.5), buckets), 'service').api).toBe(Infinity);
    expect(byLabel(await vector(p(-0.5), buckets), 'service').api).toBe(-Infinity);
    // Without a +Inf bucket the quantile is undefined.
    const noInf = buckets.filter((s) => s.labels.le !== '+Inf');
    expect(byLabel(await vector(p(0.5), noInf), 'service').api).toBeNaN();
  });

  it('groups by every label except le and drops the metric name', async () => {
    const samples = await vector(
      'histogram_quantile(0.5, http_request_duration_seconds_bucket)',
      buckets,
      580_000,
    );
    expect(samples).toHaveLength(4);
    expect(samples[0]!.labels).toEqual({ service: 'api', instance: 'i1' });
  });

  it('forces bucket counts to be monotonic', async () => {
    const raw = [
      series('h_bucket', { le: '1' }, [[590, 10]]),
      series('h_bucket', { le: '2' }, [[590, 8]]), // lower than le=1: treated as 10
      series('h_bucket', { le: '+Inf' }, [[590, 20]]),
    ];
    // rank 10 → first bucket with count >= 10 is le=1 → 0 + 1 x 10 / 10.
    expect((await only('histogram_quantile(0.5, h_bucket)', raw)).value).toBe(1);
    // rank 15 falls in (2, +Inf] → the highest finite bound.
    expect((await only('histogram_quantile(0.75, h_bucket)', raw)).value).toBe(2);
  });
});

describe('functions', () => {
  const data = [
    series('v', { k: 'neg' }, [[590, -2.5]]),
    series('v', { k: 'pos' }, [[590, 7.25]]),
    series('v', { k: 'zero' }, [[590, 0]]),
  ];

  it.each([
    ['abs(v)', { neg: 2.5, pos: 7.25, zero: 0 }],
    ['ceil(v)', { neg: -2, pos: 8, zero: 0 }],
    ['floor(v)', { neg: -3, pos: 7, zero: 0 }],
    ['round(v)', { neg: -2, pos: 7, zero: 0 }],
    ['round(v, 0.5)', { neg: -2.5, pos: 7.5, zero: 0 }],
    ['clamp(v, -1, 5)', { neg: -1, pos: 5, zero: 0 }],
    ['clamp_min(v, 1)', { neg: 1, pos: 7.25, zero: 1 }],
    ['clamp_max(v, 1)', { neg: -2.5, pos: 1, zero: 0 }],
    ['sgn(v)', { neg: -1, pos: 1, zero: 0 }],
    ['exp(v * 0)', { neg: 1, pos: 1, zero: 1 }],
    ['sqrt(v + 2.5)', { neg: 0, pos: Math.sqrt(9.75), zero: Math.sqrt(2.5) }],
    ['ln(v)', { neg: NaN, pos: Math.log(7.25), zero: -Infinity }],
    ['log2(v)', { neg: NaN, pos: Math.log2(7.25), zero: -Infinity }],
    ['log10(v)', { neg: NaN, pos: Math.log10(7.25), zero: -Infinity }],
    ['timestamp(v)', { neg: 590, pos: 590, zero: 590 }],
  ])('%s', async (text, expected) => {
    const samples = await vector(text, data);
    expect(byLabel(samples, 'k')).toEqual(expected);
    expect(samples.every((s) => s.labels.__name__ === undefined)).toBe(true);
  });

  it('clamp with max below min gives nothing', async () => {
    expect(await vector('clamp(v, 5, 1)', data)).toEqual([]);
  });

  it('sort and sort_desc order by value', async () => {
    expect((await vector('sort(v)', data)).map((s) => s.value)).toEqual([-2.5, 0, 7.25]);
    expect((await vector('sort_desc(v)', data)).map((s) => s.value)).toEqual([7.25, 0, -2.5]);
  });

  it('absent returns 1 with the equality matchers as labels when nothing matches', async () => {
    expect(await vector('absent(v)', data)).toEqual([]);
    expect(await vector('absent(nope{job="api", env=~"prod.*", instance="a"})', data)).toEqual([
      { labels: { job: 'api', instance: 'a' }, value: 1 },
    ]);
    expect(await vector('absent(sum(nope))', data)).toEqual([{ labels: {}, value: 1 }]);
  });

  it('scalar, vector and time', async () => {
    expect(await scalar('scalar(v{k="pos"})', data)).toBe(7.25);
    expect(await scalar('scalar(v)', data)).toBeNaN();
    expect(await vector('vector(3) + 1', data)).toEqual([{ labels: {}, value: 4 }]);
    expect(await vector('vector(time())', data, 120_000)).toEqual([{ labels: {}, value: 120 }]);
    expect(byLabel(await vector('v - scalar(v{k="pos"})', data), 'k')).toEqual({
      neg: -9.75,
      pos: 0,
      zero: -7.25,
    });
  });

  it('label_replace and label_join', async () => {
    const up = [series('up', { instance: 'host-1:9100', job: 'node' }, [[590, 1]])];
    expect(await vector('label_replace(up, "host", "$1", "instance", "(.*):\\\\d+")', up)).toEqual([
      { labels: { __name__: 'up', instance: 'host-1:9100', job: 'node', host: 'host-1' }, value: 1 },
    ]);
    // No match: unchanged.
    expect((await vector('label_replace(up, "host", "$1", "instance", "nomatch")', up))[0]!.labels.host).toBe(
      undefined,
    );
    expect(
      (await vector('label_replace(up, "x", "${name}-$1x$$", "job", "(?P<name>n)(o)de")', up))[0]!.labels.x,
    ).toBe('n-$');
    expect((await vector('label_join(up, "id", "/", "job", "instance")', up))[0]!.labels.id).toBe(
      'node/host-1:9100',
    );
  });

  it('date functions read UTC', async () => {
    // 2024-02-29T13:45:00Z
    const at = Date.UTC(2024, 1, 29, 13, 45);
    const values = async (text: string) => (await vector(text, [], at))[0]!.value;
    expect(await values('hour()')).toBe(13);
    expect(await values('minute()')).toBe(45);
    expect(await values('month()')).toBe(2);
    expect(await values('year()')).toBe(2024);
    expect(await values('day_of_month()')).toBe(29);
    expect(await values('day_of_week()')).toBe(4);
    expect(await values('day_of_year()')).toBe(60);
    expect(await values('days_in_month()')).toBe(29);
  });
});

describe('the guide KPI rules', () => {
  // Request counters scraped every 30s from 310s to 580s. rate() over [5m] is Δ/270s (the window is
  // fully covered), so per-sample increments of rate x 30 give these rates:
  //   api: 200 → 9/s, 500 → 0.5/s, 503 → 0.5/s     (error ratio 1 / 10 = 0.1)
  //   web: 200 → 20/s, 404 → 1/s, 502 → 0.2/s      (error ratio 0.2 / 21.2)
  const counters: [string, string, number][] = [
    ['api', '200', 9],
    ['api', '500', 0.5],
    ['api', '503', 0.5],
    ['web', '200', 20],
    ['web', '404', 1],
    ['web', '502', 0.2],
  ];
  const requests = counters.map(([service, status, rate]) =>
    series(
      'http_requests_total',
      { service, status, instance: 'i1' },
      every(
        310,
        30,
        Array.from({ length: 10 }, (_, n) => 5000 + rate * 30 * n),
      ),
    ),
  );

  it('error rate above 5%', async () => {
    const expr =
      'sum by (service) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (service) (rate(http_requests_total[5m])) > 0.05';
    const samples = await vector(expr, requests);
    expect(samples).toHaveLength(1);
    expect(samples[0]!.labels).toEqual({ service: 'api' });
    expect(samples[0]!.value).toBeCloseTo(0.1, 12);
    // Without the threshold both services are there, web at 0.2 / 21.2.
    const ratio = await vector(expr.replace(' > 0.05', ''), requests);
    expect(byLabel(ratio, 'service').web).toBeCloseTo(0.2 / 21.2, 12);
  });

  it('p95 latency above 1s', async () => {
    const buckets: Series[] = [];
    // api: 60% ≤ 0.5s, 90% ≤ 1s, 100% ≤ 2.5s → p95 = 1 + 1.5 x (0.05 / 0.1) = 1.75.
    // web: 99% ≤ 0.5s → p95 = 0.25 + 0.25 x ((0.95 - 0.9) / (0.99 - 0.9)).
    const shares: Record<string, number[]> = { api: [0, 0.6, 0.9, 1, 1], web: [0.9, 0.99, 1, 1, 1] };
    const les = ['0.25', '0.5', '1', '2.5', '+Inf'];
    for (const [service, share] of Object.entries(shares))
      les.forEach((le, i) =>
        buckets.push(
          series(
            'http_request_duration_seconds_bucket',
            { service, le, instance: 'i1' },
            every(
              310,
              30,
              Array.from({ length: 10 }, (_, n) => 1e6 * (i + 1) + share[i]! * 300 * n),
            ),
          ),
        ),
      );
    const expr =
      'histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket[5m]))) > 1';
    const samples = await vector(expr, buckets);
    expect(samples).toHaveLength(1);
    expect(samples[0]!.labels).toEqual({ service: 'api' });
    expect(samples[0]!.value).toBeCloseTo(1.75, 9);
    const all = await vector(expr.replace(' > 1', ''), buckets);
    expect(byLabel(all, 'service').web).toBeCloseTo(0.25 + 0.25 * (0.05 / 0.09), 9);
  });

  it('availability below 99%', async () => {
    const checks = [
      // 9 of 10 probes up → 90%.
      series(
        'opsbook_check_success',
        { service: 'api', check: 'api-http' },
        every(310, 30, [1, 1, 1, 0, 1, 1, 1, 1, 1, 1]),
      ),
      series(
        'opsbook_check_success',
        { service: 'web', check: 'web-http' },
        every(310, 30, Array(10).fill(1)),
      ),
    ];
    expect(await vector('avg_over_time(opsbook_check_success[5m]) * 100 < 99', checks)).toEqual([
      { labels: { service: 'api', check: 'api-http' }, value: 90 },
    ]);
  });
});

describe('evaluateRange', () => {
  const counter = series(
    'c',
    { job: 'a' },
    every(
      0,
      15,
      Array.from({ length: 80 }, (_, i) => i * 30),
    ),
  );

  it('evaluates every step with one select per selector', async () => {
    const source = arraySource([counter]);
    const matrix = await evaluateRange(
      parseExpr('rate(c[1m]) + on() group_left count(c)'),
      300_000,
      900_000,
      60_000,
      source,
    );
    // Both selectors read the same series: one fetch covers the rate's 1m range and the lookback.
    expect(source.calls).toEqual([
      { matchers: [{ name: '__name__', op: '=', value: 'c' }], from: 0, to: 900_000 },
    ]);
    expect(matrix).toHaveLength(1);
    expect(matrix[0]!.labels).toEqual({ job: 'a' });
    // 30 per 15s is 2/s; count(c) adds 1.
    expect(matrix[0]!.points.map((p) => p.t / 1000)).toEqual([
      300, 360, 420, 480, 540, 600, 660, 720, 780, 840, 900,
    ]);
    for (const point of matrix[0]!.points) expect(point.v).toBeCloseTo(3, 10);
  });

  it('matches evaluateInstant at each step, and leaves out steps without data', async () => {
    const data = [
      series('g', { s: 'a' }, every(0, 60, [1, 2, 3, 4, 5])),
      series('g', { s: 'b' }, every(600, 60, [10, 20, 30])),
    ];
    const expr = parseExpr('g * 2');
    const matrix = await evaluateRange(expr, 0, 900_000, 150_000, arraySource(data));
    for (const s of matrix)
      for (const point of s.points) {
        const instant = await evaluateInstant(expr, point.t, arraySource(data));
        const sample =
          instant.type === 'vector' ? instant.samples.find((x) => x.labels.s === s.labels.s) : undefined;
        expect(sample?.value).toBe(point.v);
      }
    const points = Object.fromEntries(
      matrix.map((s) => [s.labels.s, s.points.map((p) => [p.t / 1000, p.v])]),
    );
    // a: samples at 0..240s, visible for 5m after the last one (up to 540s, exclusive).
    expect(points.a).toEqual([
      [0, 2],
      [150, 6],
      [300, 10],
      [450, 10],
    ]);
    expect(points.b).toEqual([
      [600, 20],
      [750, 60],
      [900, 60],
    ]);
  });

  it('returns a scalar expression as one series without labels', async () => {
    const matrix = await evaluateRange(parseExpr('time() * 2'), 0, 120_000, 60_000, arraySource([]));
    expect(matrix).toEqual([
      {
        labels: {},
        points: [
          { t: 0, v: 0 },
          { t: 60_000, v: 120 },
          { t: 120_000, v: 240 },
        ],
      },
    ]);
  });

  it('rejects bad steps', async () => {
    await expect(evaluateRange(parseExpr('up'), 0, 1000, 0, arraySource([]))).rejects.toThrow('step');
    await expect(evaluateRange(parseExpr('up'), 0, 1e9, 1, arraySource([]))).rejects.toThrow(
      'too many points',
    );
  });
});

describe('selectorsOf', () => {
  it('lists every selector with its range and offset', () => {
    expect(selectorsOf(parseExpr('rate(a{x="1"}[5m] offset 1m) / b'))).toEqual([
      {
        matchers: [
          { name: '__name__', op: '=', value: 'a' },
          { name: 'x', op: '=', value: '1' },
        ],
        rangeMs: 300_000,
        offsetMs: 60_000,
      },
      { matchers: [{ name: '__name__', op: '=', value: 'b' }], rangeMs: 0, offsetMs: 0 },
    ]);
  });

  it('fetches each selector for its own window', async () => {
    const source = arraySource([]);
    await evaluateInstant(parseExpr('rate(a[5m] offset 1m) / b'), T, source);
    const windows = Object.fromEntries(source.calls.map((c) => [c.matchers[0]!.value, [c.from, c.to]]));
    expect(windows).toEqual({ a: [T - 360_000, T - 60_000], b: [T - 300_000, T] });
  });
});

describe('label sets', () => {
  it('does not confuse label sets that concatenate alike', async () => {
    const data: Series[] = [
      { labels: { __name__: 'm', a: 'b', c: 'd' } as Labels, samples: [{ t: 590_000, v: 1 }] },
      { labels: { __name__: 'm', a: 'bc', d: '' } as Labels, samples: [{ t: 590_000, v: 2 }] },
    ];
    expect(await vector('sum without () (m)', data)).toHaveLength(2);
  });
});
