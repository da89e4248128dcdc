import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import pino from 'pino';
import { freePort } from '../../../../test/postgres-cluster.js';
import { createTestDatabase } from '../../../../test/databases.js';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import { ConfigInvalidError, Opsbook } from './opsbook.js';
import { testAuth } from '../../../../test/api-caller.js';

const logger = pino({ level: 'silent' });

function yaml(target: Target, storage: string, path = '/ok'): string {
  return `
storage:
  url: ${storage}
services:
  - name: web
    owner: team-web
    checks:
      - name: ready
        periodSeconds: 1
        initialDelaySeconds: 0
        failureThreshold: 1
        http: { url: "${target.url}${path}" }
      - name: port
        role: liveness
        periodSeconds: 1
        initialDelaySeconds: 0
        tcp: { host: 127.0.0.1, port: ${target.port} }
`;
}

describe('the Opsbook process', () => {
  let dir: string;
  let target: Target;
  let opsbook: Opsbook | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-runtime-'));
    target = await startTarget();
  });
  afterEach(async () => {
    await opsbook?.stop();
    opsbook = undefined;
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const response = await fetch(`${opsbook!.url}${path}`, { headers: testAuth() });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('refuses to start on an invalid config, listing every problem', async () => {
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(file, 'services:\n  - name: Bad\n    checks: [{ name: x }]\n');
    opsbook = new Opsbook({ configFile: file, port: 0, logger });
    const error = await opsbook.start().catch((e: unknown) => e);
    opsbook = undefined;
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).diagnostics.map((d) => d.path)).toEqual([
      'services[0].owner',
      'services[0].name',
      'services[0].checks[0]',
    ]);
  });

  it('starts, reports startup/readiness UP, reloads valid config on change and keeps running on invalid', async () => {
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(file, yaml(target, `sqlite:${join(dir, 'ops.db')}`));
    opsbook = new Opsbook({ configFile: file, port: 0, logger, watchConfig: true });
    await opsbook.start();
    await opsbook.ready();
    expect((await get('/actuator/health/startup')).status).toBe(200);
    expect((await get('/actuator/health/readiness')).body).toMatchObject({
      status: 'UP',
      components: { store: { status: 'UP' } },
    });
    await waitFor(
      async () => (await get('/api/v1/checks/web/ready')).body.status === 'healthy',
      8000,
      'healthy',
    );

    // An invalid file is rejected and the running config stays.
    writeFileSync(
      file,
      yaml(target, `sqlite:${join(dir, 'ops.db')}`).replace('owner: team-web', 'owner: ""'),
    );
    await waitFor(
      async () => (await get('/api/v1/events?kind=config.rejected')).body.items[0],
      5000,
      'rejection event',
    );
    expect((await get('/api/v1/checks')).body.total).toBe(2);
    expect((await get('/actuator/health/readiness')).status).toBe(200);

    // A valid change applies without restarting the unchanged check.
    // The unchanged check must be settled first, or its own first transition would move `since`.
    await waitFor(
      async () => (await get('/api/v1/checks/web/port')).body.status === 'healthy',
      8000,
      'port healthy',
    );
    const portSince = (await get('/api/v1/checks/web/port')).body.since;
    writeFileSync(file, yaml(target, `sqlite:${join(dir, 'ops.db')}`, '/broken'));
    target.status.set('/broken', 500);
    const reloaded = await waitFor(
      async () => (await get('/api/v1/events?kind=config.reloaded')).body.items[0],
      5000,
      'reload',
    );
    expect(reloaded.data).toMatchObject({ changed: ['web/ready'], unchanged: 1 });
    await waitFor(
      async () => (await get('/api/v1/checks/web/ready')).body.status === 'unhealthy',
      8000,
      'unhealthy',
    );
    expect((await get('/api/v1/checks/web/port')).body.since).toBe(portSince);
  }, 30_000);

  it('on stop: readiness DOWN first, in-flight probes cancelled, store closed', async () => {
    const file = join(dir, 'opsbook.yaml');
    target.delayMs = 60_000; // every HTTP probe hangs until cancelled
    writeFileSync(
      file,
      yaml(target, `sqlite:${join(dir, 'ops.db')}`).replace(
        'failureThreshold: 1',
        'failureThreshold: 1\n        timeoutSeconds: 60',
      ),
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger });
    await opsbook.start();
    await opsbook.ready();
    await waitFor(() => (target.hits.get('/ok') ?? 0) > 0, 5000, 'a probe in flight');
    const started = Date.now();
    const stopping = opsbook.stop();
    expect(opsbook.lifecycle.readiness().status).toBe('DOWN');
    await stopping;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(opsbook.lifecycle.storeUp).toBe(false);
    opsbook = undefined;
  }, 30_000);

  it('retries an unreachable PostgreSQL with backoff while readiness is DOWN, then becomes ready', async () => {
    const database = await createTestDatabase(inject('postgresUrl'));
    const realPort = Number(new URL(database.url).port);
    const proxyPort = await freePort();
    const url = new URL(database.url);
    url.port = String(proxyPort);
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(file, yaml(target, url.toString()));
    opsbook = new Opsbook({ configFile: file, port: 0, logger });
    await opsbook.start();

    const down = await get('/actuator/health/readiness');
    expect(down.status).toBe(503);
    await waitFor(
      async () => (await get('/actuator/health/readiness')).body.components.store.details?.error,
      5000,
      'store error',
    );
    const detail = (await get('/actuator/health/readiness')).body.components.store.details.error as string;
    expect(detail).toMatch(/ECONNREFUSED/);
    expect((await get('/actuator/health/liveness')).status).toBe(200);
    expect((await get('/api/v1/checks')).status).toBe(503);

    // PostgreSQL "comes back": a forwarder on the configured port.
    const proxy = await forward(proxyPort, realPort);
    try {
      await waitFor(
        async () => (await get('/actuator/health/readiness')).status === 200,
        15_000,
        'ready after retry',
      );
      await waitFor(async () => (await get('/api/v1/checks')).body.total === 2, 5000, 'checks listed');
    } finally {
      await opsbook.stop();
      opsbook = undefined;
      await proxy.close();
      await database.drop();
    }
  }, 40_000);
});

async function forward(listenPort: number, targetPort: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
