import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import type { AlertSnapshot } from '../alerts/alert.types.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { IncidentService } from './incident.service.js';
import type { BreachEvent } from './incident.types.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const MIN = 60_000;

function alert(
  labels: Record<string, string>,
  status: 'firing' | 'resolved' = 'firing',
  overrides: Partial<AlertSnapshot> = {},
): AlertSnapshot {
  return {
    fingerprint: Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    labels,
    annotations: {},
    status,
    startsAt: T0,
    endsAt: status === 'resolved' ? T0 + MIN : null,
    generatorUrl: '',
    suppressedBy: { silences: [], inhibitedBy: [], maintenance: [] },
    ...overrides,
  };
}

const critical = (service: string, extra: Record<string, string> = {}) =>
  alert({ alertname: 'HighErrorRate', severity: 'critical', service, ...extra });

describe.each(ENGINES)('incidents on %s', (engine) => {
  let t: TestStore;
  let clock: number;
  let breaches: BreachEvent[];
  const services: IncidentService[] = [];

  async function service(config: Record<string, unknown> = {}): Promise<IncidentService> {
    const s = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse(config),
      logger: pino({ level: 'silent' }),
      now: () => clock,
      onBreach: (event) => breaches.push(event),
    });
    await s.load();
    services.push(s);
    return s;
  }

  async function feed(s: IncidentService, ...alerts: AlertSnapshot[]) {
    s.update(alerts);
    await s.idle();
  }

  beforeEach(async () => {
    clock = T0;
    breaches = [];
    t = await openTestStore(engine);
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    await t.cleanup();
  });

  it('opens a SEV2 incident from a critical alert and a SEV1 from ServiceUnavailable', async () => {
    const s = await service();
    await feed(
      s,
      critical('shop'),
      alert({ alertname: 'ServiceUnavailable', severity: 'critical', service: 'billing' }),
    );
    const list = await s.list();
    expect(list.map((i) => [i.id, i.severity, i.services, i.stage])).toEqual([
      ['INC-2', 'SEV1', ['billing'], 'detection'],
      ['INC-1', 'SEV2', ['shop'], 'detection'],
    ]);
    const inc = await s.get('INC-1');
    expect(inc.createdBy).toBe('opsbook');
    expect(inc.responseDueAt).toBe(T0 + 60 * MIN);
    expect((await s.get('INC-2')).responseDueAt).toBe(T0 + 15 * MIN);
    expect(inc.alerts).toHaveLength(1);
    expect(inc.timeline.map((e) => e.kind)).toEqual(['status', 'alert.firing']);
  });

  it('joins the open incident of the same service and alert group; another service opens its own', async () => {
    const s = await service();
    await feed(s, critical('shop', { instance: 'a' }));
    clock += MIN;
    await feed(s, critical('shop', { instance: 'b' }), critical('web'));
    const list = await s.list();
    expect(list).toHaveLength(2);
    const shop = await s.get('INC-1');
    expect(shop.alerts.map((a) => a.labels.instance)).toEqual(['a', 'b']);
    expect(shop.timeline.filter((e) => e.kind === 'alert.firing')).toHaveLength(2);
    expect((await s.get('INC-2')).services).toEqual(['web']);
  });

  it('opens nothing for warnings or suppressed alerts', async () => {
    const s = await service();
    await feed(
      s,
      alert({ alertname: 'HighLatency', severity: 'warning', service: 'shop' }),
      critical('shop', {}),
    );
    expect(await s.list()).toHaveLength(1);
    const silenced = critical('web');
    silenced.suppressedBy.silences.push('s1');
    await feed(s, silenced);
    expect(await s.list()).toHaveLength(1);
  });

  it('uses configured mapping rules', async () => {
    const s = await service({ mapping: [{ matchers: ['severity="warning"'], severity: 'SEV4' }] });
    await feed(s, alert({ alertname: 'HighLatency', severity: 'warning', service: 'shop' }), critical('x'));
    const list = await s.list();
    expect(list.map((i) => i.severity)).toEqual(['SEV4']);
  });

  it('does not close when its alerts resolve; a person resolves and closes it', async () => {
    const s = await service();
    await feed(s, critical('shop'));
    clock += 5 * MIN;
    await feed(s, { ...critical('shop'), status: 'resolved', endsAt: clock });
    clock += 24 * 60 * MIN;
    await s.tick();
    let inc = await s.get('INC-1');
    expect(inc.stage).toBe('detection');
    expect(inc.alerts[0]!.status).toBe('resolved');
    expect(inc.alertsResolvedAt).toBe(T0 + 5 * MIN);
    expect(inc.timeline.map((e) => e.kind)).toContain('alert.resolved');
    await s.resolve('INC-1', 'alice');
    await s.close('INC-1', 'alice');
    inc = await s.get('INC-1');
    expect(inc.stage).toBe('closed');
    expect(inc.closedAt).toBe(clock);
    expect(await s.list({ open: true })).toHaveLength(0);
  });

  it('auto-resolves after the configured delay once all linked alerts resolved', async () => {
    const s = await service({ autoResolveAfter: '30m' });
    await feed(s, critical('shop', { instance: 'a' }), critical('shop', { instance: 'b' }));
    clock += MIN;
    await feed(s, { ...critical('shop', { instance: 'a' }), status: 'resolved', endsAt: clock });
    clock += 60 * MIN;
    await s.tick();
    expect((await s.get('INC-1')).stage).toBe('detection'); // b still fires
    await feed(s, { ...critical('shop', { instance: 'b' }), status: 'resolved', endsAt: clock });
    const resolvedAt = clock;
    clock += 29 * MIN;
    await s.tick();
    expect((await s.get('INC-1')).stage).toBe('detection');
    clock += MIN;
    await s.tick();
    const inc = await s.get('INC-1');
    expect(inc.stage).toBe('post-incident');
    expect(inc.resolvedAt).toBe(resolvedAt + 30 * MIN);
    expect(inc.stageHistory.at(-1)).toEqual({ stage: 'post-incident', at: clock, by: 'opsbook' });
  });

  it('a resolved alert firing again before auto-resolve keeps the incident open', async () => {
    const s = await service({ autoResolveAfter: '10m' });
    await feed(s, critical('shop'));
    await feed(s, { ...critical('shop'), status: 'resolved', endsAt: clock });
    clock += 5 * MIN;
    await feed(s, critical('shop'));
    clock += 10 * MIN;
    await s.tick();
    const inc = await s.get('INC-1');
    expect(inc.stage).toBe('detection');
    expect(inc.alertsResolvedAt).toBeNull();
  });

  it('marks a missed response target at the due time and calls onBreach once', async () => {
    const s = await service();
    await feed(s, alert({ alertname: 'ServiceUnavailable', severity: 'critical', service: 'shop' }));
    clock = T0 + 15 * MIN - 1;
    await s.tick();
    expect(breaches).toHaveLength(0);
    expect((await s.get('INC-1')).responseBreachedAt).toBeNull();
    clock = T0 + 15 * MIN;
    await s.tick();
    await s.tick();
    expect(breaches.map((b) => [b.incident.id, b.target])).toEqual([['INC-1', 'response']]);
    const inc = await s.get('INC-1');
    expect(inc.responseBreachedAt).toBe(T0 + 15 * MIN);
    const breach = inc.timeline.find((e) => e.kind === 'sla.breach')!;
    expect(breach.text).toContain('15m');
    expect(breach.actor).toBe('opsbook');
  });

  it('does not breach once acknowledged; resolution targets breach when configured', async () => {
    const s = await service({ severities: { SEV2: { resolveWithin: '4h' } } });
    await feed(s, critical('shop'));
    clock += 10 * MIN;
    const acked = await s.acknowledge('INC-1', 'bob');
    expect(acked.acknowledgedAt).toBe(clock);
    expect(acked.stage).toBe('triage');
    await expect(s.acknowledge('INC-1', 'bob')).rejects.toThrow(/already acknowledged/);
    clock = T0 + 2 * 60 * MIN;
    await s.tick();
    expect(breaches).toHaveLength(0);
    clock = T0 + 4 * 60 * MIN;
    await s.tick();
    expect(breaches.map((b) => b.target)).toEqual(['resolution']);
    expect((await s.get('INC-1')).resolutionBreachedAt).toBe(clock);
  });

  it('moves through the stages forward, attributed and timestamped; rejects invalid moves', async () => {
    const s = await service();
    const created = await s.create({
      title: 'Checkout slow',
      severity: 'SEV3',
      services: ['shop'],
      actor: 'ann',
    });
    expect(created.id).toBe('INC-1');
    expect(created.responseDueAt).toBe(T0 + 4 * 60 * MIN);
    clock += MIN;
    await s.setStage('INC-1', 'investigation', 'bob');
    await expect(s.setStage('INC-1', 'triage', 'bob')).rejects.toThrow(/cannot move back/);
    await expect(s.close('INC-1', 'bob')).rejects.toThrow(/before closing/);
    await expect(s.setStage('INC-1', 'investigation', 'bob')).rejects.toThrow(/already/);
    clock += MIN;
    await s.resolve('INC-1', 'carol');
    clock += MIN;
    await s.setStage('INC-1', 'investigation', 'dave'); // reopen
    clock += MIN;
    await s.resolve('INC-1', 'carol');
    clock += MIN;
    await s.close('INC-1', 'erin');
    await expect(s.addNote('INC-1', 'postmortem linked', 'erin')).resolves.toBeDefined();
    await expect(s.setStage('INC-1', 'resolution', 'x')).rejects.toThrow(/closed/);
    await expect(s.get('INC-9')).rejects.toThrow(/no incident INC-9/);
    const inc = await s.get('INC-1');
    expect(inc.stageHistory).toEqual([
      { stage: 'detection', at: T0, by: 'ann' },
      { stage: 'investigation', at: T0 + MIN, by: 'bob' },
      { stage: 'post-incident', at: T0 + 2 * MIN, by: 'carol' },
      { stage: 'investigation', at: T0 + 3 * MIN, by: 'dave' },
      { stage: 'post-incident', at: T0 + 4 * MIN, by: 'carol' },
      { stage: 'closed', at: T0 + 5 * MIN, by: 'erin' },
    ]);
    const stages = inc.timeline.filter((e) => e.kind === 'stage');
    expect(stages.map((e) => [e.at, e.actor, e.text])).toEqual([
      [T0 + MIN, 'bob', 'detection → investigation'],
      [T0 + 2 * MIN, 'carol', 'investigation → post-incident'],
      [T0 + 3 * MIN, 'dave', 'post-incident → investigation'],
      [T0 + 4 * MIN, 'carol', 'investigation → post-incident'],
      [T0 + 5 * MIN, 'erin', 'post-incident → closed'],
    ]);
    expect(inc.timeline.at(-1)).toMatchObject({ kind: 'note', actor: 'erin', text: 'postmortem linked' });
  });

  it('assigns a commander and other roles', async () => {
    const s = await service();
    await s.create({ title: 'x', severity: 'SEV4', actor: 'ann' });
    await s.assign('INC-1', 'commander', 'bob', 'ann');
    await s.assign('INC-1', 'scribe', 'carol', 'bob');
    await expect(s.assign('INC-1', 'Bad Role', 'x', 'ann')).rejects.toThrow(/role/);
    const inc = await s.get('INC-1');
    expect(inc.commander).toBe('bob');
    expect(inc.roles).toEqual({ scribe: 'carol' });
    expect(inc.timeline.filter((e) => e.kind === 'assign').map((e) => e.actor)).toEqual(['ann', 'bob']);
  });

  it('keeps incidents, alert links, the id sequence and targets across a restart', async () => {
    const first = await service();
    await feed(first, critical('shop'));
    await first.addNote('INC-1', 'looking', 'ann');
    await first.stop();

    const second = await service();
    clock = T0 + 60 * MIN;
    await second.tick();
    expect(breaches.map((b) => b.incident.id)).toEqual(['INC-1']);
    await feed(second, critical('shop', { instance: 'b' }));
    await feed(second, { ...critical('shop'), status: 'resolved', endsAt: clock });
    await second.create({ title: 'manual', severity: 'SEV3', actor: 'ann' });
    const inc = await second.get('INC-1');
    expect(inc.alerts.map((a) => a.status)).toEqual(['resolved', 'firing']);
    expect(inc.timeline.map((e) => e.kind)).toEqual([
      'status',
      'alert.firing',
      'note',
      'sla.breach',
      'alert.firing',
      'alert.resolved',
    ]);
    expect((await second.list()).map((i) => i.id)).toEqual(['INC-2', 'INC-1']);
  });

  it('an alert firing again after its incident was resolved opens a new incident', async () => {
    const s = await service();
    await feed(s, critical('shop'));
    await feed(s, { ...critical('shop'), status: 'resolved', endsAt: clock });
    await s.resolve('INC-1', 'ann');
    clock += MIN;
    await feed(s, critical('shop'));
    expect((await s.list({ open: true })).map((i) => i.id)).toEqual(['INC-2']);
    expect((await s.list({ service: 'shop', severity: 'SEV2' })).map((i) => i.id)).toEqual([
      'INC-2',
      'INC-1',
    ]);
    expect((await s.list({ stage: 'post-incident' })).map((i) => i.id)).toEqual(['INC-1']);
  });

  it('start() checks targets on its own; configure() swaps the mapping', async () => {
    const s = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger: pino({ level: 'silent' }),
      now: () => clock,
      onBreach: (event) => breaches.push(event),
      checkIntervalMs: 10,
    });
    services.push(s);
    await s.load();
    s.configure(incidentsSchema.parse({ mapping: [{ matchers: ['service="shop"'], severity: 'SEV3' }] }));
    await feed(s, critical('shop'), critical('web'));
    expect((await s.list()).map((i) => [i.services, i.severity])).toEqual([[['shop'], 'SEV3']]);
    s.start();
    clock = T0 + 4 * 60 * MIN;
    await vi.waitFor(() => expect(breaches).toHaveLength(1), { timeout: 2000 });
  });
});
