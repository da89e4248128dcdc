import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { migrate } from './migrate.js';
import { CheckRepository, type CheckRow, type CheckStatusRow } from './check.repository.js';
import { ResultRepository } from './result.repository.js';
import { EventRepository } from './event.repository.js';
import { CheckBatchWriter } from './check-batch.writer.js';
import { addSample, HOUR, MINUTE, newBucket, toRow } from '../telemetry/rollup.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);

function service(id: string) {
  return { id, owner: 'team', environment: 'production', description: null, tags: '["api"]', updated_at: T0 };
}

function check(serviceId: string, name: string, overrides: Partial<CheckRow> = {}): CheckRow {
  return {
    id: `${serviceId}/${name}`,
    service_id: serviceId,
    name,
    kind: 'http',
    role: 'readiness',
    target: 'GET http://x/',
    description: null,
    spec: '{}',
    timing: '{"periodSeconds":5}',
    spec_hash: 'h1',
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

function status(checkId: string, value: string, at = T0): CheckStatusRow {
  return {
    check_id: checkId,
    status: value,
    since: at,
    consecutive_successes: value === 'healthy' ? 1 : 0,
    consecutive_failures: value === 'unhealthy' ? 3 : 0,
    started: 0,
    last_run_at: at,
    last_status: value === 'healthy' ? 'up' : 'down',
    last_latency_ms: 12.5,
    last_message: 'HTTP 200',
  };
}

describe.each(ENGINES)('storage on %s', (engine) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(engine);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('runs migrations once: a second run applies nothing', async () => {
    expect(await migrate(t.store)).toEqual([]);
  });

  it('syncs services and checks from config, removing what the config dropped', async () => {
    const repo = new CheckRepository(t.store.db);
    await repo.syncDefinitions(
      [service('a'), service('b')],
      [check('a', 'one'), check('a', 'two'), check('b', 'one')],
    );
    await repo.saveStatuses([status('a/two', 'healthy')]);
    await repo.syncDefinitions(
      [service('a')],
      [check('a', 'one', { spec_hash: 'h2', target: 'GET http://y/' }), check('a', 'three')],
    );

    const { rows: listed } = await repo.list({ limit: 10 });
    expect(listed.map((r) => r.id)).toEqual(['a/one', 'a/three']);
    expect(listed[0]!.target).toBe('GET http://y/');
    expect((await repo.get('a/one'))!.spec).toBe(check('a', 'one').spec);
    expect((await repo.listServices()).map((s) => s.id)).toEqual(['a']);
    expect((await repo.loadStatuses()).has('a/two')).toBe(false);
  });

  it('upserts check states and lists them with filters, keyset pages and a total', async () => {
    const repo = new CheckRepository(t.store.db);
    const checks = Array.from({ length: 25 }, (_, i) =>
      check(i % 2 ? 'odd' : 'even', `c${String(i).padStart(2, '0')}`),
    );
    await repo.syncDefinitions([service('odd'), service('even')], checks);
    await repo.saveStatuses(checks.map((c, i) => status(c.id, i % 3 === 0 ? 'unhealthy' : 'healthy')));
    await repo.saveStatuses([status('even/c00', 'healthy', T0 + 5)]);

    const { rows: first, total } = await repo.list({ limit: 10 });
    expect(first).toHaveLength(10);
    expect(total).toBe(25);
    const { rows: second, total: stillTotal } = await repo.list({ limit: 10, after: first.at(-1)!.id });
    expect(second[0]!.id > first.at(-1)!.id).toBe(true);
    expect(stillTotal).toBe(25);
    const pastTheEnd = await repo.list({ limit: 10, after: 'zzz' });
    expect(pastTheEnd).toEqual({ rows: [], total: 25 });

    const { rows: unhealthy } = await repo.list({ status: 'unhealthy', limit: 100 });
    expect(unhealthy.map((r) => r.id)).not.toContain('even/c00');
    expect(unhealthy.every((r) => r.status === 'unhealthy')).toBe(true);
    expect(unhealthy).toHaveLength(8);
    const odd = await repo.list({ service: 'odd', limit: 100 });
    expect(odd.rows).toHaveLength(12);
    expect(odd.total).toBe(12);
    const row = await repo.get('even/c00');
    expect(row).toMatchObject({
      status: 'healthy',
      since: T0 + 5,
      last_latency_ms: 12.5,
      last_message: 'HTTP 200',
    });

    const counts = await repo.countByServiceAndStatus();
    expect(counts.find((c) => c.service_id === 'odd' && c.status === 'healthy')?.count).toBeGreaterThan(0);
  });

  it('stores results, rollups and events in one batch and reads them back by time', async () => {
    const repo = new CheckRepository(t.store.db);
    await repo.syncDefinitions([service('a')], [check('a', 'one')]);
    const minute = newBucket(T0);
    for (const latency of [10, 20, 30, 400]) addSample(minute, latency < 100, latency);
    await new CheckBatchWriter(t.store).write({
      results: [10, 20, 30].map((latency, i) => ({
        check_id: 'a/one',
        started_at: T0 + i * 1000,
        status: 'up',
        latency_ms: latency,
        message: 'HTTP 200',
        detail: '{"statusCode":200}',
      })),
      statuses: [status('a/one', 'healthy')],
      minutes: [toRow('a/one', '1m', minute)],
      hours: [],
      events: [
        {
          at: T0,
          kind: 'check.transition',
          severity: 'info',
          service_id: 'a',
          check_id: 'a/one',
          message: 'healthy',
          data: '{}',
        },
      ],
    });

    const results = new ResultRepository(t.store.db);
    const listed = await results.listResults('a/one', T0, T0 + 2000, 10);
    expect(listed.map((r) => r.latency_ms)).toEqual([20, 10]);
    const rollups = await results.rollups('1m', T0, T0 + MINUTE, 'a/one');
    expect(rollups).toHaveLength(1);
    expect(rollups[0]).toMatchObject({ count: 4, failures: 1, latency_sum: 460 });
    expect(await results.latestRollupBucket('1m')).toBe(T0);

    const events = await new EventRepository(t.store.db).list({ kind: 'check.*', limit: 10 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ check_id: 'a/one', severity: 'info' });
  });

  it('rebuilds a partial hour from the stored minutes when it closes', async () => {
    const results = new ResultRepository(t.store.db);
    const early = newBucket(T0);
    addSample(early, true, 5);
    await results.upsertRollups([toRow('a/one', '1m', early)]);
    // In memory the hour only saw what happened after a restart; the stored minutes are complete.
    const seenSinceRestart = newBucket(T0);
    addSample(seenSinceRestart, false, 50);
    await new CheckBatchWriter(t.store).write({
      results: [],
      statuses: [],
      minutes: [],
      hours: [{ checkId: 'a/one', bucket: seenSinceRestart, partial: true }],
      events: [],
    });
    const hours = await results.rollups('1h', T0, T0 + HOUR);
    expect(hours).toHaveLength(1);
    expect(hours[0]).toMatchObject({ count: 1, failures: 0 });
  });

  it('purges each tier by its own retention', async () => {
    const results = new ResultRepository(t.store.db);
    await results.insertResults([
      {
        check_id: 'a/one',
        started_at: T0 - 10 * 86_400_000,
        status: 'up',
        latency_ms: 1,
        message: '',
        detail: '{}',
      },
      { check_id: 'a/one', started_at: T0, status: 'up', latency_ms: 1, message: '', detail: '{}' },
    ]);
    const old = newBucket(T0 - 40 * 86_400_000);
    addSample(old, true, 1);
    await results.upsertRollups([
      toRow('a/one', '1m', old),
      toRow('a/one', '1h', { ...old, bucket: T0 - 40 * 86_400_000 }),
    ]);
    const removed = await results.purge({
      results: T0 - 7 * 86_400_000,
      minuteRollups: T0 - 35 * 86_400_000,
      hourRollups: T0 - 400 * 86_400_000,
    });
    expect(removed).toBe(2);
    expect(await results.listResults('a/one', 0, T0 + 1, 10)).toHaveLength(1);
    expect(await results.rollups('1h', 0, T0)).toHaveLength(1);
    expect(await results.rollups('1m', 0, T0)).toHaveLength(0);
  });
});
