import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import type { AlertSnapshot } from '../alerts/alert.types.js';
import { receiverSchema, routeSchema, type RouteInput } from '../config/notifications.schema.js';
import type { Store } from '../storage/db.js';
import type { Labels } from '../telemetry/series.js';
import { Dispatcher } from './dispatcher.js';
import type { Notification, NotificationQueue } from './notification.types.js';
import { formatLabels } from './routing.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);
const S = 1_000;
const M = 60_000;
const H = 3_600_000;

/** Records exactly what the dispatcher hands to the outbox. */
class RecordingQueue implements NotificationQueue {
  readonly sent: Notification[] = [];
  failing = false;
  async enqueue(notification: Notification): Promise<void> {
    if (this.failing) throw new Error('outbox unavailable');
    this.sent.push(structuredClone(notification));
  }
}

const NO_SUPPRESSION = { silences: [], inhibitedBy: [], maintenance: [] };

function alert(name: string, labels: Labels = {}, startsAt = T0): AlertSnapshot {
  const all = { alertname: name, service: 'api', ...labels };
  return {
    fingerprint: createHash('sha256').update(formatLabels(all)).digest('hex').slice(0, 16),
    labels: all,
    annotations: { summary: `${name} is bad`, ...(labels.instance ? { instance: labels.instance } : {}) },
    status: 'firing',
    startsAt,
    endsAt: null,
    generatorUrl: 'http://opsbook/rules',
    suppressedBy: NO_SUPPRESSION,
  };
}

const resolved = (a: AlertSnapshot, at: number): AlertSnapshot => ({ ...a, status: 'resolved', endsAt: at });
const silenced = (a: AlertSnapshot): AlertSnapshot => ({
  ...a,
  suppressedBy: { ...NO_SUPPRESSION, silences: ['silence-1'] },
});
const inMaintenance = (a: AlertSnapshot): AlertSnapshot => ({
  ...a,
  suppressedBy: { ...NO_SUPPRESSION, maintenance: ['deploy'] },
});
const unsuppressed = (a: AlertSnapshot): AlertSnapshot => ({ ...a, suppressedBy: NO_SUPPRESSION });

interface HarnessOptions {
  route?: RouteInput | null;
  sendResolved?: boolean;
  queue?: RecordingQueue;
  start?: number;
  restoreGraceMs?: number;
  logRetentionMs?: number;
  lines?: string[];
}

/** A dispatcher on a fake clock: `at(t)` moves the clock and runs the flushes due. */
async function harness(store: Store, options: HarnessOptions = {}) {
  const clock = { t: options.start ?? T0 };
  const queue = options.queue ?? new RecordingQueue();
  const lines = options.lines ?? [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const route = options.route === null ? undefined : routeSchema.parse(options.route ?? { receiver: 'team' });
  const receivers = [
    receiverSchema.parse({
      name: 'team',
      sendResolved: options.sendResolved ?? true,
      webhook: { url: 'http://hooks.test/team' },
    }),
    receiverSchema.parse({ name: 'pager', webhook: { url: 'http://hooks.test/pager' } }),
  ];
  const dispatcher = new Dispatcher({
    store,
    queue,
    route,
    receivers,
    externalUrl: 'https://opsbook.example',
    logger,
    now: () => clock.t,
    tickMs: 0,
    restoreGraceMs: options.restoreGraceMs,
    logRetentionMs: options.logRetentionMs,
  });
  await dispatcher.start();
  return {
    dispatcher,
    queue,
    lines,
    receivers,
    /** Sets the clock and hands alerts to the dispatcher. */
    send(t: number, ...alerts: AlertSnapshot[]) {
      clock.t = t;
      dispatcher.update(alerts);
    },
    async at(t: number) {
      clock.t = t;
      await dispatcher.tick(t);
    },
  };
}

const fingerprints = (n: Notification) =>
  n.alerts.map((a) => `${a.labels.instance ?? a.labels.alertname}:${a.status}`);

describe('dispatcher', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore('sqlite');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('batches the alerts of a new group during groupWait into one notification', async () => {
    const h = await harness(t.store);
    const [a, b, c] = ['a', 'b', 'c'].map((i) => alert('HighLatency', { instance: i }));
    h.send(T0, a!);
    h.send(T0 + 10 * S, b!);
    h.send(T0 + 20 * S, c!);
    h.send(T0 + 20 * S, alert('DiskFull', { instance: 'a' }));
    await h.at(T0 + 29 * S);
    expect(h.queue.sent).toEqual([]);
    await h.at(T0 + 30 * S);
    expect(h.queue.sent).toHaveLength(1);
    const n = h.queue.sent[0]!;
    expect(n).toMatchObject({
      receiver: 'team',
      groupKey: '{}:{alertname="HighLatency",service="api"}',
      status: 'firing',
      reason: 'new',
      sequence: 1,
      createdAt: T0 + 30 * S,
      externalUrl: 'https://opsbook.example',
      groupLabels: { alertname: 'HighLatency', service: 'api' },
      commonLabels: { alertname: 'HighLatency', service: 'api' },
      commonAnnotations: { summary: 'HighLatency is bad' },
    });
    expect(fingerprints(n)).toEqual(['a:firing', 'b:firing', 'c:firing']);
    // The other group waits its own groupWait, from its first alert.
    expect(h.dispatcher.groups().map((g) => [g.groupKey, g.receiver, g.alerts, g.nextFlushAt])).toEqual([
      ['{}:{alertname="DiskFull",service="api"}', 'team', 1, T0 + 50 * S],
      ['{}:{alertname="HighLatency",service="api"}', 'team', 3, T0 + 30 * S + 4 * H],
    ]);
    await h.at(T0 + 50 * S);
    expect(h.queue.sent.map((x) => [x.groupLabels.alertname, x.sequence])).toEqual([
      ['HighLatency', 1],
      ['DiskFull', 1],
    ]);
  });

  it('sends changes at most every groupInterval, on the group ticker', async () => {
    const h = await harness(t.store);
    h.send(T0, alert('HighLatency', { instance: 'a' }));
    await h.at(T0 + 30 * S);
    h.send(T0 + M, alert('HighLatency', { instance: 'b' }));
    await h.at(T0 + 5 * M + 29 * S);
    expect(h.queue.sent).toHaveLength(1);
    await h.at(T0 + 5 * M + 30 * S);
    expect(h.queue.sent).toHaveLength(2);
    expect(h.queue.sent[1]).toMatchObject({ reason: 'update', sequence: 2, createdAt: T0 + 5 * M + 30 * S });
    expect(fingerprints(h.queue.sent[1]!)).toEqual(['a:firing', 'b:firing']);

    // A change right after a flush waits a whole interval; an unchanged group sends nothing.
    h.send(T0 + 5 * M + 31 * S, alert('HighLatency', { instance: 'c' }));
    await h.at(T0 + 10 * M + 29 * S);
    expect(h.queue.sent).toHaveLength(2);
    await h.at(T0 + 10 * M + 30 * S);
    expect(h.queue.sent[2]).toMatchObject({ reason: 'update', sequence: 3 });
    await h.at(T0 + 30 * M);
    expect(h.queue.sent).toHaveLength(3);
  });

  it('re-sends an unchanged firing group every repeatInterval', async () => {
    const h = await harness(t.store, { route: { receiver: 'team', repeatInterval: '1h' } });
    h.send(T0, alert('HighLatency'));
    await h.at(T0 + 30 * S);
    await h.at(T0 + 30 * S + H - 1);
    expect(h.queue.sent).toHaveLength(1);
    await h.at(T0 + 30 * S + H);
    await h.at(T0 + 30 * S + 2 * H);
    expect(h.queue.sent.map((n) => [n.reason, n.sequence, n.createdAt])).toEqual([
      ['new', 1, T0 + 30 * S],
      ['repeat', 2, T0 + 30 * S + H],
      ['repeat', 3, T0 + 30 * S + 2 * H],
    ]);
  });

  it('tells resolves at the next flush, ends the group with a resolved notification and removes it', async () => {
    const h = await harness(t.store);
    const a = alert('HighLatency', { instance: 'a' });
    const b = alert('HighLatency', { instance: 'b' });
    h.send(T0, a, b);
    await h.at(T0 + 30 * S);
    h.send(T0 + M, resolved(a, T0 + M));
    await h.at(T0 + 5 * M + 30 * S);
    expect(h.queue.sent[1]).toMatchObject({ reason: 'update', status: 'firing', sequence: 2 });
    expect(fingerprints(h.queue.sent[1]!)).toEqual(['b:firing', 'a:resolved']);
    expect(h.queue.sent[1]!.alerts[1]!.endsAt).toBe(T0 + M);

    h.send(T0 + 6 * M, resolved(b, T0 + 6 * M));
    await h.at(T0 + 10 * M + 30 * S);
    expect(h.queue.sent[2]).toMatchObject({ reason: 'resolved', status: 'resolved', sequence: 3 });
    expect(fingerprints(h.queue.sent[2]!)).toEqual(['b:resolved']);
    expect(h.dispatcher.groups()).toEqual([]);

    // The same group again: a new group (groupWait again), its sequence carries on.
    h.send(T0 + 20 * M, alert('HighLatency', { instance: 'c' }));
    await h.at(T0 + 20 * M + 29 * S);
    expect(h.queue.sent).toHaveLength(3);
    await h.at(T0 + 20 * M + 30 * S);
    expect(h.queue.sent[3]).toMatchObject({ reason: 'new', sequence: 4 });
    await h.at(T0 + 20 * M + 30 * S + 4 * H);
    await h.at(T0 + 20 * M + 30 * S + 8 * H);
    expect(h.queue.sent.map((n) => [n.sequence, n.reason])).toEqual([
      [1, 'new'],
      [2, 'update'],
      [3, 'resolved'],
      [4, 'new'],
      [5, 'repeat'],
      [6, 'repeat'],
    ]);
  });

  it('sends no resolves to a receiver with sendResolved false, and still ends the group', async () => {
    const h = await harness(t.store, { sendResolved: false });
    const a = alert('HighLatency', { instance: 'a' });
    const b = alert('HighLatency', { instance: 'b' });
    h.send(T0, a, b);
    await h.at(T0 + 30 * S);
    h.send(T0 + M, resolved(a, T0 + M));
    await h.at(T0 + 5 * M + 30 * S);
    h.send(T0 + 6 * M, resolved(b, T0 + 6 * M));
    await h.at(T0 + 10 * M + 30 * S);
    expect(h.queue.sent.map((n) => n.reason)).toEqual(['new']);
    expect(h.dispatcher.groups()).toEqual([]);
  });

  it('drops a resolve that arrives before the first notification', async () => {
    const h = await harness(t.store);
    const a = alert('HighLatency');
    h.send(T0, a);
    h.send(T0 + 10 * S, resolved(a, T0 + 10 * S));
    await h.at(T0 + H);
    expect(h.queue.sent).toEqual([]);
    expect(h.dispatcher.groups()).toEqual([]);
  });

  describe.each([false, true])('sendResolvedWhenSilenced %s', (flag) => {
    it(`${flag ? 'tells' : 'does not tell'} the resolve of an alert silenced after it was notified`, async () => {
      const h = await harness(t.store, { route: { receiver: 'team', sendResolvedWhenSilenced: flag } });
      const a = alert('HighLatency');
      h.send(T0, a);
      await h.at(T0 + 30 * S);
      h.send(T0 + M, silenced(a));
      await h.at(T0 + 5 * M + 30 * S);
      expect(h.queue.sent).toHaveLength(1);
      h.send(T0 + 6 * M, resolved(silenced(a), T0 + 6 * M));
      await h.at(T0 + 10 * M + 30 * S);
      expect(h.queue.sent.map((n) => [n.reason, n.status])).toEqual(
        flag
          ? [
              ['new', 'firing'],
              ['resolved', 'resolved'],
            ]
          : [['new', 'firing']],
      );
      expect(h.dispatcher.groups()).toEqual([]);
    });

    it('never notifies an alert silenced from the start, firing or resolved', async () => {
      const h = await harness(t.store, { route: { receiver: 'team', sendResolvedWhenSilenced: flag } });
      const a = silenced(alert('HighLatency'));
      h.send(T0, a);
      await h.at(T0 + 30 * S);
      h.send(T0 + M, resolved(a, T0 + M));
      await h.at(T0 + H);
      expect(h.queue.sent).toEqual([]);
      expect(h.dispatcher.groups()).toEqual([]);
    });
  });

  it('flushes at once when a maintenance window ends for a firing alert', async () => {
    const h = await harness(t.store);
    const a = alert('HighLatency', { instance: 'a' });
    const b = alert('HighLatency', { instance: 'b' });
    h.send(T0, inMaintenance(a));
    await h.at(T0 + 30 * S);
    expect(h.queue.sent).toEqual([]);
    h.send(T0 + 2 * M, unsuppressed(a));
    await h.at(T0 + 2 * M);
    expect(h.queue.sent).toHaveLength(1);
    expect(h.queue.sent[0]).toMatchObject({
      reason: 'maintenance-ended',
      sequence: 1,
      createdAt: T0 + 2 * M,
    });

    // In a group already notified: without waiting for the ticker (next at 7m).
    h.send(T0 + 3 * M, inMaintenance(b));
    await h.at(T0 + 7 * M);
    expect(h.queue.sent).toHaveLength(1);
    h.send(T0 + 8 * M, unsuppressed(b));
    await h.at(T0 + 8 * M);
    expect(h.queue.sent[1]).toMatchObject({ reason: 'maintenance-ended', sequence: 2 });
    expect(fingerprints(h.queue.sent[1]!)).toEqual(['a:firing', 'b:firing']);

    // An alert the receiver already knows fires does not cause a flush when its silence ends.
    h.send(T0 + 9 * M, silenced(a));
    h.send(T0 + 10 * M, unsuppressed(a));
    await h.at(T0 + 10 * M);
    await h.at(T0 + 12 * M);
    expect(h.queue.sent).toHaveLength(2);
  });

  it('retries a flush the queue refused without losing or skipping a sequence number', async () => {
    const h = await harness(t.store, { lines: [] });
    h.queue.failing = true;
    h.send(T0, alert('HighLatency'));
    await h.at(T0 + 30 * S);
    expect(h.queue.sent).toEqual([]);
    h.queue.failing = false;
    await h.at(T0 + 39 * S);
    expect(h.queue.sent).toEqual([]);
    await h.at(T0 + 40 * S);
    expect(h.queue.sent.map((n) => [n.reason, n.sequence])).toEqual([['new', 1]]);
  });

  it('routes one alert to every matching route, each with its own group and receiver', async () => {
    const h = await harness(t.store, {
      route: {
        receiver: 'team',
        routes: [
          { receiver: 'team', matchers: ['severity="critical"'], continue: true, groupWait: '10s' },
          { receiver: 'pager', matchers: ['severity="critical"'], groupBy: ['severity'] },
        ],
      },
    });
    h.send(T0, alert('HighLatency', { severity: 'critical' }));
    await h.at(T0 + 10 * S);
    expect(h.queue.sent.map((n) => n.receiver)).toEqual(['team']);
    await h.at(T0 + 30 * S);
    expect(h.queue.sent.map((n) => [n.receiver, n.groupKey])).toEqual([
      ['team', '{}/{severity="critical"}:{alertname="HighLatency",service="api"}'],
      ['pager', '{}/{severity="critical"}#1:{severity="critical"}'],
    ]);
  });

  it('dispatches nothing without a route and says so once', async () => {
    const lines: string[] = [];
    const h = await harness(t.store, { route: null, lines });
    h.send(T0, alert('HighLatency'));
    h.send(T0, alert('DiskFull'));
    await h.at(T0 + H);
    expect(h.queue.sent).toEqual([]);
    expect(lines.filter((l) => l.includes('no route'))).toHaveLength(1);
  });

  it('keeps groups across a config reload that keeps their key, and regroups the rest', async () => {
    const h = await harness(t.store, {
      route: { receiver: 'team', routes: [{ receiver: 'pager', matchers: ['severity="critical"'] }] },
    });
    h.send(T0, alert('HighLatency'), alert('DiskFull', { severity: 'critical' }));
    await h.at(T0 + 30 * S);
    expect(h.queue.sent).toHaveLength(2);

    // The critical route goes; the root route stays with a shorter repeat interval.
    h.dispatcher.apply(
      routeSchema.parse({ receiver: 'team', repeatInterval: '1h' }),
      h.receivers,
      'https://new',
    );
    await h.at(T0 + 5 * M + 30 * S);
    const moved = h.queue.sent.slice(2);
    expect(moved.map((n) => [n.receiver, n.groupKey, n.reason, n.sequence])).toEqual([
      ['team', '{}:{alertname="DiskFull",service="api"}', 'new', 1],
    ]);
    await h.at(T0 + 30 * S + H);
    expect(h.queue.sent.slice(3).map((n) => [n.groupKey, n.reason, n.sequence, n.externalUrl])).toEqual([
      ['{}:{alertname="HighLatency",service="api"}', 'repeat', 2, 'https://new'],
    ]);

    h.dispatcher.apply(undefined, h.receivers);
    expect(h.dispatcher.groups()).toEqual([]);
  });

  it('flushes on its own timer with real time', async () => {
    const queue = new RecordingQueue();
    const dispatcher = new Dispatcher({
      store: t.store,
      queue,
      route: routeSchema.parse({ receiver: 'team', groupWait: 80, groupInterval: 100 }),
      receivers: [receiverSchema.parse({ name: 'team', webhook: { url: 'http://hooks.test/' } })],
      logger: pino({ level: 'silent' }),
      tickMs: 1_000,
    });
    await dispatcher.start();
    const started = Date.now();
    dispatcher.update([alert('HighLatency', { instance: 'a' }, started)]);
    dispatcher.update([alert('HighLatency', { instance: 'b' }, started)]);
    await vi.waitFor(() => expect(queue.sent).toHaveLength(1), { timeout: 3_000, interval: 10 });
    expect(queue.sent[0]!.createdAt - started).toBeGreaterThanOrEqual(80);
    expect(queue.sent[0]!.alerts).toHaveLength(2);
    dispatcher.update([resolved(alert('HighLatency', { instance: 'a' }, started), Date.now())]);
    await vi.waitFor(() => expect(queue.sent).toHaveLength(2), { timeout: 3_000, interval: 10 });
    expect(queue.sent[1]!.reason).toBe('update');
    await dispatcher.stop();
  });
});

describe.each(ENGINES)('dispatcher restarts on %s', (engine) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(engine);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const a = alert('HighLatency', { instance: 'a' });
  const b = alert('HighLatency', { instance: 'b' });

  it('does not re-send what was sent before a crash, only after repeatInterval', async () => {
    const first = await harness(t.store);
    first.send(T0, a, b);
    await first.at(T0 + 30 * S);
    expect(first.queue.sent).toHaveLength(1);
    // No stop(): the log was written with the notification.

    const second = await harness(t.store, { start: T0 + 2 * M });
    second.send(T0 + 2 * M, a, b);
    await second.at(T0 + 5 * M + 30 * S);
    await second.at(T0 + 3 * H);
    expect(second.queue.sent).toEqual([]);
    await second.at(T0 + 30 * S + 4 * H);
    expect(second.queue.sent.map((n) => [n.reason, n.sequence])).toEqual([['repeat', 2]]);
  });

  it('sends a new alert after a restart as an update on the old schedule', async () => {
    const first = await harness(t.store);
    first.send(T0, a);
    await first.at(T0 + 30 * S);
    await first.dispatcher.stop();

    const second = await harness(t.store, { start: T0 + 2 * M });
    second.send(T0 + 2 * M, a, b);
    await second.at(T0 + 5 * M + 29 * S);
    expect(second.queue.sent).toEqual([]);
    await second.at(T0 + 5 * M + 30 * S);
    expect(second.queue.sent.map((n) => [n.reason, n.sequence, fingerprints(n)])).toEqual([
      ['update', 2, ['a:firing', 'b:firing']],
    ]);
  });

  it('keeps a resolve that was pending at shutdown', async () => {
    const first = await harness(t.store);
    first.send(T0, a, b);
    await first.at(T0 + 30 * S);
    first.send(T0 + M, resolved(a, T0 + M));
    await first.dispatcher.stop();

    // The alerts domain re-sends what it still holds: only b.
    const second = await harness(t.store, { start: T0 + 2 * M });
    second.send(T0 + 2 * M, b);
    await second.at(T0 + 5 * M + 30 * S);
    expect(second.queue.sent).toHaveLength(1);
    expect(second.queue.sent[0]).toMatchObject({ reason: 'update', sequence: 2 });
    expect(fingerprints(second.queue.sent[0]!)).toEqual(['b:firing', 'a:resolved']);
    expect(second.queue.sent[0]!.alerts[1]!.endsAt).toBe(T0 + M);
  });

  it('sends the resolved notification of a group that ended during the restart', async () => {
    const first = await harness(t.store);
    first.send(T0, a);
    await first.at(T0 + 30 * S);
    first.send(T0 + M, resolved(a, T0 + M));
    await first.dispatcher.stop();

    const second = await harness(t.store, { start: T0 + 2 * M });
    second.send(T0 + 2 * M);
    await second.at(T0 + 5 * M + 30 * S);
    expect(second.queue.sent.map((n) => [n.reason, n.status, n.sequence, fingerprints(n)])).toEqual([
      ['resolved', 'resolved', 2, ['a:resolved']],
    ]);
    expect(second.dispatcher.groups()).toEqual([]);
  });

  it('resolves an alert that was notified but not re-sent after the restart grace', async () => {
    const first = await harness(t.store);
    first.send(T0, a, b);
    await first.at(T0 + 30 * S);
    await first.dispatcher.stop();

    const second = await harness(t.store, { start: T0 + H, restoreGraceMs: M });
    second.send(T0 + H, b);
    await second.at(T0 + H + M - 1);
    expect(second.queue.sent).toEqual([]);
    await second.at(T0 + H + M);
    expect(second.queue.sent.map((n) => [n.reason, n.sequence, fingerprints(n)])).toEqual([
      ['update', 2, ['b:firing', 'a:resolved']],
    ]);
  });
  it('never reuses a sequence number when it prunes the log entry of an ended group', async () => {
    const first = await harness(t.store);
    first.send(T0, a);
    await first.at(T0 + 30 * S);
    first.send(T0 + M, resolved(a, T0 + M));
    await first.at(T0 + 5 * M + 30 * S);
    expect(first.queue.sent.map((n) => n.sequence)).toEqual([1, 2]);
    await first.dispatcher.stop();

    const second = await harness(t.store, { start: T0 + 3 * H, logRetentionMs: H });
    const rows = await t.store.db.selectFrom('dispatch_log').select(['id', 'sequence']).execute();
    expect(rows).toEqual([{ id: 'sequence-floor', sequence: 2 }]);
    second.send(T0 + 3 * H, a);
    await second.at(T0 + 3 * H + 30 * S);
    expect(second.queue.sent.map((n) => [n.reason, n.sequence])).toEqual([['new', 3]]);
  });
});
