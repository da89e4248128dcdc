import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultController, FaultValidationError, faultsFromEnv, type Faults } from './faults.js';
import { DURATION_BUCKETS, MetricsRegistry } from './metrics.js';
import { startExampleService, type ExampleService, type ExampleServiceOptions } from './service.js';

const running: ExampleService[] = [];

async function start(options: ExampleServiceOptions = {}): Promise<ExampleService> {
  const service = await startExampleService({ port: 0, log: false, ...options });
  running.push(service);
  return service;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(running.splice(0).map((service) => service.close()));
});

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

function putFaults(service: ExampleService, body: unknown): Promise<{ status: number; body: unknown }> {
  return getJson(`${service.url}/admin/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function postOrder(service: ExampleService, body: unknown): Promise<{ status: number; body: unknown }> {
  return getJson(`${service.url}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The value of one sample line in a Prometheus text exposition, or undefined when absent. */
function sample(metricsText: string, name: string, labels: string): number | undefined {
  const prefix = `${name}{${labels}} `;
  const line = metricsText.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

const PROBES = [
  '/actuator/health',
  '/actuator/health/liveness',
  '/actuator/health/readiness',
  '/actuator/health/startup',
];

describe('health probes', () => {
  it('answer 200 UP with components by default', async () => {
    const service = await start();
    for (const probe of PROBES) {
      const { status, body } = await getJson(`${service.url}${probe}`);
      expect(status, probe).toBe(200);
      expect(body, probe).toMatchObject({ status: 'UP', components: expect.any(Object) });
    }
    const { body } = await getJson(`${service.url}/actuator/health`);
    expect(body).toMatchObject({
      components: {
        liveness: { status: 'UP' },
        readiness: { status: 'UP' },
        startup: { status: 'UP' },
      },
    });
  });

  it('readiness DOWN via PUT /admin/faults gives 503 on readiness and aggregate, liveness stays UP', async () => {
    const service = await start();
    const put = await putFaults(service, { readiness: 'DOWN' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ readiness: 'DOWN', liveness: 'UP' });

    const readiness = await getJson(`${service.url}/actuator/health/readiness`);
    expect(readiness.status).toBe(503);
    expect(readiness.body).toMatchObject({
      status: 'DOWN',
      components: { readinessState: { status: 'DOWN' } },
    });

    const aggregate = await getJson(`${service.url}/actuator/health`);
    expect(aggregate.status).toBe(503);
    expect(aggregate.body).toMatchObject({ status: 'DOWN', components: { readiness: { status: 'DOWN' } } });

    expect((await fetch(`${service.url}/actuator/health/liveness`)).status).toBe(200);
    expect((await fetch(`${service.url}/actuator/health/startup`)).status).toBe(200);

    const reset = await getJson(`${service.url}/admin/faults`, { method: 'DELETE' });
    expect(reset).toEqual({
      status: 200,
      body: { latencyMs: 0, errorRate: 0, liveness: 'UP', readiness: 'UP', startup: 'UP' },
    });
    expect((await fetch(`${service.url}/actuator/health/readiness`)).status).toBe(200);
    expect((await fetch(`${service.url}/actuator/health`)).status).toBe(200);
  });

  it.each(['liveness', 'startup'] as const)(
    '%s DOWN gives 503 on that probe and the aggregate only',
    async (probe) => {
      const service = await start({ faults: { [probe]: 'DOWN' } });
      expect((await fetch(`${service.url}/actuator/health/${probe}`)).status).toBe(503);
      expect((await fetch(`${service.url}/actuator/health`)).status).toBe(503);
      expect((await fetch(`${service.url}/actuator/health/readiness`)).status).toBe(200);
    },
  );

  it('startupDelayMs keeps startup and readiness DOWN until the delay has passed', async () => {
    const startedAt = performance.now();
    const service = await start({ startupDelayMs: 300 });

    const early = await getJson(`${service.url}/actuator/health/startup`);
    // Only meaningful if we really asked before the delay elapsed.
    expect(performance.now() - startedAt).toBeLessThan(300);
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ status: 'DOWN', components: { startupComplete: { status: 'DOWN' } } });
    expect((await fetch(`${service.url}/actuator/health/readiness`)).status).toBe(503);
    expect((await fetch(`${service.url}/actuator/health/liveness`)).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 330 - (performance.now() - startedAt))));

    const later = await getJson(`${service.url}/actuator/health/startup`);
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ status: 'UP' });
    expect((await fetch(`${service.url}/actuator/health/readiness`)).status).toBe(200);
    expect((await fetch(`${service.url}/actuator/health`)).status).toBe(200);
  });
});

describe('orders API', () => {
  it('lists, creates and fetches orders', async () => {
    const service = await start();
    const created = await postOrder(service, { item: 'grinder', quantity: 3 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), item: 'grinder', quantity: 3 });
    const { id } = created.body as { id: string };

    const one = await getJson(`${service.url}/api/orders/${id}`);
    expect(one).toEqual({ status: 200, body: created.body });

    const list = await getJson(`${service.url}/api/orders`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual(expect.arrayContaining([created.body]));

    const missing = await getJson(`${service.url}/api/orders/does-not-exist`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'order not found' });
  });

  it.each([
    [{ quantity: 1 }, 'item'],
    [{ item: '   ', quantity: 1 }, 'item'],
    [{ item: 42, quantity: 1 }, 'item'],
    [{ item: 'x'.repeat(201), quantity: 1 }, 'item'],
    [{ item: 'tea' }, 'quantity'],
    [{ item: 'tea', quantity: 0 }, 'quantity'],
    [{ item: 'tea', quantity: -2 }, 'quantity'],
    [{ item: 'tea', quantity: 1.5 }, 'quantity'],
    [{ item: 'tea', quantity: '2' }, 'quantity'],
    [[{ item: 'tea', quantity: 1 }], 'body'],
    ['{"item": "tea",', 'body'],
    ['', 'body'],
  ])('POST %j answers 400 naming %s', async (body, field) => {
    const service = await start();
    const before = await getJson(`${service.url}/api/orders`);
    const res = await postOrder(service, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.any(String), field });
    const after = await getJson(`${service.url}/api/orders`);
    expect(after.body).toEqual(before.body);
  });

  it('latencyMs delays /api/orders but not the probes', async () => {
    const service = await start();
    const fast = performance.now();
    expect((await fetch(`${service.url}/api/orders`)).status).toBe(200);
    expect(performance.now() - fast).toBeLessThan(200);

    expect((await putFaults(service, { latencyMs: 200 })).status).toBe(200);
    for (const [path, init] of [
      ['/api/orders', undefined],
      ['/api/orders/1', undefined],
      ['/api/orders', { method: 'POST', body: JSON.stringify({ item: 'tea', quantity: 1 }) }],
    ] as const) {
      const began = performance.now();
      const res = await fetch(`${service.url}${path}`, init);
      expect(res.status, path).toBeLessThan(300);
      expect(performance.now() - began, path).toBeGreaterThanOrEqual(200);
    }

    await putFaults(service, { latencyMs: 5_000 });
    const probe = performance.now();
    expect((await fetch(`${service.url}/actuator/health/liveness`)).status).toBe(200);
    expect(performance.now() - probe).toBeLessThan(2_000);
  });

  it('close() cuts an injected delay short instead of waiting for it', async () => {
    const service = await startExampleService({ port: 0, faults: { latencyMs: 60_000 } });
    const pending = fetch(`${service.url}/api/orders`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const began = performance.now();
    await service.close();
    expect(performance.now() - began).toBeLessThan(2_000);
    expect((await pending).status).toBe(503);
  });

  it('errorRate 1 answers 500 injected fault on every orders request, 0 never', async () => {
    const service = await start({ faults: { errorRate: 1 } });
    for (const res of [
      await getJson(`${service.url}/api/orders`),
      await getJson(`${service.url}/api/orders/1`),
      await postOrder(service, { item: 'tea', quantity: 1 }),
    ]) {
      expect(res).toEqual({ status: 500, body: { error: 'injected fault' } });
    }
    // probes, metrics and admin are not affected
    expect((await fetch(`${service.url}/actuator/health`)).status).toBe(200);
    expect((await fetch(`${service.url}/metrics`)).status).toBe(200);

    await putFaults(service, { errorRate: 0 });
    for (let i = 0; i < 20; i++) expect((await fetch(`${service.url}/api/orders`)).status).toBe(200);
  });

  it('errorRate between 0 and 1 fails exactly that fraction of requests', async () => {
    const service = await start({ faults: { errorRate: 0.25 } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await fetch(`${service.url}/api/orders`)).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(5);
    expect(statuses.filter((s) => s === 200)).toHaveLength(15);
  });
});

describe('fault administration', () => {
  it('GET /admin/faults shows the initial faults', async () => {
    const service = await start({ faults: { latencyMs: 10, readiness: 'DOWN' } });
    expect(await getJson(`${service.url}/admin/faults`)).toEqual({
      status: 200,
      body: { latencyMs: 10, errorRate: 0, liveness: 'UP', readiness: 'DOWN', startup: 'UP' },
    });
  });

  it.each([
    [{ errorRate: 1.5 }, 'errorRate'],
    [{ errorRate: '0.5' }, 'errorRate'],
    [{ errorRate: -0.1 }, 'errorRate'],
    [{ latencyMs: -1 }, 'latencyMs'],
    [{ latencyMs: 1.5 }, 'latencyMs'],
    [{ latencyMs: '100' }, 'latencyMs'],
    [{ latencyMs: 10_000_000 }, 'latencyMs'],
    [{ readiness: 'MAYBE' }, 'readiness'],
    [{ liveness: 'down' }, 'liveness'],
    [{ startup: null }, 'startup'],
    [{ bogus: 1 }, 'bogus'],
    [[], 'body'],
    ['not json', 'body'],
  ])('PUT %j answers 400 naming %s and changes nothing', async (body, field) => {
    const service = await start();
    const res = await putFaults(service, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field, error: expect.any(String) });
    expect(service.faults.get()).toEqual({
      latencyMs: 0,
      errorRate: 0,
      liveness: 'UP',
      readiness: 'UP',
      startup: 'UP',
    });
  });

  it('applies a partial update atomically', async () => {
    const service = await start();
    const res = await putFaults(service, { readiness: 'DOWN', errorRate: 5 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'errorRate' });
    expect(service.faults.get().readiness).toBe('UP');
    expect((await fetch(`${service.url}/actuator/health/readiness`)).status).toBe(200);
  });

  it('the returned controller changes the running service', async () => {
    const service = await start();
    service.faults.update({ liveness: 'DOWN' });
    expect((await fetch(`${service.url}/actuator/health/liveness`)).status).toBe(503);
    service.faults.reset();
    expect((await fetch(`${service.url}/actuator/health/liveness`)).status).toBe(200);
  });

  it('rejects invalid initial faults and options', async () => {
    await expect(startExampleService({ port: 0, faults: { errorRate: 2 } })).rejects.toThrow(/errorRate/);
    await expect(startExampleService({ port: -1 })).rejects.toThrow(/port/);
    await expect(startExampleService({ port: 0, startupDelayMs: -5 })).rejects.toThrow(/startupDelayMs/);
  });
});

describe('metrics', () => {
  it('counts and times every request by method, normalized route and status', async () => {
    const service = await start();
    const N = 4;
    for (let i = 0; i < N; i++) expect((await fetch(`${service.url}/api/orders`)).status).toBe(200);
    await fetch(`${service.url}/api/orders/1`);
    await fetch(`${service.url}/api/orders/2`);
    await fetch(`${service.url}/api/orders/999`);
    await fetch(`${service.url}/nope/${Math.random()}`);
    await fetch(`${service.url}/actuator/health/readiness`);
    await fetch(`${service.url}/metrics`); // counted, but only visible in the next scrape

    const res = await fetch(`${service.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();

    expect(text).toContain('# TYPE http_requests_total counter');
    expect(text).toContain('# HELP http_requests_total ');
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain('# HELP http_request_duration_seconds ');
    expect(text).toContain('# TYPE process_start_time_seconds gauge');
    expect(text.endsWith('\n')).toBe(true);

    const orders = 'method="GET",route="/api/orders",status="200"';
    expect(sample(text, 'http_requests_total', orders)).toBe(N);
    expect(sample(text, 'http_request_duration_seconds_count', orders)).toBe(N);
    expect(sample(text, 'http_request_duration_seconds_bucket', `${orders},le="+Inf"`)).toBe(N);
    expect(sample(text, 'http_request_duration_seconds_sum', orders)).toBeGreaterThan(0);

    const byId = 'method="GET",route="/api/orders/:id"';
    expect(sample(text, 'http_requests_total', `${byId},status="200"`)).toBe(2);
    expect(sample(text, 'http_requests_total', `${byId},status="404"`)).toBe(1);
    expect(sample(text, 'http_requests_total', 'method="GET",route="other",status="404"')).toBe(1);
    expect(
      sample(text, 'http_requests_total', 'method="GET",route="/actuator/health/readiness",status="200"'),
    ).toBe(1);
    expect(sample(text, 'http_requests_total', 'method="GET",route="/metrics",status="200"')).toBe(1);
    // raw ids and unknown paths never become label values
    expect(text).not.toMatch(/route="\/api\/orders\/(1|2|999)"/);
    expect(text).not.toContain('/nope');

    const processStart = Number(/^process_start_time_seconds (\S+)$/m.exec(text)?.[1]);
    expect(processStart).toBeGreaterThan(Date.now() / 1000 - 3600);
    expect(processStart).toBeLessThanOrEqual(Date.now() / 1000);
  });

  it('puts slow requests into the right histogram buckets', async () => {
    const service = await start({ faults: { latencyMs: 30 } });
    for (let i = 0; i < 3; i++) await fetch(`${service.url}/api/orders`);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const labels = 'method="GET",route="/api/orders",status="200"';

    const counts = DURATION_BUCKETS.map((le) =>
      sample(text, 'http_request_duration_seconds_bucket', `${labels},le="${le}"`),
    );
    expect(counts.every((c) => c !== undefined)).toBe(true);
    // cumulative: never decreasing, nothing at or below 25 ms, everything by +Inf
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1] ?? 0);
    expect(sample(text, 'http_request_duration_seconds_bucket', `${labels},le="0.025"`)).toBe(0);
    expect(sample(text, 'http_request_duration_seconds_bucket', `${labels},le="10"`)).toBe(3);
    expect(sample(text, 'http_request_duration_seconds_bucket', `${labels},le="+Inf"`)).toBe(3);
    expect(sample(text, 'http_request_duration_seconds_sum', labels)).toBeGreaterThanOrEqual(0.09);
  });

  it('renders valid exposition text with escaped label values', () => {
    const registry = new MetricsRegistry(1_700_000_000.5);
    registry.observeRequest({ method: 'GET', route: 'a"b\\c\nd', status: '200' }, 0.007);
    registry.observeRequest({ method: 'GET', route: 'a"b\\c\nd', status: '200' }, 20);
    const text = registry.render();
    const labels = 'method="GET",route="a\\"b\\\\c\\nd",status="200"';
    expect(text).toContain(`http_requests_total{${labels}} 2`);
    expect(text).toContain(`http_request_duration_seconds_bucket{${labels},le="0.005"} 0`);
    expect(text).toContain(`http_request_duration_seconds_bucket{${labels},le="0.01"} 1`);
    expect(text).toContain(`http_request_duration_seconds_bucket{${labels},le="10"} 1`);
    expect(text).toContain(`http_request_duration_seconds_bucket{${labels},le="+Inf"} 2`);
    expect(text).toContain(`http_request_duration_seconds_sum{${labels}} 20.007`);
    expect(text).toContain(`http_request_duration_seconds_count{${labels}} 2`);
    expect(text).toContain('process_start_time_seconds 1700000000.5');
    // every line is a comment or "name{labels} value" / "name value"
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{.*\})? [-+0-9.eInfNa]+)$/);
    }
  });
});

describe('other behaviour', () => {
  it('answers unknown routes with 404 JSON and wrong methods with 405', async () => {
    const service = await start();
    const res = await fetch(`${service.url}/does/not/exist`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ error: 'not found', path: '/does/not/exist' });

    const wrong = await fetch(`${service.url}/actuator/health`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });

  it('logs one JSON line per request when log is true, nothing when false', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const quiet = await start({ log: false });
    await fetch(`${quiet.url}/api/orders`);
    expect(lines.filter((l) => l.includes('"msg":"request"'))).toHaveLength(0);

    const loud = await start({ log: true });
    await fetch(`${loud.url}/api/orders/1?x=1`);
    await fetch(`${loud.url}/missing`);
    await vi.waitFor(() => expect(lines.filter((l) => l.includes('"msg":"request"'))).toHaveLength(2));
    const entries = lines
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => {
        expect(l.endsWith('\n')).toBe(true);
        return JSON.parse(l) as Record<string, unknown>;
      });
    expect(entries[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      path: '/api/orders/1',
      status: 200,
    });
    expect(entries[1]).toMatchObject({ msg: 'request', path: '/missing', status: 404 });
    for (const entry of entries) {
      expect(Date.parse(String(entry.time))).not.toBeNaN();
      expect(entry.durationMs).toEqual(expect.any(Number));
    }
  });
});

describe('faults module', () => {
  it('reads initial faults from the environment', () => {
    expect(
      faultsFromEnv({
        FAULT_LATENCY_MS: '250',
        FAULT_ERROR_RATE: '0.5',
        FAULT_LIVENESS: 'up',
        FAULT_READINESS: 'DOWN',
        FAULT_STARTUP: '',
      }),
    ).toEqual({
      latencyMs: 250,
      errorRate: 0.5,
      liveness: 'UP',
      readiness: 'DOWN',
    } satisfies Partial<Faults>);
    expect(faultsFromEnv({})).toEqual({});
  });

  it.each([
    ['FAULT_LATENCY_MS', 'soon'],
    ['FAULT_LATENCY_MS', '-5'],
    ['FAULT_LATENCY_MS', '1.5'],
    ['FAULT_ERROR_RATE', '2'],
    ['FAULT_ERROR_RATE', 'half'],
    ['FAULT_LIVENESS', 'sick'],
    ['FAULT_READINESS', 'yes'],
    ['FAULT_STARTUP', '0'],
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    let caught: unknown;
    try {
      faultsFromEnv({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FaultValidationError);
    expect((caught as FaultValidationError).field).toBe(name);
    expect((caught as Error).message).toContain(name);
  });

  it('injects errors deterministically', () => {
    const pattern = (rate: number): string => {
      const controller = new FaultController({ errorRate: rate });
      return Array.from({ length: 8 }, () => (controller.shouldInjectError() ? 'x' : '.')).join('');
    };
    expect(pattern(0)).toBe('........');
    expect(pattern(1)).toBe('xxxxxxxx');
    expect(pattern(0.5)).toBe('.x.x.x.x');
    expect(pattern(0.25)).toBe('...x...x');
  });
});
