import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { OutboxRepository, type NewDelivery } from './outbox.repository.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);

function delivery(lane: string, sequence: number, overrides: Partial<NewDelivery> = {}): NewDelivery {
  return {
    idempotency_key: `${lane}-${sequence}`,
    lane,
    group_key: `group-${lane}`,
    sequence,
    receiver: 'ops',
    channel: 'webhook',
    target: 'POST http://127.0.0.1/hook',
    notification_status: 'firing',
    reason: 'new',
    alert_count: 1,
    payload: '{"n":1}',
    status: 'pending',
    attempts: 0,
    last_error: null,
    last_status: null,
    created_at: T0,
    updated_at: T0,
    next_attempt_at: T0,
    delivered_at: null,
    ...overrides,
  };
}

/** A first attempt answered 400: the delivery fails for good. */
function failFor400(repo: OutboxRepository, id: number, at: number): Promise<void> {
  return repo.recordAttempt(
    id,
    {
      attempt: 1,
      at,
      duration_ms: 12.5,
      ok: 0,
      retryable: 0,
      status: 400,
      response: 'bad',
      error: 'HTTP 400',
    },
    {
      status: 'failed',
      attempts: 1,
      last_error: 'HTTP 400',
      last_status: 400,
      next_attempt_at: null,
      updated_at: at,
    },
  );
}

describe.each(ENGINES)('outbox repository on %s', (engine) => {
  let t: TestStore;
  let repo: OutboxRepository;
  beforeEach(async () => {
    t = await openTestStore(engine);
    repo = new OutboxRepository(t.store.db);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('stores deliveries once per idempotency key', async () => {
    expect(await repo.insert([delivery('a', 1), delivery('a', 2)])).toBe(2);
    expect(await repo.insert([delivery('a', 2), delivery('a', 3)])).toBe(1);
    const rows = await repo.list({ limit: 10 });
    expect(rows.map((r) => r.sequence)).toEqual([3, 2, 1]);
    expect(typeof rows[0]!.id).toBe('number');
    expect(rows[0]!.created_at).toBe(T0);
  });

  it('purges deliveries that ended before the cutoff, with their attempts, and never open ones', async () => {
    const DAY = 86_400_000;
    await repo.insert([
      delivery('old', 1, { status: 'delivered', updated_at: T0 - 100 * DAY, delivered_at: T0 - 100 * DAY }),
      delivery('old', 2, { status: 'failed', updated_at: T0 - 100 * DAY }),
      delivery('old', 3, { status: 'pending', updated_at: T0 - 100 * DAY }),
      delivery('new', 1, { status: 'delivered', updated_at: T0 - DAY, delivered_at: T0 - DAY }),
    ]);
    const failed = (await repo.list({ limit: 10 })).find((r) => r.idempotency_key === 'old-2')!;
    await failFor400(repo, failed.id, T0 - 100 * DAY);

    expect(await repo.purge(T0 - 90 * DAY)).toBe(2);
    expect((await repo.list({ limit: 10 })).map((r) => r.idempotency_key).sort()).toEqual(['new-1', 'old-3']);
    expect(await repo.attempts(failed.id)).toEqual([]);
    expect(await repo.purge(T0 - 90 * DAY)).toBe(0);
  });

  it('offers only the earliest open delivery of each lane, once it is due', async () => {
    await repo.insert([
      delivery('a', 1),
      delivery('a', 2),
      delivery('b', 5, { next_attempt_at: T0 + 1000 }),
      delivery('b', 6),
      delivery('c', 1, { status: 'delivered', next_attempt_at: null }),
      delivery('c', 2),
    ]);
    const due = await repo.due(T0, 10);
    expect(due.map((r) => `${r.lane}${r.sequence}`).sort()).toEqual(['a1', 'c2']);
    expect(await repo.nextDueAt()).toBe(T0);

    const a1 = due.find((r) => r.lane === 'a')!;
    expect(await repo.claim(a1.id, T0)).toBe(true);
    expect(await repo.claim(a1.id, T0)).toBe(false);
    // a1 is being sent: a2 still waits behind it.
    expect((await repo.due(T0, 10)).map((r) => `${r.lane}${r.sequence}`)).toEqual(['c2']);

    await failFor400(repo, a1.id, T0);
    // Failed for good: the next one of the lane may go.
    expect((await repo.due(T0, 10)).map((r) => `${r.lane}${r.sequence}`).sort()).toEqual(['a2', 'c2']);
    expect(await repo.due(T0 + 1000, 10)).toHaveLength(3);

    const attempts = await repo.attempts(a1.id);
    expect(attempts).toMatchObject([
      { attempt: 1, duration_ms: 12.5, ok: 0, status: 400, error: 'HTTP 400' },
    ]);
    expect((await repo.get(a1.id))!.status).toBe('failed');
  });

  it('knows when the next free delivery is due and ignores blocked ones', async () => {
    await repo.insert([
      delivery('a', 1, { next_attempt_at: T0 + 5000 }),
      delivery('a', 2, { next_attempt_at: T0 }),
    ]);
    expect(await repo.nextDueAt()).toBe(T0 + 5000);
    expect(await repo.due(T0, 10)).toEqual([]);
  });

  it('puts deliveries left sending back to pending, and expires old pending ones', async () => {
    await repo.insert([
      delivery('a', 1, { status: 'sending' }),
      delivery('b', 1, { created_at: T0 - 10_000 }),
      delivery('c', 1, { created_at: T0 - 10_000, status: 'delivered' }),
    ]);
    expect(await repo.resetSending(T0 + 1)).toBe(1);
    expect((await repo.byIdempotencyKey('a-1'))!).toMatchObject({
      status: 'pending',
      next_attempt_at: T0 + 1,
    });
    const expired = await repo.expire(T0 - 5000, T0 + 2, 'expired: too old');
    expect(expired.map((r) => r.lane)).toEqual(['b']);
    expect((await repo.byIdempotencyKey('b-1'))!).toMatchObject({
      status: 'expired',
      last_error: 'expired: too old',
    });
    expect(await repo.countByStatus()).toEqual({ pending: 1, expired: 1, delivered: 1 });
  });

  it('lists newest first with filters and id cursors', async () => {
    await repo.insert([
      delivery('a', 1),
      delivery('a', 2, { status: 'delivered' }),
      delivery('b', 1, { receiver: 'db' }),
      delivery('b', 2, { receiver: 'db', status: 'failed' }),
    ]);
    const all = await repo.list({ limit: 10 });
    expect(all.map((r) => r.idempotency_key)).toEqual(['b-2', 'b-1', 'a-2', 'a-1']);
    expect(all[0]).not.toHaveProperty('payload');
    const page = await repo.list({ limit: 2, before: all[1]!.id });
    expect(page.map((r) => r.idempotency_key)).toEqual(['a-2', 'a-1']);
    expect((await repo.list({ limit: 10, receiver: 'db' })).map((r) => r.idempotency_key)).toEqual([
      'b-2',
      'b-1',
    ]);
    expect((await repo.list({ limit: 10, status: 'delivered' })).map((r) => r.idempotency_key)).toEqual([
      'a-2',
    ]);
    expect((await repo.list({ limit: 10, groupKey: 'group-a' })).map((r) => r.idempotency_key)).toEqual([
      'a-2',
      'a-1',
    ]);
  });
});
