// Drill records on both engines: the same rows, order and filters on SQLite and PostgreSQL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { DrillRepository } from './drill.repository.js';

const T0 = Date.UTC(2026, 0, 1, 4, 0, 0);

function row(id: string, database: string, status: string, startedAt: number) {
  return {
    id,
    database,
    status,
    trigger: 'schedule',
    actor: 'schedule',
    backup_id: null,
    started_at: startedAt,
    finished_at: status === 'running' ? null : startedAt + 60_000,
    rto_ms: status === 'running' ? null : 59_000,
    rpo_ms: 3_600_000,
    problems: status === 'failed' ? 2 : 0,
    phase: status === 'running' ? 'restore' : null,
    report: JSON.stringify({ id }),
    updated_at: startedAt,
  };
}

describe.each(ENGINES)('drill repository on %s', (engine) => {
  let t: TestStore;
  let repository: DrillRepository;
  beforeEach(async () => {
    t = await openTestStore(engine);
    repository = new DrillRepository(t.store);
  });
  afterEach(async () => t.cleanup());

  it('lists newest first with filters and finds the latest drill in given statuses', async () => {
    await repository.insert(row('d1', 'shop', 'passed', T0));
    await repository.insert(row('d2', 'shop', 'failed', T0 + 1000));
    await repository.insert(row('d3', 'billing', 'passed', T0 + 2000));
    await repository.insert(row('d4', 'shop', 'running', T0 + 3000));

    expect((await repository.list()).map((r) => r.id)).toEqual(['d4', 'd3', 'd2', 'd1']);
    expect((await repository.list({ database: 'shop', limit: 2 })).map((r) => r.id)).toEqual(['d4', 'd2']);
    expect((await repository.list({ status: ['running'] })).map((r) => r.id)).toEqual(['d4']);
    expect((await repository.latest('shop', ['passed', 'failed']))?.id).toBe('d2');
    expect((await repository.latest('shop', ['passed']))?.id).toBe('d1');
    expect(await repository.latest('nope', ['passed'])).toBeUndefined();

    await repository.update('d4', { status: 'passed', finished_at: T0 + 9000, rto_ms: 6000, phase: null });
    const d4 = (await repository.get('d4'))!;
    expect(d4).toMatchObject({
      status: 'passed',
      finished_at: T0 + 9000,
      rto_ms: 6000,
      phase: null,
      problems: 0,
    });
    expect(typeof d4.started_at).toBe('number');
    expect(await repository.get('nope')).toBeUndefined();
  });

  it('keeps the first time a database was watched', async () => {
    await repository.watch('shop', T0);
    await repository.watch('shop', T0 + 5000);
    expect(await repository.watchedSince('shop')).toBe(T0);
    expect(await repository.watchedSince('billing')).toBeUndefined();
  });
});
