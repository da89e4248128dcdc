import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { arraySource, every, series } from '../../telemetry/promql/test-source.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { queryRoutes, structuredQuery } from './query.routes.js';

const NOW_S = 1_800_000_000;
const source = arraySource([
  series(
    'http_requests_total',
    { service: 'shop', status: '200' },
    every(
      NOW_S - 600,
      15,
      Array.from({ length: 41 }, (_, i) => i * 150),
    ),
  ),
  series(
    'http_requests_total',
    { service: 'shop', status: '500' },
    every(
      NOW_S - 600,
      15,
      Array.from({ length: 41 }, (_, i) => i * 15),
    ),
  ),
]);

function app() {
  const router = newRouter();
  router.onError((error, c) => errorResponse(error, c, pino({ level: 'silent' })));
  router.route('/api/v1', queryRoutes({ series: () => source }));
  return router;
}

describe('query API', () => {
  it('answers an instant query in Prometheus format, with the time in Unix seconds', async () => {
    const q = encodeURIComponent('sum by (service) (rate(http_requests_total[5m]))');
    const response = await app().request(`/api/v1/query?query=${q}&time=${NOW_S}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.status).toBe('success');
    expect(body.data.resultType).toBe('vector');
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0].metric).toEqual({ service: 'shop' });
    expect(body.data.result[0].value[0]).toBe(NOW_S);
    expect(Number(body.data.result[0].value[1])).toBeCloseTo(11, 9); // 10/s of 200s and 1/s of 500s
  });

  it('builds PromQL from structured parameters and runs range queries', async () => {
    expect(
      structuredQuery({
        metric: 'http_requests_total',
        match: 'service="shop"',
        aggregation: 'rate',
        by: 'status',
      }),
    ).toBe('sum by (status) (rate(http_requests_total{service="shop"}[5m]))');
    expect(
      structuredQuery({ metric: 'http_request_duration_seconds_bucket', aggregation: 'p95', by: 'service' }),
    ).toBe(
      'histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket{}[5m])))',
    );
    const response = await app().request(
      `/api/v1/query_range?metric=http_requests_total&aggregation=rate&by=status&start=${NOW_S - 120}&end=${NOW_S}&step=60`,
    );
    const body = (await response.json()) as any;
    expect(body.query).toBe('sum by (status) (rate(http_requests_total{}[5m]))');
    expect(body.data.result.map((r: any) => [r.metric.status, r.values.length])).toEqual([
      ['200', 3],
      ['500', 3],
    ]);
  });

  it('answers 400 naming the query for syntax and evaluation errors', async () => {
    const bad = await app().request(`/api/v1/query?query=${encodeURIComponent('rte(x[5m])')}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({
      field: 'query',
      message: expect.stringMatching(/unknown function "rte"/),
    });
    const manyToMany = encodeURIComponent('http_requests_total / on(service) http_requests_total');
    const eval400 = await app().request(`/api/v1/query?query=${manyToMany}&time=${NOW_S}`);
    expect(eval400.status).toBe(400);
    const missing = await app().request('/api/v1/query');
    expect(((await missing.json()) as any).error.field).toBe('query');
  });
});
