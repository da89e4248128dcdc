// A real backup with pg_dump of a database in the throwaway cluster, copied to a second directory and
// to Azure Blob Storage (Azurite), verified, and restored with pg_restore.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotAllowedError } from '../errors.js';
import { EventRepository } from '../storage/event.repository.js';
import type { BackupRecord, RestoreProgress } from './backup.types.js';
import {
  createSource,
  databaseExists,
  dropDatabase,
  rowCounts,
  stagingDatabases,
  startHarness,
  urlOf,
  type Harness,
  type SourceDatabase,
} from './backup.testing.js';
import { startAzurite, type Azurite } from './offsite-azurite.testing.js';

const exec = promisify(execFile);

describe('backups with pg_dump, copies and restore', () => {
  let source: SourceDatabase;
  let azurite: Azurite;
  let h: Harness;
  let backup: BackupRecord;
  const restored: string[] = [];

  beforeAll(async () => {
    [source, azurite] = await Promise.all([createSource('bk_src'), startAzurite()]);
    h = await startHarness({
      databases: [{ id: 'app', url: source.url, service: 'shop', backup: { jobs: 2, compression: 6 } }],
      backups: {
        copies: [
          { name: 'second-disk', dir: 'offsite' },
          {
            name: 'azure',
            azureBlob: { connectionString: azurite.connectionString, container: 'backups', prefix: 'prod' },
          },
        ],
      },
    });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    for (const name of restored) await dropDatabase(name);
    await source?.drop();
    await azurite?.stop();
  });

  it('dumps the database into the documented layout, with row counts from the dump snapshot', async () => {
    // Writes during the backup must not make the manifest disagree with the dump: both read one snapshot.
    let writing = true;
    const writer = (async () => {
      const client = new pg.Client({ connectionString: source.url });
      await client.connect();
      while (writing) await client.query(`INSERT INTO orders (customer, total) VALUES (1, 1)`);
      await client.end();
    })();
    await new Promise((r) => setTimeout(r, 50));
    backup = await h.service.run('app');
    writing = false;
    await writer;

    expect(backup).toMatchObject({ database: 'app', status: 'succeeded', trigger: 'manual', error: null });
    expect(backup.path).toBe(join(h.dir, 'backups', 'app', backup.id));
    expect(readdirSync(backup.path).sort()).toEqual(['SHA256SUMS', 'dump', 'manifest.json']);
    expect(readdirSync(join(backup.path, 'dump'))).toContain('toc.dat');
    // Nothing half-written is left beside it.
    expect(readdirSync(join(h.dir, 'backups', 'app'))).toEqual([backup.id]);

    const manifest = JSON.parse(readFileSync(join(backup.path, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual(backup.manifest);
    expect(manifest).toMatchObject({
      id: backup.id,
      database: 'app',
      dbname: source.name,
      format: 'directory',
      jobs: 2,
    });
    expect(manifest.serverVersion).toMatch(/^15\./);
    expect(manifest.walLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(manifest.snapshotAt).toBeGreaterThanOrEqual(manifest.startedAt);
    expect(manifest.finishedAt).toBeGreaterThanOrEqual(manifest.snapshotAt);
    // Where the time went, to tune jobs, compression and drill.sampleRows.
    const ms = expect.any(Number);
    expect(manifest.timings).toEqual({
      dumpMs: ms,
      rowCountMs: ms,
      sampleChecksumMs: ms,
      countsAfterDumpMs: ms,
      fileChecksumMs: ms,
    });
    expect(manifest.timings.dumpMs).toBeGreaterThan(0);
    expect(manifest.timings.dumpMs).toBeLessThanOrEqual(manifest.finishedAt - manifest.startedAt);
    const tables = Object.fromEntries(
      manifest.tables.map((t: { schema: string; name: string; rows: number }) => [
        `${t.schema}.${t.name}`,
        t.rows,
      ]),
    );
    expect(tables['public.customers']).toBe(120);
    expect(tables['audit.Log Entries']).toBe(7);
    expect(tables['public.orders']).toBeGreaterThanOrEqual(50_000);
    expect(manifest.tables.every((t: { bytes: number }) => t.bytes > 0)).toBe(true);
    expect(manifest.sizeBytes).toBe(
      manifest.files.reduce((s: number, f: { bytes: number }) => s + f.bytes, 0),
    );
    expect(backup.sizeBytes).toBe(manifest.sizeBytes);

    // The dump holds exactly the rows the manifest counted, though inserts went on during the backup.
    const into = `bk_consistent_${Date.now()}`;
    restored.push(into);
    await h.service.restore(backup.id, { to: into });
    const counts = await rowCounts(urlOf(into));
    expect(counts['public.orders']).toBe(tables['public.orders']);
    expect((await rowCounts(source.url))['public.orders']).toBeGreaterThan(tables['public.orders']);
  });

  it('writes SHA256SUMS that sha256sum -c accepts', async () => {
    const sums = readFileSync(join(backup.path, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums).toHaveLength(backup.manifest!.files.length);
    expect(sums).toContain(`${backup.manifest!.files[0]!.sha256}  ${backup.manifest!.files[0]!.path}`);
    const { stdout } = await exec('sha256sum', ['-c', 'SHA256SUMS'], { cwd: backup.path });
    expect(stdout).toMatch(/dump\/toc\.dat: OK/);
  });

  it('records the completed backup as an info event and publishes its gauges', async () => {
    const events = await new EventRepository(h.store.store.db).list({ kind: 'backup.*', limit: 50 });
    const completed = events.find((e) => e.kind === 'backup.completed' && e.message.includes(backup.id));
    expect(completed).toMatchObject({ severity: 'info', service_id: 'shop' });
    expect(completed!.message).toMatch(/3 tables/);
    expect(h.gauge('opsbook_backup_last_status', { database: 'app', service: 'shop' })).toBe(1);
    expect(h.gauge('opsbook_backup_size_bytes', { database: 'app' })).toBe(backup.sizeBytes);
    expect(h.gauge('opsbook_backup_last_success_timestamp_seconds', { database: 'app' })).toBe(
      backup.finishedAt! / 1000,
    );
    expect(h.gauge('opsbook_backup_age_seconds', { database: 'app' })).toBeLessThan(60);
    expect(h.gauge('opsbook_backup_copy_failed', { database: 'app', target: 'azure' })).toBe(0);
  });

  it('copies the backup to a second directory and to Azure Blob Storage, verified at both', async () => {
    expect(backup.copies.map((c) => [c.target, c.status, c.error])).toEqual([
      ['azure', 'copied', null],
      ['second-disk', 'copied', null],
    ]);
    const disk = backup.copies.find((c) => c.target === 'second-disk')!;
    expect(disk.location).toBe(join(h.dir, 'offsite', 'app', backup.id));
    await exec('sha256sum', ['-c', 'SHA256SUMS'], { cwd: disk.location });
    expect(readFileSync(join(disk.location, 'manifest.json'), 'utf8')).toBe(
      readFileSync(join(backup.path, 'manifest.json'), 'utf8'),
    );

    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'backups',
    );
    const blobs = new Map<string, { bytes: number; sha256?: string }>();
    for await (const blob of container.listBlobsFlat({
      prefix: `prod/app/${backup.id}/`,
      includeMetadata: true,
    }))
      blobs.set(blob.name, { bytes: blob.properties.contentLength!, sha256: blob.metadata?.sha256 });
    for (const file of backup.manifest!.files)
      expect(blobs.get(`prod/app/${backup.id}/${file.path}`)).toEqual({
        bytes: file.bytes,
        sha256: file.sha256,
      });
    expect(blobs.has(`prod/app/${backup.id}/manifest.json`)).toBe(true);
    expect(backup.copies.find((c) => c.target === 'azure')!.location).toMatch(
      new RegExp(`/devstoreaccount1/backups/prod/app/${backup.id}/$`),
    );

    const report = await h.service.verify(backup.id);
    expect(report.ok).toBe(true);
    expect(report.locations.map((l) => [l.target, l.ok])).toEqual([
      ['local', true],
      ['azure', true],
      ['second-disk', true],
    ]);
  });

  it('verify names the file that changed in a copy', async () => {
    const disk = backup.copies.find((c) => c.target === 'second-disk')!;
    const data = backup.manifest!.files.find((f) => f.path.endsWith('.dat.gz'))!;
    const file = join(disk.location, data.path);
    const original = readFileSync(file);
    const changed = Buffer.from(original);
    changed[changed.length - 1] = changed.at(-1)! ^ 0xff;
    writeFileSync(file, changed);
    try {
      const report = await h.service.verify(backup.id);
      expect(report.ok).toBe(false);
      const bad = report.locations.find((l) => l.target === 'second-disk')!;
      expect(bad.ok).toBe(false);
      expect(bad.error).toContain(data.path);
      expect(report.locations.find((l) => l.target === 'local')!.ok).toBe(true);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('restores into a new database with the same row counts, reporting progress by phase', async () => {
    const to = `bk_restored_${Date.now()}`;
    restored.push(to);
    const progress: RestoreProgress[] = [];
    const result = await h.service.restore(backup.id, { to, jobs: 2, onProgress: (p) => progress.push(p) });

    expect(result).toMatchObject({
      backupId: backup.id,
      database: 'app',
      checksumsVerified: backup.manifest!.files.length,
    });
    expect(result.targetUrl).toBe(urlOf(to));
    const expected = Object.fromEntries(
      backup.manifest!.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]),
    );
    expect(await rowCounts(urlOf(to))).toEqual(expected);
    // Indexes, the view and the foreign key came back too.
    const objects = await new pg.Client({ connectionString: urlOf(to) });
    await objects.connect();
    const { rows } = await objects.query(
      `SELECT (SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer_idx') AS idx,
              (SELECT count(*) FROM pg_views WHERE viewname = 'big_orders') AS views,
              (SELECT count(*) FROM pg_constraint WHERE contype = 'f') AS fks`,
    );
    await objects.end();
    expect(rows[0]).toEqual({ idx: '1', views: '1', fks: '1' });

    const phases = [...new Set(progress.map((p) => p.phase))];
    expect(phases).toEqual(['verify', 'create-database', 'restore', 'analyze', 'done']);
    const fractions = progress.map((p) => p.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBe(1);
    expect(progress.filter((p) => p.phase === 'restore').length).toBeGreaterThan(2);
    expect(await stagingDatabases()).toEqual([]);
  });

  it('refuses to restore over the source without force, and over any existing database', async () => {
    await expect(h.service.restore(backup.id, { to: source.name })).rejects.toThrow(NotAllowedError);
    await expect(h.service.restore(backup.id, { to: source.name })).rejects.toThrow(/source database.*force/);
    await expect(h.service.restore(backup.id, { to: restored[0]! })).rejects.toThrow(ConflictError);
    await expect(h.service.restore(backup.id, { to: restored[0]! })).rejects.toThrow(
      /already exists.*pick another name.*or drop it/,
    );
    await expect(h.service.restore(backup.id, { to: 'template1' })).rejects.toThrow(/system database/);
    await expect(h.service.restore(backup.id, { to: 'bad name;' })).rejects.toThrow(
      /not a usable database name/,
    );
  });

  it('a tampered dump file stops the restore before pg_restore runs, naming the file', async () => {
    const second = await h.service.run('app');
    const data = second.manifest!.files.find((f) => f.path.endsWith('.dat.gz'))!;
    const file = join(second.path, data.path);
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    writeFileSync(file, bytes);
    const to = `bk_tampered_${Date.now()}`;
    const error = await h.service.restore(second.id, { to }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain(data.path);
    expect((error as Error).message).toMatch(/damaged, nothing was restored/);
    expect(await databaseExists(to)).toBe(false);
    expect(await stagingDatabases()).toEqual([]);
  });

  it('restores from the off-site copy when the local folder is gone', async () => {
    const third = await h.service.run('app');
    rmSync(third.path, { recursive: true, force: true });
    const to = `bk_from_copy_${Date.now()}`;
    restored.push(to);
    await h.service.restore(third.id, { to });
    expect((await rowCounts(urlOf(to)))['public.customers']).toBe(120);
    expect(readdirSync(join(h.dir, 'backups')).filter((n) => n.startsWith('.restore-'))).toEqual([]);
  });

  it('cancelling a restore stops pg_restore and drops the half-restored database', async () => {
    const to = `bk_cancelled_${Date.now()}`;
    const controller = new AbortController();
    let phaseAtAbort: number | undefined;
    const error = await h.service
      .restore(backup.id, {
        to,
        jobs: 1,
        signal: controller.signal,
        onProgress: (p) => {
          // Once pg_restore reports restored objects, it is running: the abort has a process to stop.
          if (p.phase === 'restore' && p.message.startsWith('restored')) {
            phaseAtAbort = p.fraction;
            controller.abort();
          }
        },
      })
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(/cancelled/);
    expect(phaseAtAbort).toBeLessThan(0.95);
    expect(await databaseExists(to)).toBe(false);
    expect(await stagingDatabases()).toEqual([]);
  });

  it('with force, replaces the source database from the backup', async () => {
    await source.query('DELETE FROM audit."Log Entries"');
    expect((await rowCounts(source.url))['audit.Log Entries']).toBe(0);
    await h.service.restore(backup.id, { to: source.name, force: true });
    const counts = await rowCounts(source.url);
    expect(counts['audit.Log Entries']).toBe(7);
    expect(counts['public.orders']).toBe(backup.manifest!.tables.find((t) => t.name === 'orders')!.rows);
    expect(existsSync(backup.path)).toBe(true);
  });
});
