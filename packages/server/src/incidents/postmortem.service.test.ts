import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import type { AlertSnapshot } from '../alerts/alert.types.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { PostmortemRepository } from '../storage/postmortem.repository.js';
import { IncidentService } from './incident.service.js';
import { PostmortemService } from './postmortem.service.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const MIN = 60_000;
const DAY = 86_400_000;

function critical(service: string): AlertSnapshot {
  return {
    fingerprint: `HighErrorRate-${service}`,
    labels: { alertname: 'HighErrorRate', severity: 'critical', service },
    annotations: {},
    status: 'firing',
    startsAt: T0,
    endsAt: null,
    generatorUrl: '',
    suppressedBy: { silences: [], inhibitedBy: [], maintenance: [] },
  };
}

describe.each(ENGINES)('post-mortems and action items on %s', (engine) => {
  let t: TestStore;
  let clock: number;
  let incidents: IncidentService;
  let postmortems: PostmortemService;

  beforeEach(async () => {
    clock = T0;
    t = await openTestStore(engine);
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

  it('drafts a post-mortem prefilled from the incident when it is resolved', async () => {
    incidents.update([critical('shop')]);
    await incidents.idle();
    clock += 5 * MIN;
    await incidents.acknowledge('INC-1', 'bob');
    await incidents.assign('INC-1', 'commander', 'bob', 'bob');
    await expect(postmortems.get('INC-1')).rejects.toThrow(
      /INC-1 has no post-mortem yet.*PUT \/api\/v1\/incidents\/INC-1\/postmortem/,
    );
    expect(await postmortems.draftResolved()).toEqual([]);

    clock += 75 * MIN;
    await incidents.resolve('INC-1', 'bob');
    expect(await postmortems.draftResolved()).toEqual(['INC-1']);
    expect(await postmortems.draftResolved()).toEqual([]);
    const draft = await postmortems.get('INC-1');
    expect(draft).toMatchObject({
      incidentId: 'INC-1',
      status: 'draft',
      author: 'bob',
      createdBy: 'opsbook',
      version: 1,
      rootCause: '',
      required: true,
      dueAt: clock + 5 * DAY,
      overdue: false,
      actionItems: [],
    });
    expect(draft.summary).toBe(
      'HighErrorRate on shop: a SEV2 incident affecting shop, detected 2026-11-26 09:00:00 UTC. It was acknowledged after 5m by bob and resolved after 1h20m.',
    );
    expect(draft.impact).toBe('Affected services: shop. Detection to resolution: 1h20m.');
    expect(draft.trigger).toBe('- Alert HighErrorRate on shop firing since 2026-11-26 09:00:00 UTC');

    clock += 5 * DAY + 1;
    expect((await postmortems.get('INC-1')).overdue).toBe(true);
  });

  it('drafts on its own once started, without anyone asking for the post-mortem', async () => {
    const sweeping = new PostmortemService({
      repository: new PostmortemRepository(t.store.db),
      incidents,
      config: incidentsSchema.parse({}),
      logger: pino({ level: 'silent' }),
      now: () => clock,
      sweepIntervalMs: 50,
    });
    sweeping.start();
    try {
      await incidents.create({ title: 'Checkout down', severity: 'SEV2', actor: 'ann' });
      await incidents.resolve('INC-1', 'ann');
      const row = await waitFor(
        () => new PostmortemRepository(t.store.db).get('INC-1'),
        10_000,
        'the sweep to draft INC-1',
      );
      expect(row).toMatchObject({ status: 'draft', created_by: 'opsbook' });
    } finally {
      await sweeping.stop();
    }
  });

  it('is started on demand, merges partial updates, refuses a stale version and publishes with a root cause', async () => {
    await incidents.create({ title: 'Checkout down', severity: 'SEV1', services: ['shop'], actor: 'ann' });
    let pm = await postmortems.update('INC-1', { summary: 'Checkout failed.', actor: 'carol' });
    expect(pm).toMatchObject({ status: 'draft', createdBy: 'carol', author: 'carol', version: 2 });
    expect(pm.trigger).toBe('Declared by ann.');

    clock += MIN;
    pm = await postmortems.update('INC-1', {
      rootCause: 'Pool too small.',
      lessons: { gotLucky: 'Low traffic.' },
      status: 'in-review',
      version: 2,
      actor: 'dan',
    });
    expect(pm).toMatchObject({
      summary: 'Checkout failed.',
      rootCause: 'Pool too small.',
      lessons: { wentWell: '', wentWrong: '', gotLucky: 'Low traffic.' },
      status: 'in-review',
      author: 'carol',
      updatedBy: 'dan',
      updatedAt: clock,
      version: 3,
    });
    const stale = postmortems.update('INC-1', { impact: 'x', version: 2, actor: 'eve' });
    await expect(stale).rejects.toThrow(ConflictError);
    await expect(stale).rejects.toThrow(/changed since version 2: it is version 3, saved by dan/);

    await expect(postmortems.update('INC-1', { status: 'published', actor: 'carol' })).rejects.toThrow(
      /INC-1 is still in detection; resolve it .* before publishing/,
    );
    await incidents.resolve('INC-1', 'carol');
    await expect(
      postmortems.update('INC-1', { status: 'published', rootCause: ' ', actor: 'carol' }),
    ).rejects.toMatchObject({ constructor: InputError, field: 'rootCause' });
    pm = await postmortems.update('INC-1', { status: 'published', actor: 'carol' });
    expect(pm).toMatchObject({
      status: 'published',
      publishedAt: clock,
      publishedBy: 'carol',
      overdue: false,
    });

    await incidents.close('INC-1', 'carol');
    await expect(postmortems.update('INC-1', { status: 'draft', actor: 'carol' })).rejects.toThrow(
      /INC-1 is closed; its post-mortem stays published/,
    );
    pm = await postmortems.update('INC-1', { resolution: 'Raised the pool.', actor: 'carol' });
    expect(pm).toMatchObject({ status: 'published', resolution: 'Raised the pool.' });
    await expect(postmortems.get('INC-9')).rejects.toThrow(NotFoundError);
  });

  it('refuses to close a SEV1 or SEV2 without a published post-mortem, whichever way it is closed', async () => {
    await incidents.create({ title: 'Checkout down', severity: 'SEV1', actor: 'ann' });
    await incidents.create({ title: 'Typo in docs', severity: 'SEV4', actor: 'ann' });
    await incidents.resolve('INC-1', 'ann');
    await incidents.resolve('INC-2', 'ann');

    const message =
      'INC-1 is SEV1 and its post-mortem is not started; publish the post-mortem first: PUT /api/v1/incidents/INC-1/postmortem {"status": "published", "actor": "<you>"} or opsbook incidents postmortem INC-1 --status published (severities needing one: incidents.postmortem.requiredFor)';
    await expect(incidents.close('INC-1', 'ann')).rejects.toThrow(message);
    await postmortems.draftResolved();
    await expect(incidents.setStage('INC-1', 'closed', 'ann')).rejects.toThrow(
      /post-mortem is draft; publish the post-mortem first/,
    );
    expect((await incidents.get('INC-1')).stage).toBe('post-incident');

    // Not required for SEV4, nor once the config drops SEV1.
    expect((await incidents.close('INC-2', 'ann')).stage).toBe('closed');
    postmortems.configure(incidentsSchema.parse({ postmortem: { requiredFor: ['SEV2'] } }));
    expect((await incidents.close('INC-1', 'ann')).stage).toBe('closed');
  });

  it('closes once the post-mortem is published', async () => {
    await incidents.create({ title: 'Checkout down', severity: 'SEV2', actor: 'ann' });
    await incidents.resolve('INC-1', 'ann');
    await postmortems.update('INC-1', { rootCause: 'Pool.', status: 'published', actor: 'ann' });
    expect((await incidents.close('INC-1', 'ann')).closedAt).toBe(clock);
  });

  it('tracks action items across incidents: owners, due dates, overdue, done and reopened', async () => {
    await incidents.create({ title: 'Checkout down', severity: 'SEV1', actor: 'ann' });
    await incidents.create({ title: 'Search slow', severity: 'SEV3', actor: 'ann' });
    const items = postmortems.actionItems;
    const a = await items.add('INC-1', {
      title: 'Alert on pool saturation',
      owner: 'bob',
      dueAt: '2026-11-27',
      priority: 'high',
      link: 'https://jira.example.com/browse/OPS-1',
      actor: 'ann',
    });
    expect(a).toMatchObject({
      id: 'AI-1',
      incidentId: 'INC-1',
      status: 'open',
      dueAt: Date.UTC(2026, 10, 27, 23, 59, 59, 999),
      overdue: false,
      createdBy: 'ann',
    });
    const b = await items.add('INC-1', { title: 'Load test', owner: 'carol', actor: 'ann' });
    expect(b).toMatchObject({ id: 'AI-2', priority: 'medium', dueAt: null });
    const c = await items.add('INC-2', {
      title: 'Add index',
      owner: 'bob',
      dueAt: '2026-11-26T12:00:00Z',
      actor: 'ann',
    });
    expect(c.id).toBe('AI-3');
    await expect(items.add('INC-7', { title: 'x', owner: 'bob', actor: 'ann' })).rejects.toThrow(
      NotFoundError,
    );
    await expect(
      items.add('INC-1', { title: 'x', owner: 'bob', dueAt: 'next week', actor: 'ann' }),
    ).rejects.toMatchObject({ field: 'dueAt' });

    clock = Date.UTC(2026, 10, 27, 8, 0, 0);
    // Soonest due first, undated last.
    let list = await items.list({ status: 'open' });
    expect(list.items.map((i) => [i.id, i.overdue])).toEqual([
      ['AI-3', true],
      ['AI-1', false],
      ['AI-2', false],
    ]);
    expect(list.total).toBe(3);
    expect((await items.list({ overdue: true })).items.map((i) => i.id)).toEqual(['AI-3']);
    expect((await items.list({ overdue: false })).items.map((i) => i.id)).toEqual(['AI-1', 'AI-2']);
    expect((await items.list({ owner: 'bob' })).items.map((i) => i.id)).toEqual(['AI-3', 'AI-1']);
    list = await items.list({ owner: 'bob', limit: 1 });
    expect([list.items.length, list.total]).toEqual([1, 2]);
    expect((await postmortems.actionItems.forIncident('INC-1')).map((i) => i.id)).toEqual(['AI-1', 'AI-2']);

    const done = await items.update('AI-3', { status: 'done', actor: 'bob' });
    expect(done).toMatchObject({ status: 'done', doneAt: clock, doneBy: 'bob', overdue: false });
    await expect(items.update('AI-3', { status: 'done', actor: 'bob' })).rejects.toThrow(
      /AI-3 is already done \(since 2026-11-27T08:00:00.000Z by bob\)/,
    );
    expect((await items.list({ overdue: true })).items).toEqual([]);
    const reopened = await items.update('AI-3', { status: 'open', owner: 'dan', dueAt: null, actor: 'ann' });
    expect(reopened).toMatchObject({ status: 'open', owner: 'dan', dueAt: null, doneAt: null, doneBy: null });
    await items.update('AI-2', { status: 'wont-do', actor: 'carol' });
    expect((await items.list({ status: 'wont-do' })).items.map((i) => [i.id, i.doneBy])).toEqual([
      ['AI-2', 'carol'],
    ]);
    await expect(items.update('AI-9', { status: 'done', actor: 'bob' })).rejects.toThrow(NotFoundError);

    // The post-mortem carries its incident's items.
    await incidents.resolve('INC-1', 'ann');
    expect((await postmortems.get('INC-1')).actionItems.map((i) => i.id)).toEqual(['AI-1', 'AI-2']);
    expect(await postmortems.markdown('INC-1')).toContain(
      "- [x] ~~AI-2 Load test~~ (won't do; owner: carol, priority: medium)",
    );
  });
});
