import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import {
  startExampleService,
  type ExampleService,
} from '../../../../examples/example-service/src/service.js';
import type { ScrapeTarget } from '../config/metrics.schema.js';
import { MetricStore } from './metric-store.js';
import { instanceOf, phase, Scraper, withTargetLabels } from './scraper.js';
import type { LabelMatcher } from './series.js';

const logger = pino({ level: 'silent' });
const HOUR = 3_600_000;
const DAY = 86_400_000;

const EXPOSITION = `# HELP orders_total Orders placed.
# TYPE orders_total counter
orders_total{shop="eu",job="exporter-job"} 42
orders_total{shop="us"} 7
# TYPE queue_depth gauge
queue_depth 3
this line is broken
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
`;

interface Exporter {
  url: string;
  hits: Map<string, number>;
  accept: string[];
  /** Requests to /hang, resolved when the client goes away. */
  hung: Promise<void>[];
  close(): Promise<void>;
}

async function startExporter(): Promise<Exporter> {
  const hits = new Map<string, number>();
  const accept: string[] = [];
  const hung: Promise<void>[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    accept.push(String(req.headers.accept));
    if (path === '/fail') {
      res.writeHead(500).end('boom');
    } else if (path === '/slow') {
      setTimeout(() => res.writeHead(200).end(EXPOSITION), 2000).unref();
    } else if (path === '/html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>\n<body>login</body>\n</html>\n');
    } else if (path === '/hang') {
      hung.push(new Promise((resolve) => res.on('close', () => resolve())));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(EXPOSITION);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    accept,
    hung,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function target(overrides: Partial<ScrapeTarget> & Pick<ScrapeTarget, 'job' | 'url'>): ScrapeTarget {
  return { interval: 60_000, timeout: 5000, labels: {}, ...overrides };
}

const eq = (name: string, value: string): LabelMatcher => ({ name, op: '=', value });

describe('scraper', () => {
  let t: TestStore;
  let metrics: MetricStore;
  let exporter: Exporter;
  let scraper: Scraper | undefined;

  beforeAll(async () => {
    t = await openTestStore('sqlite');
    metrics = new MetricStore({
      store: t.store,
      logger,
      retention: { samples: 2 * DAY, minuteRollups: 35 * DAY, hourRollups: 400 * DAY },
    });
    await metrics.start();
    exporter = await startExporter();
  });

  afterEach(async () => {
    await scraper?.stop();
    scraper = undefined;
  });

  afterAll(async () => {
    await metrics.stop();
    await exporter.close();
    await t.cleanup();
  });

  const latest = async (matchers: LabelMatcher[]) =>
    (await metrics.select(matchers, Date.now() - HOUR, Date.now() + HOUR)).map((s) => ({
      labels: s.labels,
      v: s.samples.at(-1)!.v,
    }));

  it('scrapes a target, adds its labels, keeps good lines and writes up, duration and samples scraped', async () => {
    scraper = new Scraper({ sink: metrics, logger });
    scraper.apply([
      target({ job: 'shop', url: `${exporter.url}/metrics`, service: 'shop', labels: { env: 'prod' } }),
    ]);
    await scraper.scrapeAll();
    const instance = exporter.url.slice('http://'.length);
    expect(exporter.accept.at(-1)).toBe('text/plain;version=0.0.4');

    const orders = await latest([eq('__name__', 'orders_total'), eq('job', 'shop')]);
    expect(orders.map((o) => o.labels).sort((a, b) => a.shop!.localeCompare(b.shop!))).toEqual([
      {
        __name__: 'orders_total',
        env: 'prod',
        exported_job: 'exporter-job',
        instance,
        job: 'shop',
        service: 'shop',
        shop: 'eu',
      },
      { __name__: 'orders_total', env: 'prod', instance, job: 'shop', service: 'shop', shop: 'us' },
    ]);
    expect(await latest([eq('__name__', 'latency_seconds_bucket'), eq('le', '+Inf')])).toMatchObject([
      { v: 2 },
    ]);
    expect(await latest([eq('__name__', 'up'), eq('job', 'shop')])).toEqual([
      { labels: { __name__: 'up', env: 'prod', instance, job: 'shop', service: 'shop' }, v: 1 },
    ]);
    expect(await latest([eq('__name__', 'scrape_samples_scraped'), eq('job', 'shop')])).toMatchObject([
      { v: 7 },
    ]);
    const [duration] = await latest([eq('__name__', 'scrape_duration_seconds'), eq('job', 'shop')]);
    expect(duration!.v).toBeGreaterThan(0);
    expect(duration!.v).toBeLessThan(5);

    const [health] = scraper.targets();
    expect(health).toMatchObject({ job: 'shop', instance, service: 'shop', health: 'up', samples: 7 });
    expect(health!.lastError).toMatch(/1 malformed line skipped; line 7: /);
    expect(health!.lastScrape).toBeGreaterThan(Date.now() - 10_000);
  });

  it('records failing, slow and unreachable targets as up=0 with the error, without stopping', async () => {
    scraper = new Scraper({ sink: metrics, logger });
    const port = await closedPort();
    scraper.apply([
      target({ job: 'failing', url: `${exporter.url}/fail` }),
      target({ job: 'slow', url: `${exporter.url}/slow`, timeout: 300 }),
      target({ job: 'gone', url: `http://127.0.0.1:${port}/metrics` }),
      target({ job: 'html', url: `${exporter.url}/html` }),
    ]);
    const started = performance.now();
    await scraper.scrapeAll();
    expect(performance.now() - started).toBeLessThan(1500);
    const health = Object.fromEntries(scraper.targets().map((h) => [h.job, h]));
    expect(health.failing).toMatchObject({ health: 'down', lastError: 'HTTP 500', samples: 0 });
    expect(health.slow).toMatchObject({ health: 'down', lastError: 'timed out after 300 ms' });
    expect(health.gone!.health).toBe('down');
    expect(health.gone!.lastError).toMatch(/ECONNREFUSED/);
    expect(health.html!.health).toBe('down');
    expect(health.html!.lastError).toMatch(/not the Prometheus text format: line 1: /);
    for (const job of ['failing', 'slow', 'gone', 'html'])
      expect(await latest([eq('__name__', 'up'), eq('job', job)])).toMatchObject([{ v: 0 }]);
    const [slowDuration] = await latest([eq('__name__', 'scrape_duration_seconds'), eq('job', 'slow')]);
    expect(slowDuration!.v).toBeGreaterThanOrEqual(0.29);

    // A target that recovers reports up again on its next scrape.
    scraper.apply([target({ job: 'failing', url: `${exporter.url}/metrics` })]);
    await scraper.scrapeAll();
    expect(scraper.targets()).toMatchObject([{ job: 'failing', health: 'up' }]);
  });

  it('scrapes on each interval and keeps unchanged targets running through apply()', async () => {
    scraper = new Scraper({ sink: metrics, logger });
    const a = target({ job: 'a', url: `${exporter.url}/metrics?a`, interval: 100 });
    const b = target({ job: 'b', url: `${exporter.url}/metrics?b`, interval: 100 });
    expect(scraper.apply([a, b])).toEqual({
      added: [`a ${a.url}`, `b ${b.url}`],
      changed: [],
      removed: [],
      unchanged: 0,
    });
    scraper.start();
    await waitFor(() => (exporter.hits.get('/metrics?a') ?? 0) >= 3, 5000, 'three scrapes of a');
    const before = scraper.targets().find((h) => h.job === 'a')!;
    expect(before.health).toBe('up');

    const changedB = { ...b, labels: { tier: 'gold' } };
    expect(scraper.apply([a, changedB])).toEqual({
      added: [],
      changed: [`b ${b.url}`],
      removed: [],
      unchanged: 1,
    });
    // The unchanged target kept its health (no reset to unknown) and keeps being scraped.
    expect(scraper.targets().find((h) => h.job === 'a')!.health).toBe('up');
    expect(scraper.targets().find((h) => h.job === 'b')!.health).toBe('unknown');
    const hitsA = exporter.hits.get('/metrics?a')!;
    await waitFor(() => exporter.hits.get('/metrics?a')! >= hitsA + 2, 5000, 'a still scraped');
    await waitFor(
      async () => (await latest([eq('__name__', 'up'), eq('tier', 'gold')])).length === 1,
      5000,
      'b relabelled',
    );

    expect(scraper.apply([changedB])).toMatchObject({ removed: [`a ${a.url}`], unchanged: 1 });
    await new Promise((r) => setTimeout(r, 150));
    const stoppedAt = exporter.hits.get('/metrics?a')!;
    await new Promise((r) => setTimeout(r, 300));
    expect(exporter.hits.get('/metrics?a')).toBe(stoppedAt);
    expect(scraper.targets().map((h) => h.job)).toEqual(['b']);
  });

  it('stop() aborts a scrape in flight and records nothing for it', async () => {
    scraper = new Scraper({ sink: metrics, logger });
    scraper.apply([target({ job: 'hang', url: `${exporter.url}/hang`, timeout: 20_000, interval: 60_000 })]);
    const run = scraper.scrapeAll();
    await waitFor(() => exporter.hung.length === 1, 5000, 'the request to arrive');
    const started = performance.now();
    await scraper.stop();
    await run;
    await exporter.hung[0];
    expect(performance.now() - started).toBeLessThan(1000);
    expect(scraper.targets()[0]).toMatchObject({ health: 'unknown', lastScrape: null });
    expect(await latest([eq('__name__', 'up'), eq('job', 'hang')])).toEqual([]);
    scraper = undefined;
  });

  it('scrapes the example service and parses all of its metrics', async () => {
    let service: ExampleService | undefined;
    try {
      service = await startExampleService({ port: 0 });
      for (const path of ['/api/orders', '/api/orders/1', '/api/orders/404', '/actuator/health'])
        await fetch(`${service.url}${path}`).then((r) => r.arrayBuffer());
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const { parseExposition } = await import('./exposition-parser.js');
      const parsed = parseExposition(text);
      expect(parsed.errors).toEqual([]);
      expect(parsed.families.get('http_request_duration_seconds')?.type).toBe('histogram');

      scraper = new Scraper({ sink: metrics, logger });
      scraper.apply([target({ job: 'example', url: `${service.url}/metrics`, service: 'example-service' })]);
      await scraper.scrapeAll();
      const [health] = scraper.targets();
      expect(health).toMatchObject({ health: 'up', lastError: null });
      expect(health!.samples).toBeGreaterThanOrEqual(parsed.samples.length);

      const requests = await latest([eq('__name__', 'http_requests_total'), eq('job', 'example')]);
      const routes = requests.map((r) => `${r.labels.method} ${r.labels.route} ${r.labels.status}`);
      expect(routes).toContain('GET /api/orders 200');
      expect(routes).toContain('GET /api/orders/:id 404');
      expect(requests.every((r) => r.labels.service === 'example-service')).toBe(true);
      const buckets = await latest([
        eq('__name__', 'http_request_duration_seconds_bucket'),
        eq('route', '/api/orders'),
        eq('le', '+Inf'),
      ]);
      expect(buckets).toHaveLength(1);
      expect(buckets[0]!.v).toBeGreaterThanOrEqual(1);
      expect(await latest([eq('__name__', 'process_start_time_seconds'), eq('job', 'example')])).toHaveLength(
        1,
      );
    } finally {
      await service?.close();
    }
  });
});

describe('scraper helpers', () => {
  it('derives instance as host:port, with the default port when the URL has none', () => {
    expect(instanceOf('http://127.0.0.1:9100/metrics')).toBe('127.0.0.1:9100');
    expect(instanceOf('https://api.example.com/metrics')).toBe('api.example.com:443');
    expect(instanceOf('http://[::1]/metrics')).toBe('[::1]:80');
  });

  it('keeps a stable phase within the interval per target', () => {
    const p = phase('job http://a/metrics', 15_000);
    expect(p).toBe(phase('job http://a/metrics', 15_000));
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(15_000);
    const phases = new Set(Array.from({ length: 50 }, (_, i) => phase(`job http://h${i}/metrics`, 15_000)));
    expect(phases.size).toBeGreaterThan(40);
  });

  it('lets target labels win and keeps clashing scraped ones as exported_*', () => {
    expect(
      withTargetLabels({ job: 'x', instance: '', __meta: 'y', a: '1' }, { job: 'j', instance: 'i:1' }),
    ).toEqual({
      exported_job: 'x',
      a: '1',
      job: 'j',
      instance: 'i:1',
    });
  });
});
