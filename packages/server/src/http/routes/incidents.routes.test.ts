import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import { incidentsSchema } from '../../config/incidents.schema.js';
import { IncidentService } from '../../incidents/incident.service.js';
import { IncidentRepository } from '../../storage/incident.repository.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { incidentRoutes } from './incidents.routes.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);

describe('incidents API', () => {
  let t: TestStore;
  let service: IncidentService;
  let clock: number;

  beforeEach(async () => {
    clock = T0;
    t = await openTestStore('sqlite');
    service = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
    await service.load();
  });
  afterEach(async () => {
    await service.stop();
    await t.cleanup();
  });

  function app() {
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, pino({ level: 'silent' })));
    router.route('/api/v1', incidentRoutes({ incidents: () => service }));
    return router;
  }

  const post = (path: string, body: unknown) =>
    app().request(`/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('creates, lists, shows and changes an incident', async () => {
    let response = await post('/incidents', {
      title: 'Checkout down',
      severity: 'SEV1',
      services: ['shop'],
      actor: 'ann',
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as any;
    expect(created).toMatchObject({ id: 'INC-1', stage: 'detection', responseDueAt: T0 + 15 * 60_000 });
    expect(created.seq).toBeUndefined();

    clock += 60_000;
    expect((await post('/incidents/INC-1/acknowledge', { actor: 'bob' })).status).toBe(200);
    expect(
      (await post('/incidents/INC-1/assign', { role: 'commander', person: 'bob', actor: 'bob' })).status,
    ).toBe(200);
    expect((await post('/incidents/INC-1/stage', { stage: 'investigation', actor: 'bob' })).status).toBe(200);
    expect((await post('/incidents/INC-1/notes', { text: 'rolled back', actor: 'carol' })).status).toBe(200);
    response = await post('/incidents/INC-1/resolve', { actor: 'bob' });
    expect(((await response.json()) as any).stage).toBe('post-incident');
    response = await post('/incidents/INC-1/close', { actor: 'bob' });
    expect(((await response.json()) as any).closedAt).toBe(clock);

    response = await app().request('/api/v1/incidents/INC-1');
    expect(response.status).toBe(200);
    const detail = (await response.json()) as any;
    expect(detail.commander).toBe('bob');
    expect(detail.acknowledgedBy).toBe('bob');
    expect(detail.timeline.map((e: any) => e.kind)).toEqual([
      'status',
      'ack',
      'stage',
      'assign',
      'stage',
      'note',
      'stage',
      'stage',
    ]);

    await post('/incidents', { title: 'Slow search', severity: 'SEV3', actor: 'ann' });
    const list = (await (await app().request('/api/v1/incidents?open=true')).json()) as any;
    expect(list.items.map((i: any) => i.id)).toEqual(['INC-2']);
    const sev1 = (await (await app().request('/api/v1/incidents?severity=SEV1&service=shop')).json()) as any;
    expect(sev1.items.map((i: any) => i.id)).toEqual(['INC-1']);
  });

  it('answers 400 naming the field, 404 for an unknown incident, 409 for an invalid stage move', async () => {
    let response = await post('/incidents', { title: 'x', severity: 'SEV9', actor: 'ann' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.field).toBe('severity');
    response = await post('/incidents', { title: '', severity: 'SEV2' });
    expect(((await response.json()) as any).error.field).toBe('title');
    response = await app().request('/api/v1/incidents?stage=done');
    expect(response.status).toBe(400);

    response = await app().request('/api/v1/incidents/INC-7');
    expect(response.status).toBe(404);
    response = await post('/incidents/INC-7/acknowledge', { actor: 'bob' });
    expect(response.status).toBe(404);

    await post('/incidents', { title: 'x', severity: 'SEV2', actor: 'ann' });
    response = await post('/incidents/INC-1/close', { actor: 'bob' });
    expect(response.status).toBe(409);
    response = await post('/incidents/INC-1/assign', {
      role: 'Incident Commander',
      person: 'x',
      actor: 'bob',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.field).toBe('role');
  });
});
