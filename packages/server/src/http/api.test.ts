import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import { loadConfigText } from '../config/load.js';
import { CheckService } from '../checks/check.service.js';
import { CheckQueries } from '../checks/check.queries.js';
import { Lifecycle } from '../runtime/lifecycle.js';
import { SelfMetrics } from '../runtime/self-metrics.js';
import { UnavailableError } from '../errors.js';
import { createApp, type AppDeps } from './app.js';
import { tmpdir } from 'node:os';
import { testAuth } from '../../../../test/api-caller.js';
import { startAuth } from '../runtime/auth-parts.js';
import { authSchema } from '../auth/auth.schema.js';

const logger = pino({ level: 'silent' });

describe('REST API', () => {
  let t: TestStore;
  let target: Target;
  let checks: CheckService;
  let ready = true;
  const lifecycle = new Lifecycle();
  const metrics = new SelfMetrics();
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    t = await openTestStore('sqlite');
    target = await startTarget();
    target.status.set('/down', 503);
    const names = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const yaml = `
services:
  - name: api
    owner: team-api
    environment: staging
    tags: [public]
    checks:
${names.map((n, i) => `      - { name: ${n}, periodSeconds: 1, initialDelaySeconds: 0, failureThreshold: 1, http: { url: "${target.url}/${i < 3 ? 'down' : 'ok'}" } }`).join('\n')}
  - name: db
    owner: dba
    checks:
      - { name: port, role: liveness, initialDelaySeconds: 0, periodSeconds: 1, tcp: { host: 127.0.0.1, port: ${target.port} } }
`;
    const loaded = loadConfigText(yaml, 'api.yaml', {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    checks = new CheckService({
      store: t.store,
      logger,
      concurrency: 20,
      flushIntervalMs: 50,
      onRun: (d, o) => metrics.checksRun.inc({ kind: d.probe.kind, status: o.status }),
    });
    await checks.apply(loaded.config, '.');
    checks.start();
    const queries = new CheckQueries(t.store, checks.rollups);
    lifecycle.configLoaded = lifecycle.migrated = lifecycle.storeUp = lifecycle.accessReady = true;
    // Real access control over the test store; the calls below carry the test run's admin token.
    const access = await startAuth(t.store, authSchema.parse({}), process.env, tmpdir(), logger);
    const deps: Partial<AppDeps> = {
      lifecycle,
      logger,
      selfMetrics: metrics,
      version: 'test',
      queries: () => {
        if (!ready) throw new UnavailableError('the store is not reachable yet');
        return queries;
      },
      runCheck: (id, signal) => checks.runNow(id, signal),
      auth: () => access.auth,
      audit: () => access.audit,
      users: () => access.users,
      oidc: () => undefined,
    };
    // The other domains are not part of this test: each of them answers as if not started yet.
    app = createApp(
      new Proxy(deps, {
        get: (target, key: string) =>
          key in target
            ? target[key as keyof AppDeps]
            : () => {
                throw new UnavailableError('not in this test');
              },
      }) as AppDeps,
    );
    await waitFor(
      async () => {
        await checks.flush();
        const page = (await (
          await app.request('/api/v1/checks?limit=100', { headers: testAuth() })
        ).json()) as {
          items: { status: string }[];
        };
        return page.items.every((c) => c.status !== 'unknown');
      },
      10_000,
      'all checks known',
    );
  }, 30_000);

  afterAll(async () => {
    await checks.stop();
    await target.close();
    await t.cleanup();
  });

  const json = async (path: string, init?: RequestInit) => {
    const response = await app.request(path, { ...init, headers: { ...testAuth(), ...init?.headers } });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('lists checks with their current state, paginated with a cursor and a total', async () => {
    const first = await json('/api/v1/checks?limit=5');
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(13);
    expect(first.body.items).toHaveLength(5);
    expect(first.body.items[0]).toMatchObject({
      id: 'api/c00',
      service: 'api',
      kind: 'http',
      role: 'readiness',
      status: 'unhealthy',
      timing: { periodSeconds: 1, failureThreshold: 1 },
      lastResult: { status: 'down', message: expect.stringMatching(/503/) },
    });
    const seen = [...first.body.items];
    let cursor = first.body.nextCursor as string | null;
    while (cursor) {
      const page = await json(`/api/v1/checks?limit=5&cursor=${encodeURIComponent(cursor)}`);
      expect(page.body.total).toBe(13);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    expect(seen.map((c) => c.id)).toEqual([...new Set(seen.map((c) => c.id))]);
    expect(seen).toHaveLength(13);
  });

  it('filters checks by status, service, role and kind', async () => {
    expect(
      (await json('/api/v1/checks?status=unhealthy')).body.items.map((c: { id: string }) => c.id),
    ).toEqual(['api/c00', 'api/c01', 'api/c02']);
    expect((await json('/api/v1/checks?service=db')).body.total).toBe(1);
    expect((await json('/api/v1/checks?role=liveness&kind=tcp')).body.items[0].id).toBe('db/port');
  });

  it('answers 400 naming the field and the reason for bad parameters', async () => {
    const cases: [string, string, RegExp][] = [
      ['/api/v1/checks?limit=abc', 'limit', /number/i],
      ['/api/v1/checks?limit=0', 'limit', />=1|too small/i],
      ['/api/v1/checks?limit=20000', 'limit', /at most 10000/],
      ['/api/v1/checks?status=sick', 'status', /healthy/],
      ['/api/v1/checks/api/c03/stats?window=2h', 'window', /1h/],
      ['/api/v1/checks/api/c03/results?from=yesterday', 'from', /not a time/],
      ['/api/v1/checks/api/c03/results?from=2000&to=1000', 'from', /before/],
      ['/api/v1/events?cursor=abc', 'cursor', /nextCursor/],
    ];
    for (const [path, field, reason] of cases) {
      const { status, body } = await json(path);
      expect(status, path).toBe(400);
      expect(body.error.field, path).toBe(field);
      expect(body.error.message, path).toMatch(reason);
      expect(body.error.correlationId, path).toBeTruthy();
    }
  });

  it('shows one check, its results and its stats; 404 for unknown checks', async () => {
    const check = await json('/api/v1/checks/api/c05');
    expect(check.body).toMatchObject({
      id: 'api/c05',
      status: 'healthy',
      spec: { kind: 'http', method: 'GET' },
    });
    const results = await json(`/api/v1/checks/api/c05/results?from=${Date.now() - 60_000}`);
    expect(results.body.items.length).toBeGreaterThan(0);
    expect(results.body.items[0]).toMatchObject({ status: 'up', detail: { statusCode: 200 } });
    const stats = await json('/api/v1/checks/api/c00/stats?window=1h');
    expect(stats.body).toMatchObject({ checkId: 'api/c00', window: '1h', availability: 0 });
    expect(stats.body.total).toBeGreaterThan(0);
    const healthyStats = await json('/api/v1/checks/api/c05/stats?window=30d');
    expect(healthyStats.body.availability).toBe(100);
    expect(healthyStats.body.latency.p99).toBeGreaterThan(0);
    const missing = await json('/api/v1/checks/api/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/no check "api\/nope"/);
  });

  it('lists services with their health derived from their checks', async () => {
    const { body } = await json('/api/v1/services');
    expect(body.items).toEqual([
      expect.objectContaining({
        name: 'api',
        owner: 'team-api',
        environment: 'staging',
        tags: ['public'],
        status: 'unhealthy',
      }),
      expect.objectContaining({
        name: 'db',
        status: 'healthy',
        checks: { total: 1, healthy: 1, unhealthy: 0, unknown: 0 },
      }),
    ]);
  });

  it('lists events newest first with filters', async () => {
    const { body } = await json('/api/v1/events?kind=check.*&service=api&limit=2');
    expect(body.items).toHaveLength(2);
    expect(body.items[0].id).toBeGreaterThan(body.items[1].id);
    const next = await json(`/api/v1/events?kind=check.*&service=api&limit=2&cursor=${body.nextCursor}`);
    expect(next.body.items[0].id).toBeLessThan(body.items[1].id);
  });

  it('runs a check on demand without recording it', async () => {
    const { status, body } = await json('/api/v1/checks/db/port/run', { method: 'POST' });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      checkId: 'db/port',
      status: 'up',
      message: expect.stringMatching(/connected/),
    });
    expect((await json('/api/v1/checks/db/nope/run', { method: 'POST' })).status).toBe(404);
  });

  it('serves actuator probes with 200 for UP and 503 for DOWN', async () => {
    for (const group of ['liveness', 'readiness', 'startup']) {
      const { status, body } = await json(`/actuator/health/${group}`);
      expect(status).toBe(200);
      expect(body.status).toBe('UP');
    }
    lifecycle.storeUp = false;
    lifecycle.storeError = 'connect ECONNREFUSED';
    const down = await json('/actuator/health/readiness');
    expect(down.status).toBe(503);
    expect(down.body.components.store).toEqual({
      status: 'DOWN',
      details: { error: 'connect ECONNREFUSED' },
    });
    expect((await json('/actuator/health/liveness')).status).toBe(200);
    expect((await json('/actuator/health')).status).toBe(503);
    lifecycle.storeUp = true;
  });

  it('refuses anonymous callers before any route runs, but not the probes', async () => {
    const anonymous = await app.request('/api/v1/checks');
    expect(anonymous.status).toBe(401);
    expect((await app.request('/actuator/health/liveness')).status).toBe(200);
  });

  it('answers 503 with a retry hint while the store is not ready', async () => {
    ready = false;
    const { status, body } = await json('/api/v1/checks');
    ready = true;
    expect(status).toBe(503);
    expect(body.error.message).toMatch(/not reachable yet/);
  });

  it('exposes Prometheus metrics and the OpenAPI document', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/^# TYPE opsbook_checks_run_total counter$/m);
    expect(text).toMatch(/opsbook_checks_run_total\{kind="http",status="down"\} [1-9]/);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    const doc = await json('/api/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/checks',
        '/api/v1/checks/{service}/{check}/stats',
        '/api/v1/checks/{service}/{check}/results',
        '/api/v1/services',
        '/api/v1/events',
        '/actuator/health/readiness',
      ]),
    );
  });
});
