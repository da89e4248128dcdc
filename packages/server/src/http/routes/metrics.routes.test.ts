import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import { UnavailableError } from '../../errors.js';
import { MetricStore } from '../../telemetry/metric-store.js';
import { metricsApi, type MetricsApi } from '../../telemetry/metrics-api.js';
import { Scraper } from '../../telemetry/scraper.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { metricsRoutes } from './metrics.routes.js';

const logger = pino({ level: 'silent' });
const DAY = 86_400_000;

describe('metrics API', () => {
  let t: TestStore;
  let store: MetricStore;
  let scraper: Scraper;
  let exporter: Server;
  let ready = true;
  const app = newRouter();

  beforeAll(async () => {
    t = await openTestStore('sqlite');
    store = new MetricStore({
      store: t.store,
      logger,
      retention: { samples: 2 * DAY, minuteRollups: 35 * DAY, hourRollups: 400 * DAY },
    });
    await store.start();
    exporter = createServer((_req, res) => res.end('jobs_running 2\n'));
    await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
    scraper = new Scraper({ sink: store, logger });
    const { port } = exporter.address() as AddressInfo;
    scraper.apply([
      { job: 'worker', url: `http://127.0.0.1:${port}/metrics`, interval: 60_000, timeout: 5000, labels: {} },
      { job: 'never', url: 'http://127.0.0.1:1/metrics', interval: 60_000, timeout: 5000, labels: {} },
    ]);
    const api = metricsApi(store, scraper);
    app.onError((error, c) => errorResponse(error, c, logger));
    app.route(
      '/api/v1',
      metricsRoutes({
        metrics: (): MetricsApi => {
          if (!ready) throw new UnavailableError('the metric store is starting');
          return api;
        },
      }),
    );
  });

  afterAll(async () => {
    await scraper.stop();
    await store.stop();
    await new Promise((resolve) => exporter.close(resolve));
    await t.cleanup();
  });

  const push = (body: unknown) =>
    app.request('/api/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('accepts pushed samples with labels, epoch or ISO timestamps and special values', async () => {
    const now = Date.now();
    const res = await push({
      samples: [
        { metric: 'orders_total', labels: { service: 'shop' }, value: 3, timestamp: now - 2000 },
        {
          metric: 'orders_total',
          labels: { service: 'shop' },
          value: 5,
          timestamp: new Date(now - 1000).toISOString(),
        },
        { metric: 'orders_total', labels: { service: 'shop' }, value: 4, timestamp: now - 5000 },
        { metric: 'cart_ratio', value: 'NaN' },
        { metric: 'cart_limit', labels: { service: 'shop' }, value: '+Inf' },
      ],
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ accepted: 4, rejected: 1, errors: [{ index: 2 }] });
    expect(body.errors[0].reason).toMatch(/out of order/);

    const [orders] = await store.select(
      [{ name: '__name__', op: '=', value: 'orders_total' }],
      now - 60_000,
      now,
    );
    expect(orders!.labels).toEqual({ __name__: 'orders_total', service: 'shop' });
    expect(orders!.samples).toEqual([
      { t: now - 2000, v: 3 },
      { t: now - 1000, v: 5 },
    ]);
    const [limit] = await store.select(
      [{ name: '__name__', op: '=', value: 'cart_limit' }],
      now - 60_000,
      now + 60_000,
    );
    expect(limit!.samples[0]!.v).toBe(Infinity);
  });

  it('answers 400 naming the field for a malformed body, and stores nothing', async () => {
    const before = store.stats;
    const samples = Array.from({ length: 5 }, (_, i) => ({ metric: `ok_${i}`, value: i }));
    samples[3] = { metric: '3-bad', value: 1 };
    let res = await push({ samples });
    expect(res.status).toBe(400);
    let body = (await res.json()) as any;
    expect(body.error.code).toBe('input');
    expect(body.error.field).toBe('samples[3].metric');

    res = await push({ samples: [{ metric: 'fine', value: 'many' }] });
    expect(((await res.json()) as any).error.field).toBe('samples[0].value');
    res = await push({ samples: [{ metric: 'fine', value: 1, labels: { 'not-a-label': 'x' } }] });
    body = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(body.error.field).toMatch(/^samples\[0\]\.labels/);
    res = await push({ samples: [{ metric: 'fine', value: 1, timestamp: 'yesterday' }] });
    expect(((await res.json()) as any).error.field).toBe('samples[0].timestamp');
    res = await push({ sample: [] });
    expect(((await res.json()) as any).error.field).toBe('samples');
    res = await push({ samples: Array.from({ length: 10_001 }, () => ({ metric: 'x', value: 1 })) });
    body = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(body.error.field).toBe('samples');
    expect(body.error.message).toMatch(/10000/);
    res = await push('{"samples": [');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.field).toBe('body');

    expect(store.stats).toEqual(before);
  });

  it('takes 10,000 samples in one request', async () => {
    const now = Date.now();
    const res = await push({
      samples: Array.from({ length: 10_000 }, (_, i) => ({
        metric: 'bulk_total',
        labels: { shard: String(i) },
        value: i,
        timestamp: now,
      })),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 10_000, rejected: 0, errors: [] });
  });

  it('lists scrape targets with their health', async () => {
    let res = await app.request('/api/v1/metrics/targets');
    let body = (await res.json()) as any;
    expect(body.items.map((i: any) => [i.job, i.health, i.up])).toEqual([
      ['worker', 'unknown', null],
      ['never', 'unknown', null],
    ]);
    await scraper.scrapeAll();
    res = await app.request('/api/v1/metrics/targets');
    expect(res.status).toBe(200);
    body = (await res.json()) as any;
    const [worker, never] = body.items;
    expect(worker).toMatchObject({ job: 'worker', health: 'up', up: true, lastError: null, samples: 1 });
    expect(worker.durationMs).toBeGreaterThanOrEqual(0);
    expect(worker.lastScrape).toBeGreaterThan(Date.now() - 60_000);
    expect(never).toMatchObject({ job: 'never', instance: '127.0.0.1:1', health: 'down', up: false });
    expect(never.lastError).toMatch(/ECONNREFUSED/);
  });

  it('lists series matching every match parameter', async () => {
    let res = await app.request('/api/v1/metrics/series?match=service%3D%22shop%22&match=orders_total');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [{ __name__: 'orders_total', service: 'shop' }], total: 1 });

    res = await app.request(`/api/v1/metrics/series?match=${encodeURIComponent('{__name__=~"cart_.*"}')}`);
    expect(((await res.json()) as any).items.map((s: any) => s.__name__)).toEqual([
      'cart_limit',
      'cart_ratio',
    ]);

    res = await app.request(`/api/v1/metrics/series?match=bulk_total&limit=3`);
    const body = (await res.json()) as any;
    expect(body.total).toBe(10_000);
    expect(body.items).toHaveLength(3);

    res = await app.request(`/api/v1/metrics/series?match=${encodeURIComponent('up{job=')}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.field).toBe('match');
    res = await app.request('/api/v1/metrics/series');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.field).toBe('match');
  });

  it('answers 503 while the metric store is not ready', async () => {
    ready = false;
    try {
      const res = await push({ samples: [{ metric: 'x', value: 1 }] });
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.code).toBe('unavailable');
    } finally {
      ready = true;
    }
  });

  it('documents the routes in the OpenAPI document', () => {
    const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {})).toEqual(
      expect.arrayContaining(['/api/v1/metrics', '/api/v1/metrics/targets', '/api/v1/metrics/series']),
    );
  });
});
