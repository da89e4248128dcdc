// The on-call routes in process over a real store: who is on call, shifts, overrides, policies, escalation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { oncallSchema } from '../config/oncall.schema.js';
import { errorResponse } from '../http/errors.js';
import { newRouter } from '../http/app.js';
import { oncallRoutes } from '../http/routes/oncall.routes.js';
import type { PageRequest } from '../incidents/incident-notifier.js';
import { IncidentService } from '../incidents/incident.service.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { OncallRepository } from '../storage/oncall.repository.js';
import { EscalationService } from './escalation.service.js';
import { OncallService } from './oncall.service.js';

// Wednesday 4 March 2026, 12:00 in Berlin (11:00 UTC).
const T0 = Date.UTC(2026, 2, 4, 11, 0);
const H = 3_600_000;
const logger = pino({ level: 'silent' });

const config = oncallSchema.parse({
  people: [
    { id: 'ann', name: 'Ann Example', notify: ['ann'] },
    { id: 'ben', name: 'Ben Example', notify: ['ben'] },
    { id: 'lea', name: 'Lea Lead', email: 'lea@example.com', notify: ['lea'] },
  ],
  schedules: [
    {
      id: 'primary',
      name: 'Primary',
      timeZone: 'Europe/Berlin',
      rotation: { type: 'daily', handoff: '09:00', start: '2026-03-02', participants: ['ann', 'ben'] },
    },
  ],
  escalationPolicies: [
    {
      id: 'default',
      levels: [{ notify: [{ schedule: 'primary' }], escalateAfter: '10m' }, { notify: [{ person: 'lea' }] }],
      repeat: 2,
    },
  ],
  defaultPolicy: 'default',
});

describe('on-call API', () => {
  let t: TestStore;
  let clock: number;
  let incidents: IncidentService;
  let escalations: EscalationService;
  let oncall: OncallService;
  const pages: PageRequest[] = [];

  beforeEach(async () => {
    clock = T0;
    pages.length = 0;
    t = await openTestStore('sqlite');
    incidents = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger,
      now: () => clock,
      onChanged: (incident, opened) => escalations.incidentChanged(incident, opened),
    });
    await incidents.load();
    oncall = new OncallService({ repository: new OncallRepository(t.store.db), config, now: () => clock });
    escalations = new EscalationService({
      repository: new OncallRepository(t.store.db),
      oncall,
      incidents,
      notifier: { page: async (p) => void pages.push(p), statusUpdate: async () => {} },
      logger,
      now: () => clock,
    });
    await escalations.load();
  });
  afterEach(async () => {
    await escalations.stop();
    await incidents.stop();
    await t.cleanup();
  });

  function app() {
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, logger));
    router.route('/api/v1', oncallRoutes({ oncall: () => oncall, escalations: () => escalations }));
    return router;
  }
  const get = async (path: string) => {
    const response = await app().request(`/api/v1${path}`);
    return { status: response.status, body: (await response.json()) as any };
  };
  const send = async (method: string, path: string, body?: unknown) => {
    const response = await app().request(`/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('GET /oncall: who is on call now, until the next handoff, and who is next', async () => {
    // Daily from Monday 2 March: ann, ben, ann (Wednesday 09:00 to Thursday 09:00 Berlin time).
    const now = await get('/oncall');
    expect(now.status).toBe(200);
    expect(now.body.at).toBe(T0);
    expect(now.body.items).toEqual([
      {
        id: 'primary',
        name: 'Primary',
        timeZone: 'Europe/Berlin',
        rotation: {
          type: 'daily',
          handoff: '09:00',
          handoffDay: 'monday',
          start: '2026-03-02',
          participants: ['ann', 'ben'],
        },
        current: {
          person: 'ann',
          personName: 'Ann Example',
          start: Date.UTC(2026, 2, 4, 8),
          end: Date.UTC(2026, 2, 5, 8),
          override: false,
          overrideId: null,
        },
        next: expect.objectContaining({ person: 'ben', start: Date.UTC(2026, 2, 5, 8) }),
      },
    ]);
    const before = await get(`/oncall?at=2026-03-01T12:00:00Z`);
    expect(before.body.items[0].current).toBeNull();
    expect(before.body.items[0].next.person).toBe('ann');
    expect((await get('/oncall?at=yesterday')).body.error.field).toBe('at');
  });

  it('GET shifts: a window, defaulting to the next 14 days; clear 400s and 404s', async () => {
    const list = await get(
      '/oncall/schedules/primary/shifts?from=2026-03-04T08:00:00Z&to=2026-03-06T08:00:00Z',
    );
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ schedule: 'primary', timeZone: 'Europe/Berlin' });
    expect(list.body.items.map((s: any) => s.person)).toEqual(['ann', 'ben']);
    const fortnight = await get('/oncall/schedules/primary/shifts');
    expect(fortnight.body.to - fortnight.body.from).toBe(14 * 24 * H);
    expect(fortnight.body.items).toHaveLength(15);

    const missing = await get('/oncall/schedules/nope/shifts');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/no schedule "nope" in oncall.schedules \(known: primary\)/);
    const backwards = await get(
      '/oncall/schedules/primary/shifts?from=2026-03-05T00:00:00Z&to=2026-03-04T00:00:00Z',
    );
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.field).toBe('to');
    const bad = await get('/oncall/schedules/primary/shifts?from=soon');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/from: "soon" is not a time/);
  });

  it('overrides: created in the schedule zone, shown as on call, deleted on record', async () => {
    // 14:00-18:00 Berlin time is 13:00-17:00 UTC.
    const created = await send('POST', '/oncall/schedules/primary/overrides', {
      person: 'ben',
      start: '2026-03-04T14:00',
      end: '2026-03-04T18:00',
      actor: 'ann',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      schedule: 'primary',
      person: 'ben',
      personName: 'Ben Example',
      start: Date.UTC(2026, 2, 4, 13),
      end: Date.UTC(2026, 2, 4, 17),
      createdBy: 'ann',
      deletedAt: null,
    });
    const during = await get(`/oncall?at=${Date.UTC(2026, 2, 4, 15)}`);
    expect(during.body.items[0].current).toMatchObject({
      person: 'ben',
      override: true,
      overrideId: created.body.id,
      end: Date.UTC(2026, 2, 4, 17),
    });
    // Ann is back after the override, then ben takes over at the handoff.
    expect(during.body.items[0].next).toMatchObject({ person: 'ann', start: Date.UTC(2026, 2, 4, 17) });
    const shifts = await get(
      '/oncall/schedules/primary/shifts?from=2026-03-04T08:00:00Z&to=2026-03-05T08:00:00Z',
    );
    expect(shifts.body.items.map((s: any) => [s.person, s.override])).toEqual([
      ['ann', false],
      ['ben', true],
      ['ann', false],
    ]);

    const deleted = await send('DELETE', `/oncall/overrides/${created.body.id}?actor=ben`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ deletedAt: T0, deletedBy: 'ben' });
    expect((await get(`/oncall?at=${Date.UTC(2026, 2, 4, 15)}`)).body.items[0].current.person).toBe('ann');
    const again = await send('DELETE', `/oncall/overrides/${created.body.id}`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already deleted by ben/);
    expect((await send('DELETE', '/oncall/overrides/nope')).status).toBe(404);
  });

  it('overrides: bad input names the field', async () => {
    const post = (body: Record<string, unknown>, schedule = 'primary') =>
      send('POST', `/oncall/schedules/${schedule}/overrides`, {
        person: 'ben',
        start: '2026-03-04T14:00',
        end: '2026-03-04T18:00',
        actor: 'ann',
        ...body,
      });
    const cases: [Record<string, unknown>, number, string, RegExp][] = [
      [{ person: 'zoe' }, 400, 'person', /no person "zoe" in oncall.people \(known: ann, ben, lea\)/],
      [{ start: 'after lunch' }, 400, 'start', /"after lunch" is not a date-time/],
      [{ end: '2026-03-04T13:00' }, 400, 'end', /the end must be after the start/],
      [{ start: '2026-03-01T09:00', end: '2026-03-02T09:00' }, 400, 'end', /would end in the past/],
    ];
    for (const [body, status, field, message] of cases) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error.field).toBe(field);
      expect(response.body.error.message).toMatch(message);
    }
    expect((await post({}, 'nope')).status).toBe(404);
  });

  it('GET /escalation-policies: levels with who each would page now', async () => {
    const list = await get('/escalation-policies');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      {
        id: 'default',
        default: true,
        services: [],
        repeat: 2,
        loops: 3,
        levels: [
          {
            level: 1,
            escalateAfter: 600_000,
            targets: [
              {
                kind: 'schedule',
                id: 'primary',
                name: 'Primary',
                onCallNow: { id: 'ann', name: 'Ann Example' },
              },
            ],
          },
          {
            level: 2,
            escalateAfter: 1_800_000,
            targets: [
              { kind: 'person', id: 'lea', name: 'Lea Lead', onCallNow: { id: 'lea', name: 'Lea Lead' } },
            ],
          },
        ],
      },
    ]);
  });

  it('GET /incidents/{id}/escalation: level, loop, next page and history', async () => {
    const incident = await incidents.create({ title: 'Orders API down', severity: 'SEV2', actor: 'ann' });
    await escalations.idle();
    await incidents.idle();
    const state = await get(`/incidents/${incident.id}/escalation`);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({
      incidentId: incident.id,
      policy: 'default',
      status: 'active',
      level: 1,
      loop: 1,
      loops: 3,
      levels: 2,
      startedAt: T0,
      nextAt: T0 + 600_000,
      next: { level: 2, loop: 1 },
    });
    expect(state.body.history).toEqual([
      {
        at: T0,
        level: 1,
        loop: 1,
        person: 'ann',
        personName: 'Ann Example',
        via: 'on call for Primary',
        receivers: ['ann'],
        reason: 'opened',
        status: 'sent',
        error: null,
      },
    ]);
    expect(pages.map((p) => p.target)).toEqual(['Ann Example (on call for Primary)']);
    expect((await get('/incidents/INC-9/escalation')).status).toBe(404);
    const bad = await get('/incidents/nine/escalation');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('id');
  });
});
