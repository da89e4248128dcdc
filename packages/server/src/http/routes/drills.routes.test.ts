// The drills API in process, over a real backup of a real database restored by the real pg_restore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { createTestDatabase } from '../../../../../test/databases.js';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import type { BackupService } from '../../postgres/backup.service.js';
import { drillPolicySchema } from '../../postgres/drill.schema.js';
import { DrillService } from '../../postgres/drill.service.js';
import { backupServiceFor } from '../../postgres/drill.testing.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { drillRoutes } from './drills.routes.js';

describe('drills API', () => {
  let source: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestStore;
  let dir: string;
  let backups: BackupService;
  let drills: DrillService;

  beforeAll(async () => {
    source = await createTestDatabase(inject('postgresUrl'), 'drill_api');
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    await client.query(
      `CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) SELECT 'n' || g FROM generate_series(1, 50) g`,
    );
    await client.end();
    t = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-drills-api-'));
    backups = backupServiceFor({ store: t.store, dir, databases: [{ id: 'notes', url: source.url }] });
    await backups.run('notes');
    drills = new DrillService({
      store: t.store,
      backups,
      databases: [{ id: 'notes', url: source.url, drill: drillPolicySchema.parse({}) }],
      baseDir: dir,
      reportDir: join(dir, 'backups', 'drills'),
      logger: pino({ level: 'silent' }),
    });
  }, 60_000);

  afterAll(async () => {
    await drills.stop();
    await backups.stop();
    await t.cleanup();
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function app() {
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, pino({ level: 'silent' })));
    router.route('/api/v1', drillRoutes({ drills: () => drills }));
    return router;
  }
  const get = (path: string) => app().request(`/api/v1${path}`);
  const post = (path: string, body?: unknown) =>
    app().request(`/api/v1${path}`, {
      method: 'POST',
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });

  it('starts a drill (202), refuses a second one, and serves the report as JSON and Markdown', async () => {
    const started = await post('/databases/notes/drills', { actor: 'ann' });
    expect(started.status).toBe(202);
    const body = (await started.json()) as any;
    expect(body).toMatchObject({ status: 'running', database: 'notes', actor: 'ann', trigger: 'manual' });
    expect(started.headers.get('location')).toBe(`/api/v1/drills/${body.id}`);

    const again = await post('/databases/notes/drills');
    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error.message).toContain(
      `drill ${body.id} of notes is still running`,
    );

    // Progress is in GET while it runs; poll until it ends.
    let report: any;
    const deadline = Date.now() + 30_000;
    do {
      report = await (await get(`/drills/${body.id}`)).json();
      if (report.status === 'running') await new Promise((r) => setTimeout(r, 100));
    } while (report.status === 'running' && Date.now() < deadline);
    expect(report.status).toBe('passed');
    expect(report.tables).toEqual([{ schema: 'public', name: 'notes', expected: 50, actual: 50, ok: true }]);
    expect(report.rto.ms).toBeGreaterThan(0);

    const list = (await (await get('/drills?database=notes')).json()) as any;
    expect(list.items[0]).toMatchObject({ id: body.id, status: 'passed', problems: 0 });
    expect(((await (await get('/drills?database=other')).json()) as any).items).toEqual([]);

    const markdown = await get(`/drills/${body.id}/report.md`);
    expect(markdown.status).toBe(200);
    expect(markdown.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(await markdown.text()).toMatch(new RegExp(`^# Disaster-recovery drill ${body.id}: PASSED\\n`));
  });

  it('answers 404 for unknown databases and drills, 400 for bad input', async () => {
    const unknown = await post('/databases/nope/drills');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.message).toMatch(
      /no database "nope" in the config.*\(notes\)/,
    );
    expect((await get('/drills/drill-nope')).status).toBe(404);
    expect((await get('/drills/drill-nope/report.md')).status).toBe(404);
    const badActor = await post('/databases/notes/drills', { actor: '' });
    expect(badActor.status).toBe(400);
    expect(((await badActor.json()) as any).error.field).toBe('actor');
    expect((await get('/drills?limit=0')).status).toBe(400);
  });

  it('documents its routes in the OpenAPI document', () => {
    const doc = app().getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths!).sort()).toEqual([
      '/api/v1/databases/{id}/drills',
      '/api/v1/drills',
      '/api/v1/drills/{id}',
      '/api/v1/drills/{id}/report.md',
    ]);
  });
});
