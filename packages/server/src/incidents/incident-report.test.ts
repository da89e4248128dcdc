import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { InputError } from '../errors.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { PostmortemRepository } from '../storage/postmortem.repository.js';
import { durationStats } from './incident-report.js';
import { IncidentService } from './incident.service.js';
import { PostmortemService } from './postmortem.service.js';

const T0 = Date.UTC(2026, 10, 2, 0, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('duration statistics', () => {
  it('takes the mean, the median (middle two averaged) and the nearest-rank p90', () => {
    expect(durationStats([])).toBeNull();
    expect(durationStats([7])).toEqual({ mean: 7, median: 7, p90: 7 });
    expect(durationStats([40, 10, 30, 20])).toEqual({ mean: 25, median: 25, p90: 40 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(durationStats(hundred)).toEqual({ mean: 51, median: 51, p90: 90 });
  });
});

describe.each(ENGINES)('incident report on %s', (engine) => {
  let t: TestStore;
  let clock: number;
  let incidents: IncidentService;
  let postmortems: PostmortemService;

  beforeEach(async () => {
    t = await openTestStore(engine);
    const config = incidentsSchema.parse({
      severities: { SEV1: { resolveWithin: '4h' } },
      postmortem: { dueWithin: '6h' },
    });
    incidents = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config,
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
    postmortems = new PostmortemService({
      repository: new PostmortemRepository(t.store.db),
      incidents,
      config,
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
    await incidents.load();

    // In time order; INC-1 is before the range and INC-7 at its (excluded) end.
    const at = (ms: number) => (clock = ms);
    const open = (severity: 'SEV1' | 'SEV2' | 'SEV3' | 'SEV4', services: string[]) =>
      incidents.create({ title: `${severity} on ${services.join(',')}`, severity, services, actor: 'ann' });
    at(T0 - 2 * DAY);
    await open('SEV1', ['shop']); // INC-1
    at(T0);
    await open('SEV1', ['shop']); // INC-2
    at(T0 + 10 * MIN);
    await incidents.acknowledge('INC-2', 'bob');
    at(T0 + HOUR);
    await open('SEV1', ['shop', 'payments']); // INC-3
    at(T0 + HOUR + 20 * MIN);
    await incidents.acknowledge('INC-3', 'bob');
    at(T0 + 2 * HOUR);
    await incidents.resolve('INC-2', 'bob');
    await open('SEV2', ['payments']); // INC-4, never acknowledged
    at(T0 + 2 * HOUR + 30 * MIN);
    await incidents.resolve('INC-4', 'bob');
    at(T0 + 3 * HOUR);
    await open('SEV3', []); // INC-5
    at(T0 + 4 * HOUR);
    await incidents.acknowledge('INC-5', 'bob');
    await postmortems.actionItems.add('INC-2', {
      title: 'a',
      owner: 'bob',
      dueAt: T0 + 5 * HOUR,
      actor: 'x',
    });
    await postmortems.actionItems.add('INC-2', { title: 'b', owner: 'bob', actor: 'x' });
    await postmortems.actionItems.update('AI-2', { status: 'done', actor: 'bob' });
    await postmortems.actionItems.add('INC-4', { title: 'c', owner: 'bob', dueAt: T0 + 2 * DAY, actor: 'x' });
    await postmortems.actionItems.add('INC-1', { title: 'd', owner: 'bob', dueAt: T0, actor: 'x' });
    at(T0 + 6 * HOUR);
    await incidents.resolve('INC-3', 'bob');
    await postmortems.update('INC-2', { rootCause: 'pool', status: 'published', actor: 'bob' });
    at(T0 + 10 * HOUR + 30 * MIN);
    await open('SEV2', ['shop']); // INC-6, not acknowledged yet, within its hour
    at(T0 + 11 * HOUR);
    await open('SEV4', ['shop']); // INC-7
  });
  afterEach(async () => {
    await postmortems.stop();
    await incidents.stop();
    await t.cleanup();
  });

  it('computes MTTA, MTTR and target compliance overall, per severity and per service', async () => {
    const report = await postmortems.reports.build({ from: T0, to: T0 + 11 * HOUR });
    expect(report.incidents.map((i) => i.id)).toEqual(['INC-2', 'INC-3', 'INC-4', 'INC-5', 'INC-6']);
    expect(report.total).toEqual({
      count: 5,
      acknowledged: 3,
      resolved: 3,
      mtta: { mean: 30 * MIN, median: 20 * MIN, p90: 60 * MIN },
      mttr: { mean: 150 * MIN, median: 2 * HOUR, p90: 5 * HOUR },
      // INC-4 was never acknowledged: breached, not dropped. INC-6 is still inside its hour.
      response: { met: 2, breached: 2, pending: 1, compliance: 50 },
      resolution: { met: 1, breached: 1, pending: 0, noTarget: 3, compliance: 50 },
    });
    expect(
      report.bySeverity.map((s) => [s.severity, s.count, s.mtta, s.mttr, s.response.compliance]),
    ).toEqual([
      [
        'SEV1',
        2,
        { mean: 15 * MIN, median: 15 * MIN, p90: 20 * MIN },
        { mean: 210 * MIN, median: 210 * MIN, p90: 5 * HOUR },
        50,
      ],
      ['SEV2', 2, null, { mean: 30 * MIN, median: 30 * MIN, p90: 30 * MIN }, 0],
      ['SEV3', 1, { mean: HOUR, median: HOUR, p90: HOUR }, null, 100],
    ]);
    expect(report.byService.map((s) => [s.service, s.count, s.mtta, s.mttr, s.response])).toEqual([
      [
        'payments',
        2,
        { mean: 20 * MIN, median: 20 * MIN, p90: 20 * MIN },
        { mean: 165 * MIN, median: 165 * MIN, p90: 5 * HOUR },
        { met: 0, breached: 2, pending: 0, compliance: 0 },
      ],
      [
        'shop',
        3,
        { mean: 15 * MIN, median: 15 * MIN, p90: 20 * MIN },
        { mean: 210 * MIN, median: 210 * MIN, p90: 5 * HOUR },
        { met: 1, breached: 1, pending: 1, compliance: 50 },
      ],
      [
        null,
        1,
        { mean: HOUR, median: HOUR, p90: HOUR },
        null,
        { met: 1, breached: 0, pending: 0, compliance: 100 },
      ],
    ]);
    expect(report.incidents.find((i) => i.id === 'INC-4')).toMatchObject({
      timeToAcknowledge: null,
      timeToResolve: 30 * MIN,
      response: 'breached',
      resolution: 'none',
      postmortem: 'missing',
    });
    expect(report.incidents.find((i) => i.id === 'INC-2')).toMatchObject({
      response: 'met',
      resolution: 'met',
      postmortem: 'published',
    });
    // INC-1's item is outside the range; AI-1 was due at T0 + 5h.
    expect(report.actionItems).toEqual({ open: 2, overdue: 1, done: 1, wontDo: 0 });
    // SEV1 and SEV2 need one: INC-4 resolved 8h30m ago with 6h to publish; INC-3 has until T0 + 12h.
    expect(report.postmortems).toEqual({ required: 4, published: 1, overdue: 1 });
  });

  it('filters by severity and by exact service, defaults to the last 30 days and checks the range', async () => {
    const sev1 = await postmortems.reports.build({ from: T0, to: T0 + 11 * HOUR, severity: 'SEV1' });
    expect(sev1.incidents.map((i) => i.id)).toEqual(['INC-2', 'INC-3']);
    expect(sev1.filters).toEqual({ severity: 'SEV1', service: null });
    const payments = await postmortems.reports.build({ from: T0, service: 'payments' });
    expect(payments.incidents.map((i) => i.id)).toEqual(['INC-3', 'INC-4']);
    expect((await postmortems.reports.build({ service: 'sho' })).total.count).toBe(0);

    const recent = await postmortems.reports.build();
    expect([recent.from, recent.to]).toEqual([clock - 30 * DAY, clock]);
    expect(recent.incidents.map((i) => i.id)).toEqual(['INC-1', 'INC-2', 'INC-3', 'INC-4', 'INC-5', 'INC-6']);

    await expect(postmortems.reports.build({ from: T0, to: T0 })).rejects.toMatchObject({
      constructor: InputError,
      field: 'from',
    });
  });
});
