import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import { loadConfigText } from '../config/load.js';
import type { OpsbookConfig } from '../config/schema.js';
import { CheckService } from './check.service.js';
import { CheckQueries } from './check.queries.js';

const logger = pino({ level: 'silent' });

function config(target: Target, extra = ''): OpsbookConfig {
  const text = `
services:
  - name: shop
    owner: team-shop
    checks:
      - name: startup
        role: startup
        initialDelaySeconds: 0
        periodSeconds: 1
        failureThreshold: 30
        http: { url: "${target.url}/startup" }
      - name: live
        role: liveness
        initialDelaySeconds: 0
        periodSeconds: 1
        failureThreshold: 2
        http: { url: "${target.url}/live" }
      - name: ready
        role: readiness
        initialDelaySeconds: 0
        periodSeconds: 1
        failureThreshold: 2
        http: { url: "${target.url}/ready" }
${extra}`;
  const result = loadConfigText(text, 'test.yaml', {});
  if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
  return result.config;
}

// Every engine with probes on the main thread, and SQLite with probes on their own thread.
const MODES = [...ENGINES.map((engine) => [engine, false] as const), ['sqlite', true] as const];

describe.each(MODES)('checks on %s (probe thread: %s)', (engine, probeThread) => {
  let t: TestStore;
  let target: Target;
  let service: CheckService | undefined;
  beforeEach(async () => {
    t = await openTestStore(engine);
    target = await startTarget();
  });
  afterEach(async () => {
    await service?.stop();
    await target.close();
    await t.cleanup();
  });

  async function statusOf(id: string): Promise<string | undefined> {
    await service!.flush();
    const check = await new CheckQueries(t.store, service!.rollups).get(id);
    return check.status;
  }

  it('gates liveness and readiness on startup, then records transitions with reasons', async () => {
    target.status.set('/startup', 503);
    service = new CheckService({ store: t.store, logger, concurrency: 10, flushIntervalMs: 50, probeThread });
    await service.loadStoredState();
    await service.apply(config(target), '.');
    service.start();

    await waitFor(() => (target.hits.get('/startup') ?? 0) >= 2, 5000, 'startup probes');
    expect(target.hits.get('/live')).toBeUndefined();
    expect(target.hits.get('/ready')).toBeUndefined();

    target.status.set('/startup', 200);
    await waitFor(async () => (await statusOf('shop/ready')) === 'healthy', 8000, 'ready healthy');
    await waitFor(async () => (await statusOf('shop/live')) === 'healthy', 8000, 'live healthy');
    const startupHits = target.hits.get('/startup');

    target.status.set('/ready', 503);
    await waitFor(async () => (await statusOf('shop/ready')) === 'unhealthy', 8000, 'ready unhealthy');
    // Kubernetes stops the startup probe once it has succeeded.
    expect(target.hits.get('/startup')).toBe(startupHits);

    const queries = new CheckQueries(t.store, service.rollups);
    const events = await queries.eventList({ check: 'shop/ready', limit: 10 });
    expect(events.items[0]).toMatchObject({ kind: 'check.transition', severity: 'error', service: 'shop' });
    expect(events.items[0]!.message).toMatch(
      /readiness check shop\/ready is unhealthy \(was healthy\): 2 consecutive failures: HTTP 503/,
    );
    expect(events.items[0]!.data).toMatchObject({ from: 'healthy', to: 'unhealthy' });

    const services = await queries.services();
    expect(services).toEqual([
      expect.objectContaining({
        name: 'shop',
        status: 'unhealthy',
        checks: { total: 3, healthy: 2, unhealthy: 1, unknown: 0 },
      }),
    ]);

    const stats = await queries.stats('shop/ready', '1h');
    expect(stats.total).toBeGreaterThanOrEqual(3);
    expect(stats.failures).toBeGreaterThanOrEqual(2);
    expect(stats.availability).toBeLessThan(100);
    expect(stats.latency.p95).toBeGreaterThan(0);

    const results = await queries.results('shop/ready', Date.now() - 60_000, Date.now() + 1, 100);
    expect(results[0]).toMatchObject({ status: 'down', message: expect.stringMatching(/503/) });
  }, 30_000);

  it('reload keeps unchanged checks running, restarts changed ones, drops removed ones', async () => {
    service = new CheckService({ store: t.store, logger, concurrency: 10, flushIntervalMs: 50, probeThread });
    await service.apply(config(target), '.');
    service.start();
    await waitFor(async () => (await statusOf('shop/ready')) === 'healthy', 8000, 'healthy');
    await waitFor(async () => (await statusOf('shop/live')) === 'healthy', 8000, 'live healthy');
    const liveSince = service.state('shop/live')!.since;

    const changed = config(target).services[0]!;
    changed.checks = changed.checks.filter((c) => c.name !== 'startup');
    changed.checks[1] = {
      ...changed.checks[1]!,
      timing: { ...changed.checks[1]!.timing, failureThreshold: 5 },
    };
    const summary = await service.apply({ ...config(target), services: [changed] }, '.');
    expect(summary).toEqual({ added: [], changed: ['shop/ready'], removed: ['shop/startup'], unchanged: 1 });
    expect(service.state('shop/live')!.since).toBe(liveSince);
    expect(service.state('shop/live')!.status).toBe('healthy');
    expect(service.state('shop/ready')!.status).toBe('unknown');
    const listed = await new CheckQueries(t.store, service.rollups).list({ limit: 10 });
    expect(listed.items.map((c) => c.id)).toEqual(['shop/live', 'shop/ready']);
  }, 30_000);

  it('rewrites unchanged status rows only every few seconds, and lists the running state', async () => {
    service = new CheckService({ store: t.store, logger, concurrency: 10, flushIntervalMs: 50, probeThread });
    await service.apply(config(target), '.');
    service.start();
    await waitFor(async () => (await statusOf('shop/ready')) === 'healthy', 8000, 'healthy');
    const stored = new CheckQueries(t.store, service.rollups);
    const firstAt = (await stored.get('shop/ready')).lastResult!.at;
    await waitFor(() => service!.state('shop/ready')!.consecutiveSuccesses >= 3, 8000, 'two more runs');
    await service.flush();
    // Same health, same outcome: the row was not rewritten on every run...
    expect((await stored.get('shop/ready')).lastResult!.at).toBe(firstAt);
    // ...but what the API lists comes from the running service.
    const live = new CheckQueries(t.store, service.rollups, Date.now, (id) => service!.state(id));
    const fresh = await live.get('shop/ready');
    expect(fresh.lastResult!.at).toBeGreaterThan(firstAt);
    expect(fresh.consecutiveSuccesses).toBeGreaterThanOrEqual(3);
    expect((await live.list({ limit: 10 })).items.find((c) => c.id === 'shop/ready')).toMatchObject({
      lastResult: { at: fresh.lastResult!.at },
    });
  }, 30_000);

  it('resumes stored states after a restart instead of starting unknown', async () => {
    service = new CheckService({ store: t.store, logger, concurrency: 10, flushIntervalMs: 50, probeThread });
    await service.apply(config(target), '.');
    service.start();
    await waitFor(async () => (await statusOf('shop/ready')) === 'healthy', 8000, 'healthy');
    await service.stop();

    service = new CheckService({ store: t.store, logger, concurrency: 10, flushIntervalMs: 50, probeThread });
    await service.loadStoredState();
    await service.apply(config(target), '.');
    expect(service.state('shop/ready')!.status).toBe('healthy');
    expect(service.state('shop/startup')!.started).toBe(true);
  }, 30_000);

  it('a probe to an unresolvable host is a down result with the DNS error', async () => {
    service = new CheckService({ store: t.store, logger, concurrency: 10, probeThread });
    const cfg = config(
      target,
      `
  - name: ghost
    owner: nobody
    checks:
      - name: web
        http: { url: "http://no-such-host.invalid/" }
`,
    );
    await service.apply(cfg, '.');
    const outcome = await service.runNow('ghost/web');
    expect(outcome).toMatchObject({ status: 'down' });
    expect(outcome!.message).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
