// Around the backup itself: retention with a moved clock, schedules, missed and failed backups,
// copy failures with retries, and recovery from a crash.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../../test/postgres-cluster.js';
import { waitFor } from '../../../../test/target-server.js';
import { ConflictError } from '../errors.js';
import { BackupRepository } from '../storage/backup.repository.js';
import { EventRepository } from '../storage/event.repository.js';
import { backupsSchema } from './backup.schema.js';
import { BackupService } from './backup.service.js';
import { createSource, silent, startHarness, type Harness, type SourceDatabase } from './backup.testing.js';
import { partialFolder } from './backup-dump.js';
import { azuriteConnectionString, startAzurite, type Azurite } from './offsite-azurite.testing.js';
import { databaseSchema } from '../config/databases.schema.js';

const DAY = 86_400_000;

describe('backup lifecycle', () => {
  let source: SourceDatabase;
  let azurite: Azurite;
  const harnesses: Harness[] = [];

  beforeAll(async () => {
    [source, azurite] = await Promise.all([createSource('bk_life', 500), startAzurite()]);
  }, 60_000);

  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await source?.drop();
    await azurite?.stop();
  });

  const harness = async (...args: Parameters<typeof startHarness>) => {
    const h = await startHarness(...args);
    harnesses.push(h);
    return h;
  };
  const events = (h: Harness, kind: string) =>
    new EventRepository(h.store.store.db).list({ kind, limit: 100 });

  it('retention deletes expired backups with their copies, but keeps the newest good one past retention', async () => {
    const h = await harness({
      databases: [{ id: 'app', url: source.url, backup: { retention: '35d', keepLast: 1 } }],
      backups: {
        copies: [
          { name: 'disk', dir: 'offsite' },
          {
            name: 'azure',
            azureBlob: { connectionString: azurite.connectionString, container: 'retention' },
          },
        ],
      },
    });
    const first = await h.service.run('app');
    const second = await h.service.run('app');
    const newest = await h.service.run('app');
    expect([first, second, newest].every((b) => b.copies.every((c) => c.status === 'copied'))).toBe(true);
    // A failed backup from long ago, and a recent failed one that left files behind.
    const repo = new BackupRepository(h.store.store.db);
    const now = Date.now();
    const oldFailed = {
      ...first,
      id: 'app-old-failed',
      status: 'failed' as const,
      startedAt: now - 50 * DAY,
      manifest: null,
      copies: [],
      path: join(h.dir, 'backups', 'app', 'app-old-failed'),
    };
    const leftover = {
      ...oldFailed,
      id: 'app-leftover',
      startedAt: now - 2 * DAY,
      path: join(h.dir, 'backups', 'app', 'app-leftover'),
    };
    await repo.insert(oldFailed);
    await repo.insert(leftover);
    mkdirSync(partialFolder(leftover.path), { recursive: true });
    writeFileSync(join(partialFolder(leftover.path), 'toc.dat'), 'half');

    // Nothing is old enough yet.
    expect(await h.service.applyRetention()).toEqual(['app-old-failed']);
    expect(existsSync(partialFolder(leftover.path))).toBe(false);
    expect((await h.service.list({ database: 'app' })).length).toBe(4);

    // 40 days later every good backup is past retention; the newest stays as the last good one.
    h.clock.offsetMs = 40 * DAY;
    const deleted = await h.service.applyRetention();
    expect(deleted.sort()).toEqual([first.id, second.id, leftover.id].sort());
    expect((await h.service.list({ database: 'app' })).map((b) => b.id)).toEqual([newest.id]);
    for (const gone of [first, second]) {
      expect(existsSync(gone.path)).toBe(false);
      expect(existsSync(join(h.dir, 'offsite', 'app', gone.id))).toBe(false);
    }
    expect(existsSync(newest.path)).toBe(true);
    expect(readdirSync(join(h.dir, 'offsite', 'app'))).toEqual([newest.id]);
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'retention',
    );
    const names = new Set<string>();
    for await (const blob of container.listBlobsFlat()) names.add(blob.name.split('/')[1]!);
    expect([...names]).toEqual([newest.id]);

    const deletions = await events(h, 'backup.deleted');
    expect(deletions.map((e) => JSON.parse(e.data).backupId).sort()).toEqual(
      ['app-old-failed', first.id, second.id, leftover.id].sort(),
    );
    expect(deletions.find((e) => e.message.includes(first.id))!.message).toMatch(
      /deleted by retention \(older than 35 days\)/,
    );
    expect((await events(h, 'backup.cleaned')).length).toBe(1);
  });

  it('starts one backup of a database at a time', async () => {
    const h = await harness({ databases: [{ id: 'app', url: source.url, backup: { enabled: false } }] });
    const started = await h.service.startBackup('app');
    await expect(h.service.startBackup('app')).rejects.toThrow(ConflictError);
    await expect(h.service.startBackup('app')).rejects.toThrow(/already running/);
    // run() joins the backup in flight instead of starting another.
    const joined = await h.service.run('app');
    expect(joined.id).toBe(started.record.id);
    expect((await started.done).status).toBe('succeeded');
    await expect(h.service.startBackup('nope')).rejects.toThrow(/no database "nope".*configured: app/);
  });

  it('runs backups on the cron schedule from a reloaded config, never two at once', async () => {
    const h = await harness({ databases: [{ id: 'app', url: source.url, backup: { enabled: false } }] });
    await h.service.apply(
      [
        databaseSchema.parse({
          id: 'app',
          url: source.url,
          backup: { schedule: '* * * * * *', timeZone: 'Europe/Berlin' },
        }),
      ],
      backupsSchema.parse({ dir: 'backups', binDir: inject('postgresBinDir') }),
      h.dir,
    );
    const done = await waitFor(
      async () => {
        const list = await h.service.list({ database: 'app', status: 'succeeded' });
        return list.length >= 2 ? list : undefined;
      },
      20_000,
      'two scheduled backups',
    );
    await h.service.stop();
    const all = (await h.service.list({ database: 'app' })).sort((a, b) => a.startedAt - b.startedAt);
    expect(done.every((b) => b.trigger === 'schedule')).toBe(true);
    for (let i = 1; i < all.length; i++)
      expect(all[i]!.startedAt).toBeGreaterThanOrEqual(all[i - 1]!.finishedAt!);
  });

  it('stopping cancels a running backup, even one waiting for a lock: failed, nothing left behind', async () => {
    const h = await harness({ databases: [{ id: 'app', url: source.url, backup: { enabled: false } }] });
    // A lock the backup must wait for keeps it running until the stop; a lock wait must not hold a shutdown.
    const locker = new pg.Client({ connectionString: source.url });
    await locker.connect();
    await locker.query('BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
    try {
      const started = await h.service.startBackup('app');
      await waitFor(
        async () =>
          (
            await source.query(
              `SELECT 1 FROM pg_stat_activity WHERE application_name = 'opsbook-backup' AND wait_event_type = 'Lock'`,
            )
          ).length > 0,
        15_000,
        'the backup waiting for its table lock',
      );
      await h.service.stop();
      const record = await started.done;
      expect(record).toMatchObject({ status: 'failed', error: 'the backup was cancelled' });
      expect(readdirSync(join(h.dir, 'backups', 'app'))).toEqual([]);
      await expect(h.service.startBackup('app')).rejects.toThrow(/stopping/);
      // With the lock still held, its connection is gone: the waiting query was cancelled.
      await waitFor(
        async () =>
          (await source.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'opsbook-backup'`))
            .length === 0,
        10_000,
        'the backup connections to end',
      );
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('a failed backup is recorded with its cause, an error event and last_status 0', async () => {
    const port = await freePort();
    const h = await harness({
      databases: [{ id: 'down', url: `postgres://postgres@127.0.0.1:${port}/nothing`, service: 'shop' }],
    });
    const failed = await h.service.run('down');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(
      new RegExp(`cannot connect to postgres://postgres@127.0.0.1:${port}/nothing: .*ECONNREFUSED`),
    );
    expect(existsSync(join(h.dir, 'backups', 'down'))).toBe(true);
    expect(readdirSync(join(h.dir, 'backups', 'down'))).toEqual([]);
    expect(h.gauge('opsbook_backup_last_status', { database: 'down' })).toBe(0);
    expect((await events(h, 'backup.failed'))[0]).toMatchObject({ severity: 'error', service_id: 'shop' });
  });

  it('a missed backup (newest good one older than maxAge) raises the age gauge and one event', async () => {
    const h = await harness({
      databases: [{ id: 'app', url: source.url, backup: { maxAge: '1h', enabled: true } }],
    });
    await h.service.tick();
    expect(h.gauge('opsbook_backup_age_seconds', { database: 'app' })).toBeLessThan(60);
    expect(h.gauge('opsbook_backup_max_age_seconds', { database: 'app' })).toBe(3600);
    expect(await events(h, 'backup.missed')).toEqual([]);

    h.clock.offsetMs = 2 * 3_600_000;
    await h.service.tick();
    await h.service.tick();
    expect(h.gauge('opsbook_backup_age_seconds', { database: 'app' })).toBeGreaterThan(7000);
    const missed = await events(h, 'backup.missed');
    expect(missed).toHaveLength(1);
    expect(missed[0]!.message).toMatch(/No good backup of app yet/);

    await h.service.run('app');
    expect(h.gauge('opsbook_backup_age_seconds', { database: 'app' })).toBeLessThan(60);
  });

  it('a copy that keeps failing is retried, then recorded failed with an event and the copy_failed gauge', async () => {
    const port = await freePort(); // nothing listens there
    const h = await harness({
      databases: [{ id: 'app', url: source.url, backup: { enabled: false } }],
      backups: {
        copies: [
          {
            name: 'offline',
            azureBlob: { connectionString: azuriteConnectionString(port), container: 'backups' },
          },
        ],
      },
      service: { copyRetryDelaysMs: [20, 20] },
    });
    const backup = await h.service.run('app');
    expect(backup.status).toBe('succeeded');
    const copy = await waitFor(
      async () => (await h.service.get(backup.id)).copies.find((c) => c.status === 'failed'),
      10_000,
      'the copy to fail',
    );
    expect(copy).toMatchObject({ target: 'offline' });
    expect(copy.error).toMatch(/Azure Blob \(offline\): cannot create the container: .*ECONNREFUSED/);
    expect(copy.error).not.toContain('AccountKey');
    expect(await new BackupRepository(h.store.store.db).copyAttempts(backup.id, 'offline')).toBe(3);
    expect(h.gauge('opsbook_backup_copy_failed', { database: 'app', target: 'offline' })).toBe(1);
    expect(h.gauge('opsbook_backup_last_status', { database: 'app' })).toBe(1);
    const [event] = await events(h, 'backup.copy_failed');
    expect(event!.message).toMatch(/failed after 3 attempts/);
  });

  it('a backup left running by a crash is marked failed at start and its partial folder removed', async () => {
    const h = await harness({ databases: [{ id: 'app', url: source.url, backup: { enabled: false } }] });
    const repo = new BackupRepository(h.store.store.db);
    const path = join(h.dir, 'backups', 'app', 'app-crashed');
    await repo.insert({
      id: 'app-crashed',
      database: 'app',
      status: 'running',
      trigger: 'schedule',
      startedAt: Date.now() - 60_000,
      finishedAt: null,
      path,
      sizeBytes: null,
      error: null,
      manifest: null,
      copies: [],
    });
    mkdirSync(join(partialFolder(path), 'dump'), { recursive: true });
    const again = new BackupService({
      store: h.store.store,
      logger: silent,
      databases: [databaseSchema.parse({ id: 'app', url: source.url, backup: { enabled: false } })],
      backups: backupsSchema.parse({ dir: 'backups', binDir: inject('postgresBinDir') }),
      baseDir: h.dir,
    });
    await again.start();
    await again.stop();
    expect(await repo.get('app-crashed')).toMatchObject({
      status: 'failed',
      error: 'Opsbook stopped while the backup was running',
    });
    expect(existsSync(partialFolder(path))).toBe(false);
  });
});
