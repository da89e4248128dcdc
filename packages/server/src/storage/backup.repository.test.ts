// Backup records on both engines: large sizes and times, manifests as JSON, copies upserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import type { BackupManifest, BackupRecord } from '../postgres/backup.types.js';
import { BackupRepository } from './backup.repository.js';

const T0 = Date.UTC(2026, 10, 26, 2, 0, 0);
const TiB = 2 ** 40;

function record(
  id: string,
  database: string,
  startedAt: number,
  status: BackupRecord['status'] = 'running',
): BackupRecord {
  return {
    id,
    database,
    status,
    trigger: 'schedule',
    startedAt,
    finishedAt: null,
    path: `/backups/${database}/${id}`,
    sizeBytes: null,
    error: null,
    manifest: null,
    copies: [],
  };
}

const manifest = {
  id: 'a1',
  database: 'orders',
  tables: [{ schema: 'public', name: 't', rows: 3, bytes: 8192 }],
} as unknown as BackupManifest;

describe.each(ENGINES)('backup repository on %s', (engine) => {
  let t: TestStore;
  let repo: BackupRepository;
  beforeAll(async () => {
    t = await openTestStore(engine);
    repo = new BackupRepository(t.store.db);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('records a backup from running to succeeded, with its manifest and a size beyond 32 bits', async () => {
    await repo.insert(record('a1', 'orders', T0));
    await repo.finish('a1', {
      status: 'succeeded',
      finishedAt: T0 + 60_000,
      sizeBytes: 3 * TiB,
      error: null,
      manifest,
    });
    expect(await repo.get('a1')).toEqual({
      ...record('a1', 'orders', T0, 'succeeded'),
      finishedAt: T0 + 60_000,
      sizeBytes: 3 * TiB,
      manifest,
    });
    expect(await repo.get('nope')).toBeUndefined();
  });

  it('lists newest first, filtered by database and status; latest is the newest succeeded', async () => {
    await repo.insert(record('a2', 'orders', T0 + 86_400_000));
    await repo.finish('a2', {
      status: 'failed',
      finishedAt: T0 + 86_460_000,
      sizeBytes: null,
      error: 'pg_dump exited with 1',
      manifest: null,
    });
    await repo.insert(record('b1', 'billing', T0 + 1000));
    expect((await repo.list()).map((r) => r.id)).toEqual(['a2', 'b1', 'a1']);
    expect((await repo.list({ database: 'orders' })).map((r) => r.id)).toEqual(['a2', 'a1']);
    expect((await repo.list({ status: 'failed' })).map((r) => r.error)).toEqual(['pg_dump exited with 1']);
    expect((await repo.list({ limit: 1 })).map((r) => r.id)).toEqual(['a2']);
    expect((await repo.latest('orders'))?.id).toBe('a1');
    expect(await repo.latest('billing')).toBeUndefined();
  });

  it('copies are upserted per target; pending ones of succeeded backups are found for resuming', async () => {
    const copy = {
      target: 'azure',
      status: 'pending' as const,
      location: 'https://x/c/a1/',
      at: null,
      error: null,
    };
    await repo.setCopy('a1', { ...copy, attempts: 0 }, T0);
    await repo.setCopy('a1', { ...copy, error: 'ECONNREFUSED', attempts: 1 }, T0 + 1);
    await repo.setCopy(
      'a1',
      { ...copy, target: 'nas', status: 'copied', location: '/nas/a1', at: T0 + 2, attempts: 1 },
      T0 + 2,
    );
    await repo.setCopy('a2', { ...copy, attempts: 0 }, T0); // a failed backup: nothing to copy
    expect((await repo.get('a1'))!.copies).toEqual([
      { target: 'azure', status: 'pending', location: 'https://x/c/a1/', at: null, error: 'ECONNREFUSED' },
      { target: 'nas', status: 'copied', location: '/nas/a1', at: T0 + 2, error: null },
    ]);
    expect(await repo.copyAttempts('a1', 'azure')).toBe(1);
    expect(await repo.pendingCopies()).toEqual([{ backupId: 'a1', target: 'azure', attempts: 1 }]);
  });

  it('marks running backups failed after a crash, and deletes a backup with its copies', async () => {
    const crashed = await repo.failRunning(T0 + 5, 'Opsbook stopped while the backup was running');
    expect(crashed.map((r) => r.id)).toEqual(['b1']);
    expect(await repo.get('b1')).toMatchObject({
      status: 'failed',
      finishedAt: T0 + 5,
      error: 'Opsbook stopped while the backup was running',
    });
    expect(await repo.failRunning(T0 + 6, 'x')).toEqual([]);
    await repo.delete('a1');
    expect(await repo.get('a1')).toBeUndefined();
    expect(await repo.copyAttempts('a1', 'azure')).toBe(0);
  });

  it('remembers when each database was first watched', async () => {
    expect(Object.fromEntries(await repo.watch(['orders'], T0))).toEqual({ orders: T0 });
    expect(Object.fromEntries(await repo.watch(['orders', 'billing'], T0 + 10))).toEqual({
      orders: T0,
      billing: T0 + 10,
    });
  });
});
