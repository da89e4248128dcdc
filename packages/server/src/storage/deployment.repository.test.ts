// Deployment records on both engines: the same rows, order, filters and keyset pages on SQLite and PostgreSQL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { DeploymentRepository, type DeploymentRow } from './deployment.repository.js';
import { EventRepository } from './event.repository.js';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

function row(
  id: string,
  service: string,
  startedAt: number,
  extra: Partial<DeploymentRow> = {},
): DeploymentRow {
  return {
    id,
    service,
    version: `v-${id}`,
    environment: 'production',
    description: null,
    url: null,
    status: 'succeeded',
    started_at: startedAt,
    finished_at: startedAt + 60_000,
    by: 'ci',
    created_at: startedAt,
    updated_at: startedAt,
    ...extra,
  };
}

describe.each(ENGINES)('deployment repository on %s', (engine) => {
  let t: TestStore;
  let repository: DeploymentRepository;
  beforeEach(async () => {
    t = await openTestStore(engine);
    repository = new DeploymentRepository(t.store.db);
  });
  afterEach(async () => t.cleanup());

  it('stores a deployment and reads it back with numbers for times and nulls kept', async () => {
    await repository.insert(
      row('a', 'shop', T0, { status: 'in_progress', finished_at: null, by: null, url: 'https://ci/1' }),
    );
    expect(await repository.get('a')).toEqual({
      id: 'a',
      service: 'shop',
      version: 'v-a',
      environment: 'production',
      description: null,
      url: 'https://ci/1',
      status: 'in_progress',
      started_at: T0,
      finished_at: null,
      by: null,
      created_at: T0,
      updated_at: T0,
    });
    await repository.update('a', { status: 'succeeded', finished_at: T0 + 90_000, updated_at: T0 + 90_000 });
    expect(await repository.get('a')).toMatchObject({ status: 'succeeded', finished_at: T0 + 90_000 });
    expect(await repository.get('nope')).toBeUndefined();
  });

  it('lists newest first with filters, and pages through ties on the start time without gaps or repeats', async () => {
    await repository.insert(row('d1', 'shop', T0));
    await repository.insert(row('d2', 'billing', T0 + 1000, { environment: 'staging' }));
    // Two deployments that started in the same millisecond: the id breaks the tie.
    await repository.insert(row('d3', 'shop', T0 + 2000, { status: 'failed' }));
    await repository.insert(row('d4', 'shop', T0 + 2000));
    await repository.insert(row('d5', 'shop', T0 + 3000));

    expect((await repository.list({ limit: 10 })).map((r) => r.id)).toEqual(['d5', 'd4', 'd3', 'd2', 'd1']);
    expect((await repository.list({ service: 'shop', limit: 10 })).map((r) => r.id)).toEqual([
      'd5',
      'd4',
      'd3',
      'd1',
    ]);
    expect((await repository.list({ environment: 'staging', limit: 10 })).map((r) => r.id)).toEqual(['d2']);
    expect((await repository.list({ status: 'failed', limit: 10 })).map((r) => r.id)).toEqual(['d3']);

    const seen: string[] = [];
    let after: { startedAt: number; id: string } | undefined;
    for (let page = 0; page < 5; page++) {
      const rows = await repository.list({ limit: 2, after });
      seen.push(...rows.map((r) => r.id));
      if (rows.length < 2) break;
      after = { startedAt: rows.at(-1)!.started_at, id: rows.at(-1)!.id };
    }
    expect(seen).toEqual(['d5', 'd4', 'd3', 'd2', 'd1']);
  });

  it('writes the record and its event in one transaction: a failed event leaves no deployment', async () => {
    const events = new EventRepository(t.store.db);
    await expect(
      t.store.db.transaction().execute(async (trx) => {
        await repository.insert(row('x', 'shop', T0), trx);
        // A NOT NULL column left out makes the event insert fail after the deployment was written.
        await events.append([{ at: T0, kind: 'deployment.recorded' } as never], trx);
      }),
    ).rejects.toThrow();
    expect(await repository.get('x')).toBeUndefined();
  });
});
