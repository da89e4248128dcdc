// PITR records on both engines: runs with their outcome, the last success per database, jobs a
// stopped Opsbook left running, and the audit of restores.
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { PitrRepository, type PitrBackupRow, type PitrRestoreRow } from './pitr.repository.js';

const backup = (id: string, patch: Partial<PitrBackupRow> = {}): PitrBackupRow => ({
  id,
  database: 'shop',
  stanza: 'shop',
  type: 'full',
  trigger: 'manual',
  status: 'running',
  actor: 'ann',
  label: null,
  progress: 0,
  started_at: 1_790_000_000_000,
  finished_at: null,
  duration_ms: null,
  size_bytes: null,
  repo_size_bytes: null,
  error: null,
  ...patch,
});

const restore = (id: string, patch: Partial<PitrRestoreRow> = {}): PitrRestoreRow => ({
  id,
  database: 'shop',
  stanza: 'shop',
  status: 'running',
  phase: 'archive',
  progress: 0,
  message: 'starting',
  target_time: 1_790_000_100_000,
  pg_data: `/srv/restores/${id}`,
  port: 6543,
  bin_dir: null,
  pg_user: 'postgres',
  actor: 'ann',
  backup_label: null,
  connection_url: null,
  recovered_to: null,
  started_at: 1_790_000_200_000,
  finished_at: null,
  duration_ms: null,
  error: null,
  phases: '[]',
  ...patch,
});

describe.each(ENGINES)('PITR repository on %s', (engine) => {
  let t: TestStore;
  afterEach(async () => t?.cleanup());

  it('records a backup run from start to outcome, and the newest success per database', async () => {
    t = await openTestStore(engine);
    const repo = new PitrRepository(t.store);
    await repo.insertBackup(backup('b-1'));
    await repo.updateBackup('b-1', {
      status: 'succeeded',
      progress: 1,
      label: '20260115-010000F',
      finished_at: 1_790_000_004_000,
      duration_ms: 4_000,
      size_bytes: 23_000_000_000,
      repo_size_bytes: 3_000_000_000,
    });
    await repo.insertBackup(
      backup('b-2', { type: 'diff', started_at: 1_790_000_010_000, status: 'failed', error: 'boom' }),
    );
    await repo.insertBackup(
      backup('b-3', {
        database: 'billing',
        status: 'succeeded',
        started_at: 1_790_000_020_000,
        finished_at: 1_790_000_021_000,
      }),
    );

    expect(await repo.getBackup('b-1')).toMatchObject({
      status: 'succeeded',
      label: '20260115-010000F',
      duration_ms: 4_000,
      size_bytes: 23_000_000_000,
      progress: 1,
    });
    expect((await repo.listBackups({ database: 'shop' })).map((b) => b.id)).toEqual(['b-2', 'b-1']);
    expect((await repo.lastSuccesses()).sort((a, b) => a.database.localeCompare(b.database))).toEqual([
      { database: 'billing', finished_at: 1_790_000_021_000 },
      { database: 'shop', finished_at: 1_790_000_004_000 },
    ]);
  });

  it('ends what a stopped Opsbook left running as failed, and keeps finished work as it was', async () => {
    t = await openTestStore(engine);
    const repo = new PitrRepository(t.store);
    await repo.insertBackup(backup('b-run'));
    await repo.insertBackup(backup('b-done', { status: 'succeeded' }));
    await repo.insertRestore(restore('r-run'));
    await repo.insertRestore(restore('r-ready', { status: 'ready', port: 6544 }));

    expect(await repo.failInterrupted(1_790_000_300_000, 'interrupted')).toEqual({ backups: 1, restores: 1 });
    expect(await repo.getBackup('b-run')).toMatchObject({
      status: 'failed',
      error: 'interrupted',
      finished_at: 1_790_000_300_000,
    });
    expect((await repo.getBackup('b-done'))?.status).toBe('succeeded');
    expect(await repo.getRestore('r-run')).toMatchObject({ status: 'failed', error: 'interrupted' });
    expect((await repo.listRestores({ status: ['running', 'ready'] })).map((r) => [r.id, r.port])).toEqual([
      ['r-ready', 6544],
    ]);
  });

  it('keeps the phases of a restore and its audit trail', async () => {
    t = await openTestStore(engine);
    const repo = new PitrRepository(t.store);
    await repo.insertRestore(restore('r-1'));
    const phases = [{ phase: 'restore', at: 1_790_000_201_000, message: 'pgBackRest restores' }];
    await repo.updateRestore('r-1', {
      phase: 'done',
      status: 'ready',
      progress: 1,
      phases: JSON.stringify(phases),
      connection_url: 'postgres://app@127.0.0.1:6543/shop',
      duration_ms: 12_500,
    });
    const row = await repo.getRestore('r-1');
    expect(row).toMatchObject({
      status: 'ready',
      port: 6543,
      target_time: 1_790_000_100_000,
      duration_ms: 12_500,
    });
    expect(JSON.parse(row!.phases)).toEqual(phases);

    await repo.audit({
      at: 1,
      actor: 'ann',
      action: 'restore.start',
      database: 'shop',
      subject: 'r-1',
      detail: '{}',
    });
    await repo.audit({
      at: 2,
      actor: 'bob',
      action: 'restore.remove',
      database: 'shop',
      subject: 'r-1',
      detail: '{}',
    });
    expect((await repo.auditOf('shop')).map((a) => [a.actor, a.action, a.at])).toEqual([
      ['bob', 'restore.remove', 2],
      ['ann', 'restore.start', 1],
    ]);
  });
});
