// The databases API in process over a real PostgreSQL: listings, health, queries, maintenance runs,
// and cancel that refuses without confirmation and really cancels with it.
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  DatabaseSummary,
  DatabaseView,
  HealthReport,
  MaintenanceRunView,
  MaintenanceTaskView,
} from '@opsbook/contracts';
import { createTestDatabase } from '../../../../../test/databases.js';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import { databaseSchema } from '../../config/databases.schema.js';
import { DatabaseService } from '../../postgres/database.service.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { databaseRoutes } from './databases.routes.js';

const logger = pino({ level: 'silent' });

describe('databases API', () => {
  let db: { url: string; drop(): Promise<void> };
  let t: TestStore;
  let service: DatabaseService;
  let sleeper: pg.Client;
  let sleeperPid: number;
  let sleeping: Promise<unknown>;

  beforeAll(async () => {
    db = await createTestDatabase(inject('postgresUrl'), 'routes');
    t = await openTestStore('sqlite');
    service = new DatabaseService({ store: t.store, logger });
    service.apply(
      [
        databaseSchema.parse({
          id: 'main',
          url: db.url,
          service: 'shop',
          tags: ['orders'],
          thresholds: { longRunningQuery: '1s' },
        }),
      ],
      '.',
    );
    sleeper = new pg.Client({ connectionString: db.url });
    sleeper.on('error', () => {});
    await sleeper.connect();
    sleeperPid = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    sleeping = sleeper.query('SELECT pg_sleep(60)').catch((error: Error) => error);
  });
  afterAll(async () => {
    await sleeper.end().catch(() => {});
    await service.stop();
    await t.cleanup();
    await db.drop();
  });

  function app() {
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, logger));
    router.route('/api/v1', databaseRoutes({ databases: () => service }));
    return router;
  }
  const get = async (path: string) => {
    const response = await app().request(`/api/v1${path}`);
    return { status: response.status, body: (await response.json()) as any };
  };
  const post = async (path: string, body: unknown) => {
    const response = await app().request(`/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('lists databases before and after the first collection', async () => {
    let list = await get('/databases');
    expect(list.status).toBe(200);
    expect(list.body.items[0]).toMatchObject({ id: 'main', up: null, service: 'shop', tags: ['orders'] });
    await service.collect('main');
    list = await get('/databases');
    const item = DatabaseSummary.parse(list.body.items[0]);
    expect(item).toMatchObject({
      id: 'main',
      role: 'primary',
      up: true,
      inRecovery: false,
      connections: { max: 200 },
    });
    expect(item.sizeBytes).toBeGreaterThan(0);
    expect(item.url).toBe(db.url);
    const one = await get('/databases/main');
    expect(DatabaseView.parse(one.body).snapshot?.database).toBe('main');
  });

  it('documents every route in the OpenAPI document', () => {
    const doc = app().getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {}).sort()).toEqual([
      '/api/v1/databases',
      '/api/v1/databases/{id}',
      '/api/v1/databases/{id}/backends',
      '/api/v1/databases/{id}/backends/audit',
      '/api/v1/databases/{id}/backends/{pid}/cancel',
      '/api/v1/databases/{id}/backends/{pid}/terminate',
      '/api/v1/databases/{id}/health',
      '/api/v1/databases/{id}/maintenance',
      '/api/v1/databases/{id}/maintenance/runs',
      '/api/v1/databases/{id}/maintenance/runs/{run}',
      '/api/v1/databases/{id}/maintenance/{task}/runs',
      '/api/v1/databases/{id}/queries',
    ]);
  });

  it('unknown ids are 404 naming the configured ones', async () => {
    const missing = await get('/databases/nope/health');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('no database "nope"; configured: main');
  });

  it('health and long-running queries, collected on demand', async () => {
    const deadline = Date.now() + 10_000;
    let queries;
    do {
      queries = await get('/databases/main/queries?kind=long-running&refresh=true');
      expect(queries.status).toBe(200);
    } while (!queries.body.items.some((q: { pid: number }) => q.pid === sleeperPid) && Date.now() < deadline);
    expect(queries.body.items).toContainEqual(
      expect.objectContaining({ pid: sleeperPid, query: 'SELECT pg_sleep(60)' }),
    );
    const health = await get('/databases/main/health');
    const report = HealthReport.parse(health.body);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        id: `long-running:${sleeperPid}`,
        fix: expect.objectContaining({ destructive: true }),
      }),
    );
    expect((await get('/databases/main/queries?kind=nonsense')).status).toBe(400);
  });

  it('maintenance: tasks, a run started with 202, then its outcome', async () => {
    const tasks = await get('/databases/main/maintenance');
    expect(tasks.body.items.map((x: MaintenanceTaskView) => MaintenanceTaskView.parse(x).task)).toEqual([
      'vacuum-analyze',
      'size-review',
      'slow-query-review',
      'index-review',
    ]);
    const started = await post('/databases/main/maintenance/size-review/runs', { actor: 'ann' });
    expect(started.status).toBe(202);
    expect(MaintenanceRunView.parse(started.body)).toMatchObject({ status: 'running', actor: 'ann' });
    let run = started.body as MaintenanceRunView;
    const deadline = Date.now() + 10_000;
    while (run.status === 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      run = (await get(`/databases/main/maintenance/runs/${run.id}`)).body;
    }
    expect(run).toMatchObject({ status: 'succeeded', task: 'size-review' });
    const runs = await get('/databases/main/maintenance/runs?task=size-review');
    expect(runs.body.items[0].id).toBe(run.id);
    const bad = await post('/databases/main/maintenance/vacuum-full/runs', { actor: 'ann' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('task');
  });

  it('cancel: refused (and audited) without confirm, done with it', async () => {
    const refused = await post(`/databases/main/backends/${sleeperPid}/cancel`, { actor: 'ann' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'input', field: 'confirm' });
    expect(refused.body.error.message).toMatch(/destructive: send "confirm": true/);
    const backends = await get('/databases/main/backends');
    expect(backends.body.items.find((b: { pid: number }) => b.pid === sleeperPid)?.state).toBe('active');

    const done = await post(`/databases/main/backends/${sleeperPid}/cancel`, { actor: 'ann', confirm: true });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      pid: sleeperPid,
      action: 'cancel',
      signalled: true,
      stillRunning: false,
    });
    expect(String(await sleeping)).toMatch(/canceling statement/);

    const audit = await get('/databases/main/backends/audit');
    expect(audit.body.items.map((a: { outcome: string; source: string }) => [a.outcome, a.source])).toEqual([
      ['done', 'api'],
      ['refused', 'api'],
    ]);
    expect(
      (await post('/databases/main/backends/abc/terminate', { actor: 'ann', confirm: true })).status,
    ).toBe(400);
  });
});
