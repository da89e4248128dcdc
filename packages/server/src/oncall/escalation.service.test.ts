import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { oncallSchema } from '../config/oncall.schema.js';
import type { IncidentNotifier, PageRequest } from '../incidents/incident-notifier.js';
import { IncidentService } from '../incidents/incident.service.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { OncallRepository } from '../storage/oncall.repository.js';
import { EscalationService } from './escalation.service.js';
import { OncallService } from './oncall.service.js';

// Thursday 26 November 2026, 10:00 UTC: week 4 of rotations starting Monday 2 November.
const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);
const MIN = 60_000;
const logger = pino({ level: 'silent' });

const people = [
  { id: 'ann', name: 'Ann', notify: ['ann-phone'] },
  { id: 'ben', name: 'Ben', notify: ['ben-phone'] },
  { id: 'lea', name: 'Lea', notify: ['lea-mail', 'lea-phone'] },
];
const schedules = [
  // Weeks from 2 Nov: ann, ben, ann, ben, so ben is primary on 26 Nov and ann secondary.
  {
    id: 'primary',
    name: 'Primary',
    rotation: { type: 'weekly', start: '2026-11-02', participants: ['ann', 'ben'] },
  },
  { id: 'secondary', rotation: { type: 'weekly', start: '2026-11-02', participants: ['ben', 'ann'] } },
  { id: 'future', rotation: { type: 'daily', start: '2027-01-01', participants: ['ann'] } },
];
const team = (extra: Record<string, unknown> = {}) =>
  oncallSchema.parse({
    people,
    schedules,
    escalationPolicies: [
      {
        id: 'shop',
        services: ['shop'],
        repeat: 1,
        levels: [
          { notify: [{ schedule: 'primary' }], escalateAfter: '15m' },
          { notify: [{ schedule: 'secondary' }], escalateAfter: '15m' },
          { notify: [{ person: 'lea' }] },
        ],
      },
      {
        id: 'slow',
        services: ['billing'],
        levels: [
          { notify: [{ schedule: 'primary' }], escalateAfter: '30m' },
          { notify: [{ schedule: 'secondary' }], escalateAfter: '30m' },
        ],
      },
      {
        id: 'gap',
        services: ['batch'],
        levels: [{ notify: [{ schedule: 'future' }] }, { notify: [{ person: 'lea' }] }],
      },
    ],
    ...extra,
  });

class RecordingNotifier implements IncidentNotifier {
  pages: PageRequest[] = [];
  failWith: string | undefined;
  async page(request: PageRequest): Promise<void> {
    if (this.failWith) throw new Error(this.failWith);
    this.pages.push(request);
  }
  async statusUpdate(): Promise<void> {}
  /** [target person id, level, loop] of each page. */
  get log(): [string, number, number][] {
    return this.pages.map((p) => [p.receivers[0]!.split('-')[0]!, p.level, p.loop]);
  }
}

describe.each(ENGINES)('escalation on %s', (engine) => {
  let t: TestStore;
  let clock: number;
  let running: { incidents: IncidentService; escalations: EscalationService }[];

  beforeEach(async () => {
    clock = T0;
    running = [];
    t = await openTestStore(engine);
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      await r.escalations.stop();
      await r.incidents.stop();
    }
    await t.cleanup();
  });

  /** An incident service and an escalation service over the test store, as Opsbook wires them. */
  async function start(notifier: IncidentNotifier, config = team()) {
    // The hooks are wired before the escalation service exists, as in Opsbook.
    const wired: { escalations?: EscalationService } = {};
    const incidents = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger,
      now: () => clock,
      onChanged: (incident, opened) => wired.escalations?.incidentChanged(incident, opened),
      onBreach: (event) => wired.escalations?.breached(event),
    });
    await incidents.load();
    const oncall = new OncallService({
      repository: new OncallRepository(t.store.db),
      config,
      now: () => clock,
    });
    const escalations = new EscalationService({
      repository: new OncallRepository(t.store.db),
      oncall,
      incidents,
      notifier,
      logger,
      now: () => clock,
    });
    wired.escalations = escalations;
    await escalations.load();
    const r = { incidents, escalations, oncall };
    running.push(r);
    return r;
  }

  async function settle(r: { incidents: IncidentService; escalations: EscalationService }) {
    for (let i = 0; i < 3; i++) {
      await r.escalations.idle();
      await r.incidents.idle();
    }
  }

  async function at(r: { incidents: IncidentService; escalations: EscalationService }, minutes: number) {
    clock = T0 + minutes * MIN;
    await r.escalations.tick();
    await settle(r);
  }

  const open = async (
    r: { incidents: IncidentService; escalations: EscalationService },
    services: string[],
    severity: 'SEV1' | 'SEV2' | 'SEV3' = 'SEV3',
  ) => {
    const incident = await r.incidents.create({ title: 'Checkout fails', severity, services, actor: 'ann' });
    await settle(r);
    return incident.id;
  };

  const escalationEntries = async (r: { incidents: IncidentService }, id: string) =>
    (await r.incidents.get(id)).timeline.filter((e) => e.kind === 'escalation').map((e) => e.text);

  it('pages level 1 at once, each next level after escalateAfter, repeats the chain, then gives up', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    const id = await open(r, ['shop']);
    expect(notifier.log).toEqual([['ben', 1, 1]]);
    expect(notifier.pages[0]).toMatchObject({
      receivers: ['ben-phone'],
      target: 'Ben (on call for Primary)',
      incident: { id, title: 'Checkout fails' },
    });

    await at(r, 14);
    expect(notifier.log).toHaveLength(1);
    await at(r, 15);
    expect(notifier.log.at(-1)).toEqual(['ann', 2, 1]);
    await at(r, 29);
    expect(notifier.log).toHaveLength(2);
    await at(r, 30);
    expect(notifier.pages.at(-1)!.receivers).toEqual(['lea-mail', 'lea-phone']);
    // The last level waits the default 30m, then the chain runs a second time.
    for (const minute of [60, 75, 90]) await at(r, minute);
    expect(notifier.log).toEqual([
      ['ben', 1, 1],
      ['ann', 2, 1],
      ['lea', 3, 1],
      ['ben', 1, 2],
      ['ann', 2, 2],
      ['lea', 3, 2],
    ]);
    const active = await r.escalations.state(id);
    expect(active).toMatchObject({
      status: 'active',
      level: 3,
      loop: 2,
      loops: 2,
      next: null,
      nextAt: T0 + 120 * MIN,
    });

    await at(r, 119);
    expect((await r.escalations.state(id)).status).toBe('active');
    await at(r, 120);
    await at(r, 300);
    expect(notifier.log).toHaveLength(6);
    const entries = await escalationEntries(r, id);
    expect(entries[0]).toBe('Paged Ben (level 1, loop 1, on call for Primary)');
    expect(entries[2]).toBe('Paged Lea (level 3, loop 1)');
    expect(entries.at(-1)).toBe('Escalation exhausted after 2 loops: nobody acknowledged');
    const state = await r.escalations.state(id);
    expect(state).toMatchObject({ status: 'exhausted', policy: 'shop', nextAt: null });
    expect(state.history.map((p) => [p.person, p.level, p.loop, p.status, p.reason])).toEqual([
      ['ben', 1, 1, 'sent', 'opened'],
      ['ann', 2, 1, 'sent', 'timeout'],
      ['lea', 3, 1, 'sent', 'timeout'],
      ['ben', 1, 2, 'sent', 'timeout'],
      ['ann', 2, 2, 'sent', 'timeout'],
      ['lea', 3, 2, 'sent', 'timeout'],
    ]);
  });

  it('stops paging once acknowledged, and once the incident is resolved', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    const acked = await open(r, ['shop']);
    clock = T0 + 5 * MIN;
    await r.incidents.acknowledge(acked, 'ben');
    await settle(r);
    await at(r, 120);
    expect(notifier.log).toEqual([['ben', 1, 1]]);
    expect((await escalationEntries(r, acked)).at(-1)).toBe(
      'Escalation stopped at level 1: acknowledged by ben',
    );
    expect((await r.escalations.state(acked)).status).toBe('acknowledged');

    const resolved = await open(r, ['shop']);
    await at(r, 135);
    await r.incidents.resolve(resolved, 'ann');
    await settle(r);
    await at(r, 400);
    expect(notifier.log).toEqual([
      ['ben', 1, 1],
      ['ben', 1, 1],
      ['ann', 2, 1],
    ]);
    expect((await escalationEntries(r, resolved)).at(-1)).toBe(
      'Escalation stopped at level 2: the incident moved to post-incident',
    );
    expect((await r.escalations.state(resolved)).status).toBe('ended');
  });

  it('carries on after a restart without paging a level again', async () => {
    const before = new RecordingNotifier();
    const first = await start(before);
    const id = await open(first, ['shop']);
    await at(first, 15);
    expect(before.log).toEqual([
      ['ben', 1, 1],
      ['ann', 2, 1],
    ]);
    for (const r of running.splice(0)) {
      await r.escalations.stop();
      await r.incidents.stop();
    }

    const after = new RecordingNotifier();
    const second = await start(after);
    await at(second, 20);
    expect(after.log).toEqual([]);
    await at(second, 30);
    expect(after.log).toEqual([['lea', 3, 1]]);
    const state = await second.escalations.state(id);
    expect(state.history.map((p) => p.person)).toEqual(['ben', 'ann', 'lea']);
  });

  it('a missed response target pages the next level at once, and never exhausts the chain early', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    // SEV1 must be acknowledged within 15 minutes; the policy waits 30 before level 2.
    const id = await open(r, ['billing'], 'SEV1');
    clock = T0 + 15 * MIN;
    await r.incidents.tick();
    await settle(r);
    expect(notifier.log).toEqual([
      ['ben', 1, 1],
      ['ann', 2, 1],
    ]);
    const entries = await escalationEntries(r, id);
    expect(entries.at(-1)).toBe('Paged Ann (level 2, on call for secondary, response target missed)');
    const incident = await r.incidents.get(id);
    expect(incident.responseBreachedAt).toBe(T0 + 15 * MIN);
    // The wait for the next step restarts from the breach page: exhaustion at 15 + 30 minutes.
    expect((await r.escalations.state(id)).nextAt).toBe(T0 + 45 * MIN);
    r.escalations.breached({ incident, target: 'response', at: clock });
    await settle(r);
    expect(notifier.log).toHaveLength(2);
    expect((await r.escalations.state(id)).status).toBe('active');
    await at(r, 45);
    expect((await r.escalations.state(id)).status).toBe('exhausted');
  });

  it('pages whoever is on call at that moment, overrides included', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    await r.oncall.addOverride({
      scheduleId: 'primary',
      person: 'lea',
      start: T0 - 60 * MIN,
      end: T0 + 10 * MIN,
      actor: 'ben',
    });
    await open(r, ['shop']);
    expect(notifier.pages[0]!.target).toBe('Lea (on call for Primary)');
    // Past the override the rotation (ben) is back for the second loop.
    for (const minute of [15, 30, 60]) await at(r, minute);
    expect(notifier.log).toEqual([
      ['lea', 1, 1],
      ['ann', 2, 1],
      ['lea', 3, 1],
      ['ben', 1, 2],
    ]);
  });

  it('an incident no policy covers pages nobody; the default policy takes the rest', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    const unpaged = await open(r, ['web']);
    expect(notifier.pages).toEqual([]);
    const state = await r.escalations.state(unpaged);
    expect(state.status).toBe('none');
    expect(state.detail).toMatch(
      /no escalation policy names its services \(web\) and oncall.defaultPolicy is not set/,
    );
    await expect(r.escalations.state('INC-99')).rejects.toThrow(/no incident INC-99/);

    r.oncall.configure(team({ defaultPolicy: 'slow' }));
    const paged = await open(r, ['web']);
    expect(notifier.log).toEqual([['ben', 1, 1]]);
    expect((await r.escalations.state(paged)).policy).toBe('slow');
  });

  it('a level with nobody to page moves on to the next at once', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    const id = await open(r, ['batch']);
    expect(notifier.log).toEqual([['lea', 2, 1]]);
    expect(await escalationEntries(r, id)).toEqual([
      'Level 1: nobody to page (nobody on call for future); escalating to the next level at once',
      'Paged Lea (level 2)',
    ]);
    const state = await r.escalations.state(id);
    expect(state.history.map((p) => [p.level, p.status])).toEqual([
      [1, 'nobody'],
      [2, 'sent'],
    ]);
  });

  it('a failed page is on the timeline and the chain goes on', async () => {
    const notifier = new RecordingNotifier();
    notifier.failWith = 'receiver ben-phone is not configured';
    const r = await start(notifier);
    const id = await open(r, ['shop']);
    notifier.failWith = undefined;
    await at(r, 15);
    expect(notifier.log).toEqual([['ann', 2, 1]]);
    const entries = await escalationEntries(r, id);
    expect(entries[0]).toBe(
      'Paging Ben failed (level 1, loop 1, on call for Primary): receiver ben-phone is not configured',
    );
    const state = await r.escalations.state(id);
    expect(state.history[0]).toMatchObject({
      status: 'failed',
      error: 'receiver ben-phone is not configured',
    });
  });

  it('a page stored but never handed to the notifier goes out after a restart', async () => {
    // The notifier never answers: as if the process died between storing the page and sending it.
    let called = false;
    const stuck: IncidentNotifier = {
      page: () => {
        called = true;
        return new Promise(() => {});
      },
      statusUpdate: async () => {},
    };
    const first = await start(stuck);
    void first.incidents.create({ title: 'Disk full', severity: 'SEV3', services: ['shop'], actor: 'ann' });
    await expect.poll(() => called).toBe(true);
    running.splice(0); // the stuck instance is abandoned, not stopped

    const notifier = new RecordingNotifier();
    const second = await start(notifier);
    await settle(second);
    expect(notifier.log).toEqual([['ben', 1, 1]]);
    await at(second, 10);
    expect(notifier.log).toHaveLength(1);
    const state = await second.escalations.state('INC-1');
    expect(state.history.map((p) => p.status)).toEqual(['sent']);
  });

  it('pages nobody for changes the incident service reports after on-call stopped', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(notifier);
    await r.escalations.stop();
    // What incidents.stop() may still do: report an incident that opened while on-call was stopping.
    const id = await open(r, ['shop']);
    await r.escalations.tick();
    await settle(r);
    expect(notifier.log).toEqual([]);
    expect((await r.escalations.state(id)).status).toBe('none');
  });

  it('an acknowledgement during a step stops the pages that step has not sent yet', async () => {
    const notifier = new RecordingNotifier();
    const r = await start(
      notifier,
      team({
        escalationPolicies: [
          { id: 'pair', services: ['pair'], levels: [{ notify: [{ person: 'ann' }, { person: 'ben' }] }] },
        ],
      }),
    );
    // Ann answers her page at once; the step read the incident before and would page Ben next.
    const page = notifier.page.bind(notifier);
    notifier.page = async (request) => {
      await page(request);
      await r.incidents.acknowledge(request.incident.id, 'ann');
    };
    const id = await open(r, ['pair']);
    await settle(r);
    expect(notifier.log).toEqual([['ann', 1, 1]]);
    const state = await r.escalations.state(id);
    expect(state.status).toBe('acknowledged');
    expect(state.history.map((p) => [p.person, p.status, p.error])).toEqual([
      ['ann', 'sent', null],
      ['ben', 'failed', 'not sent: the incident was acknowledged or ended first'],
    ]);
  });
});
