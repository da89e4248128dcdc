import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import { incidentsSchema } from '../../config/incidents.schema.js';
import { IncidentService } from '../../incidents/incident.service.js';
import { PostmortemService } from '../../incidents/postmortem.service.js';
import { IncidentRepository } from '../../storage/incident.repository.js';
import { PostmortemRepository } from '../../storage/postmortem.repository.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { incidentRoutes } from './incidents.routes.js';
import { postmortemRoutes } from './postmortems.routes.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('post-mortem, action item and report API', () => {
  let t: TestStore;
  let clock: number;
  let incidents: IncidentService;
  let postmortems: PostmortemService;

  beforeEach(async () => {
    clock = T0;
    t = await openTestStore('sqlite');
    const config = incidentsSchema.parse({});
    incidents = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config,
      logger: pino({ level: 'silent' }),
      now: () => clock,
      canClose: (incident) => postmortems.canClose(incident),
    });
    postmortems = new PostmortemService({
      repository: new PostmortemRepository(t.store.db),
      incidents,
      config,
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
    await incidents.load();
  });
  afterEach(async () => {
    await postmortems.stop();
    await incidents.stop();
    await t.cleanup();
  });

  function app() {
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, pino({ level: 'silent' })));
    router.route('/api/v1', incidentRoutes({ incidents: () => incidents }));
    router.route('/api/v1', postmortemRoutes({ postmortems: () => postmortems }));
    return router;
  }

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await app().request(`/api/v1${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      type,
      text,
      body: type.startsWith('application/json') ? (JSON.parse(text) as any) : undefined,
    };
  }

  it('refuses to close a SEV1 until its post-mortem is published, saying how', async () => {
    await call('POST', '/incidents', {
      title: 'Checkout down',
      severity: 'SEV1',
      services: ['shop'],
      actor: 'ann',
    });
    clock += 5 * MIN;
    await call('POST', '/incidents/INC-1/acknowledge', { actor: 'bob' });

    let r = await call('GET', '/incidents/INC-1/postmortem');
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/drafted when the incident is resolved/);

    clock += HOUR;
    await call('POST', '/incidents/INC-1/resolve', { actor: 'bob' });
    r = await call('POST', '/incidents/INC-1/close', { actor: 'bob' });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain(
      'publish the post-mortem first: PUT /api/v1/incidents/INC-1/postmortem {"status": "published"',
    );

    r = await call('GET', '/incidents/INC-1/postmortem');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'draft',
      version: 1,
      required: true,
      dueAt: clock + 5 * 24 * HOUR,
    });

    r = await call('PUT', '/incidents/INC-1/postmortem', { status: 'published', actor: 'bob' });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('rootCause');
    r = await call('PUT', '/incidents/INC-1/postmortem', { status: 'done', actor: 'bob' });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('status');

    r = await call('PUT', '/incidents/INC-1/postmortem', { impact: 'x', version: 7, actor: 'bob' });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/changed since version 7/);

    r = await call('PUT', '/incidents/INC-1/postmortem', {
      rootCause: 'The pool was too small.',
      lessons: { wentWell: 'Rollback was quick.' },
      status: 'published',
      version: 1,
      actor: 'bob',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'published', publishedBy: 'bob', version: 2 });

    r = await call('POST', '/incidents/INC-1/close', { actor: 'bob' });
    expect(r.status).toBe(200);
    expect(r.body.stage).toBe('closed');
  });

  it('serves the post-mortem as Markdown for Accept: text/markdown or ?format=markdown', async () => {
    await call('POST', '/incidents', { title: 'Search | slow', severity: 'SEV3', actor: 'ann' });
    await call('POST', '/incidents/INC-1/notes', { text: 'index missing\non orders', actor: 'carol' });
    await call('POST', '/incidents/INC-1/action-items', {
      title: 'Add the index',
      owner: 'carol',
      dueAt: '2026-12-01',
      actor: 'ann',
    });
    clock += HOUR;
    await call('POST', '/incidents/INC-1/resolve', { actor: 'ann' });

    const md = await call('GET', '/incidents/INC-1/postmortem', undefined, { accept: 'text/markdown' });
    expect(md.status).toBe(200);
    expect(md.type).toBe('text/markdown; charset=utf-8');
    expect(md.text.split('\n')[0]).toBe('# Post-mortem: INC-1 Search | slow');
    expect(md.text).toContain('| 2026-11-26 09:00:00 | note | carol | index missing<br>on orders |');
    expect(md.text).toContain('| 2026-11-26 10:00:00 | stage | ann | detection → post-incident |');
    expect(md.text).toContain('- [ ] AI-1 Add the index (owner: carol, priority: medium, due 2026-12-01)');
    expect(md.text).toContain('| Response target | breached (4h) |');

    const byParam = await call('GET', '/incidents/INC-1/postmortem?format=markdown');
    expect(byParam.text).toBe(md.text);
    const json = await call('GET', '/incidents/INC-1/postmortem', undefined, {
      accept: 'application/json, text/markdown',
    });
    expect(json.body.required).toBe(false);
    expect(json.body.actionItems.map((i: any) => i.id)).toEqual(['AI-1']);
  });

  it('adds, changes and lists action items across incidents with filters', async () => {
    await call('POST', '/incidents', { title: 'A', severity: 'SEV2', actor: 'ann' });
    await call('POST', '/incidents', { title: 'B', severity: 'SEV2', actor: 'ann' });
    let r = await call('POST', '/incidents/INC-1/action-items', {
      title: 'Alert on pool',
      owner: 'bob',
      dueAt: '2026-11-26T10:00:00Z',
      priority: 'high',
      link: 'https://jira.example.com/browse/OPS-1',
      actor: 'ann',
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: 'AI-1', dueAt: T0 + HOUR, overdue: false, status: 'open' });
    await call('POST', '/incidents/INC-2/action-items', { title: 'Runbook', owner: 'carol', actor: 'ann' });

    for (const [bad, field] of [
      [{ title: 'x', actor: 'ann' }, 'owner'],
      [{ title: 'x', owner: 'bob', link: 'javascript:alert(1)', actor: 'ann' }, 'link'],
      [{ title: 'x', owner: 'bob', dueAt: 'tomorrow', actor: 'ann' }, 'dueAt'],
      [{ title: 'x', owner: 'bob', priority: 'urgent', actor: 'ann' }, 'priority'],
    ] as const) {
      r = await call('POST', '/incidents/INC-1/action-items', bad);
      expect([r.status, r.body.error.field]).toEqual([400, field]);
    }
    expect(
      (await call('POST', '/incidents/INC-9/action-items', { title: 'x', owner: 'b', actor: 'a' })).status,
    ).toBe(404);

    clock += 2 * HOUR;
    r = await call('GET', '/action-items?status=open&overdue=true');
    expect(r.body).toMatchObject({ total: 1, items: [{ id: 'AI-1', overdue: true }] });
    r = await call('GET', '/action-items?owner=carol');
    expect(r.body.items.map((i: any) => i.id)).toEqual(['AI-2']);
    r = await call('GET', '/incidents/INC-1/action-items');
    expect(r.body.items.map((i: any) => i.id)).toEqual(['AI-1']);

    r = await call('PATCH', '/action-items/AI-1', { status: 'done', actor: 'bob' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'done', doneBy: 'bob', doneAt: clock, overdue: false });
    r = await call('PATCH', '/action-items/AI-1', { status: 'done', actor: 'bob' });
    expect(r.status).toBe(409);
    expect((await call('GET', '/action-items?overdue=true')).body.total).toBe(0);
    expect((await call('PATCH', '/action-items/AI-7', { status: 'done', actor: 'bob' })).status).toBe(404);
    expect((await call('PATCH', '/action-items/7', { status: 'done', actor: 'bob' })).body.error.field).toBe(
      'id',
    );
    expect((await call('GET', '/action-items?status=closed')).body.error.field).toBe('status');
  });

  it('reports MTTA and MTTR from incidents with known times', async () => {
    // Two SEV2s acknowledged after 10 and 30 minutes, resolved after 1 and 3 hours; a SEV1 never acknowledged.
    await call('POST', '/incidents', { title: 'A', severity: 'SEV2', services: ['shop'], actor: 'ann' });
    clock = T0 + 10 * MIN;
    await call('POST', '/incidents/INC-1/acknowledge', { actor: 'bob' });
    clock = T0 + HOUR;
    await call('POST', '/incidents/INC-1/resolve', { actor: 'bob' });
    await call('POST', '/incidents', { title: 'B', severity: 'SEV2', services: ['shop'], actor: 'ann' });
    clock = T0 + HOUR + 30 * MIN;
    await call('POST', '/incidents/INC-2/acknowledge', { actor: 'bob' });
    clock = T0 + 4 * HOUR;
    await call('POST', '/incidents/INC-2/resolve', { actor: 'bob' });
    await call('POST', '/incidents', { title: 'C', severity: 'SEV1', services: ['db'], actor: 'ann' });
    clock = T0 + 5 * HOUR;

    let r = await call('GET', '/reports/incidents?from=2026-11-26T09:00:00Z&to=2026-11-26T10:00:00Z');
    expect(r.status).toBe(200);
    expect(r.body.incidents.map((i: any) => i.id)).toEqual(['INC-1']);

    r = await call('GET', `/reports/incidents?from=${T0}`);
    expect(r.body.total).toMatchObject({
      count: 3,
      acknowledged: 2,
      resolved: 2,
      mtta: { mean: 20 * MIN, median: 20 * MIN, p90: 30 * MIN },
      mttr: { mean: 2 * HOUR, median: 2 * HOUR, p90: 3 * HOUR },
      response: { met: 2, breached: 1, pending: 0, compliance: 66.67 },
    });
    expect(r.body.bySeverity.map((s: any) => [s.severity, s.count, s.response.compliance])).toEqual([
      ['SEV1', 1, 0],
      ['SEV2', 2, 100],
    ]);
    expect(r.body.byService.map((s: any) => s.service)).toEqual(['db', 'shop']);

    r = await call('GET', `/reports/incidents?from=${T0}&service=shop&severity=SEV2`);
    expect(r.body.total.count).toBe(2);
    r = await call('GET', `/reports/incidents?from=${T0 + HOUR}&to=${T0}`);
    expect([r.status, r.body.error.field]).toEqual([400, 'from']);
    r = await call('GET', '/reports/incidents?from=yesterday');
    expect([r.status, r.body.error.field]).toEqual([400, 'from']);
  });

  it('describes every route in the OpenAPI document', () => {
    const doc = app().getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'test', version: '1' } });
    expect(Object.keys(doc.paths ?? {})).toEqual(
      expect.arrayContaining([
        '/api/v1/incidents/{id}/postmortem',
        '/api/v1/incidents/{id}/action-items',
        '/api/v1/action-items/{id}',
        '/api/v1/action-items',
        '/api/v1/reports/incidents',
      ]),
    );
    const get = doc.paths!['/api/v1/incidents/{id}/postmortem']!.get!;
    expect(Object.keys((get.responses?.['200'] as any).content)).toEqual([
      'application/json',
      'text/markdown',
    ]);
  });
});
