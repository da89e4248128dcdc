// Drills end to end on the real PostgreSQL cluster: real pg_dump backups restored with the real
// pg_restore into scratch databases, verified, measured, reported, alerted on and cleaned up.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { createTestDatabase } from '../../../../test/databases.js';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { EventRepository } from '../storage/event.repository.js';
import type { IngestSample } from '../telemetry/series.js';
import type { BackupApi, RestoreOptions } from './backup.types.js';
import { drillPolicySchema } from './drill.schema.js';
import { DrillService, type DrillDatabase } from './drill.service.js';
import type { BackupService } from './backup.service.js';
import { FolderBackupApi, backupServiceFor } from './drill.testing.js';

const SOURCE = `
  CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text UNIQUE);
  INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 300) g;
  CREATE TABLE orders (id bigint PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2), placed timestamptz);
  INSERT INTO orders SELECT g, 1 + g % 300, g * 1.25, timestamptz '2026-01-01' + g * interval '1 minute'
    FROM generate_series(1, 2000) g;
  CREATE INDEX orders_placed_idx ON orders (placed);`;

describe('disaster-recovery drills', () => {
  let source: Awaited<ReturnType<typeof createTestDatabase>>;
  let admin: pg.Client;
  let t: TestStore;
  let dir: string;
  let backups: BackupService;
  let samples: IngestSample[];
  const services: DrillService[] = [];

  beforeAll(async () => {
    source = await createTestDatabase(inject('postgresUrl'), 'drill_src');
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    await client.query(SOURCE);
    await client.end();
    admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    t = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-drills-'));
    // The real backup service (pg_dump with sample checksums in the snapshot) for the healthy path;
    // FolderBackupApi below for backups whose manifest a test rewrites.
    backups = backupServiceFor({
      store: t.store,
      dir,
      databases: [{ id: 'shop', url: source.url, drill: { sampleRows: 100 } }],
    });
    const backup = await backups.run('shop');
    expect(backup.status, backup.error ?? '').toBe('succeeded');
  }, 60_000);

  afterAll(async () => {
    for (const s of services) await s.stop();
    await backups.stop();
    await admin.end();
    await t.cleanup();
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function service(
    drill: Record<string, unknown> = {},
    backupApi: BackupApi = backups,
    id = 'shop',
  ): DrillService {
    samples = [];
    const database: DrillDatabase = {
      id,
      url: source.url,
      service: 'checkout',
      drill: drillPolicySchema.parse(drill),
    };
    const s = new DrillService({
      store: t.store,
      backups: backupApi,
      databases: [database],
      baseDir: dir,
      reportDir: join(dir, 'backups', 'drills'),
      logger: pino({ level: 'silent' }),
      metrics: { ingest: (batch) => samples.push(...batch) },
    });
    services.push(s);
    return s;
  }

  async function scratchDatabases(): Promise<string[]> {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'opsbook\\_drill\\_%' ORDER BY 1`,
    );
    return rows.map((r) => r.datname);
  }

  /** The newest published value of a metric with these labels. */
  function metric(name: string, labels: Record<string, string> = {}): number | undefined {
    return samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .at(-1)?.value;
  }

  it('a healthy backup passes: counts, samples and amcheck verified, RTO and RPO measured, scratch dropped', async () => {
    const drills = service();
    const started = await drills.run('shop', { actor: 'ann' });
    expect(started).toMatchObject({ status: 'running', database: 'shop', trigger: 'manual', actor: 'ann' });
    expect(started.scratch.database).toMatch(/^opsbook_drill_shop_\d{17}$/);
    await expect(drills.run('shop')).rejects.toThrow(ConflictError);

    const report = await drills.wait(started.id);
    expect(report.problems).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.status).toBe('passed');
    const backup = (await backups.latest('shop'))!;
    expect(report.backup).toMatchObject({
      id: backup.id,
      snapshotAt: backup.manifest!.snapshotAt,
      tables: 2,
    });
    expect(report.tables).toEqual([
      { schema: 'public', name: 'customers', expected: 300, actual: 300, ok: true },
      { schema: 'public', name: 'orders', expected: 2000, actual: 2000, ok: true },
    ]);
    expect(report.samples.map((s) => [s.name, s.status, s.rows])).toEqual([
      ['customers', 'match', 100],
      ['orders', 'match', 100],
    ]);
    expect(report.amcheck!.indexes.map((i) => `${i.index}:${i.status}`)).toEqual([
      'customers_email_key:ok',
      'customers_pkey:ok',
      'orders_pkey:ok',
      'orders_placed_idx:ok',
    ]);
    expect(report.amcheck!.heap.map((h) => `${h.table}:${h.status}`)).toEqual(['customers:ok', 'orders:ok']);

    // RPO is the age of the backup's data at drill start; RTO runs from start to verified.
    expect(report.rpo).toEqual({
      ms: report.startedAt - backup.manifest!.snapshotAt,
      targetMs: 25 * 3_600_000,
      met: true,
    });
    expect(report.rto).toEqual({ ms: report.verifiedAt! - report.startedAt, targetMs: 3_600_000, met: true });
    expect(report.rto.ms).toBeGreaterThan(0);
    const phaseTotal = report.phases.slice(0, 5).reduce((n, p) => n + p.durationMs!, 0);
    expect(phaseTotal).toBeLessThanOrEqual(report.rto.ms!);
    expect(report.phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      'select-backup:passed',
      'restore:passed',
      'row-counts:passed',
      'sample-checksums:passed',
      'amcheck:passed',
      'cleanup:passed',
    ]);
    expect(report.scratch).toMatchObject({ dropped: true, kept: false });
    expect(await scratchDatabases()).toEqual([]);

    // Reports on disk, in the store, and the event.
    const folder = join(dir, 'backups', 'drills', report.id);
    expect(JSON.parse(readFileSync(join(folder, 'report.json'), 'utf8'))).toEqual(report);
    expect(readFileSync(join(folder, 'report.md'), 'utf8')).toMatch(
      /^# Disaster-recovery drill .*: PASSED\n/,
    );
    expect(await drills.get(report.id)).toEqual(report);
    expect((await drills.list({ database: 'shop' }))[0]).toMatchObject({
      id: report.id,
      status: 'passed',
      backupId: backup.id,
      problems: 0,
      phase: null,
    });
    const events = await new EventRepository(t.store.db).list({ kind: 'drill.*', limit: 10 });
    expect(events[0]).toMatchObject({ kind: 'drill.passed', severity: 'info', service_id: 'checkout' });

    const labels = { database: 'shop', service: 'checkout' };
    expect(metric('opsbook_drill_passed', labels)).toBe(1);
    expect(metric('opsbook_drill_status', { ...labels, status: 'passed' })).toBe(1);
    expect(metric('opsbook_drill_status', { ...labels, status: 'failed' })).toBe(0);
    expect(metric('opsbook_drill_rto_seconds', labels)).toBe(report.rto.ms! / 1000);
    expect(metric('opsbook_drill_rpo_seconds', labels)).toBe(report.rpo.ms! / 1000);
    expect(metric('opsbook_drill_last_success_timestamp_seconds', labels)).toBe(report.finishedAt! / 1000);
    expect(metric('opsbook_drill_age_seconds', labels)).toBeLessThan(5);
  });

  it('a manifest whose counts disagree with the dump fails, listing each mismatch', async () => {
    const bad = new FolderBackupApi({
      shop: { url: source.url, dir: join(dir, 'backups', 'bad'), sampleRows: 100 },
    });
    const record = await bad.run('shop');
    bad.editManifest(record.id, (m) => {
      m.tables.find((x) => x.name === 'orders')!.rows = 1999;
      m.tables.find((x) => x.name === 'customers')!.rows = 301;
    });
    const drills = service({}, bad);
    const report = await drills.wait((await drills.run('shop')).id);
    expect(report.status).toBe('failed');
    expect(report.problems).toEqual([
      'row count of public.customers: 300 restored, 301 in the backup manifest',
      'row count of public.orders: 2000 restored, 1999 in the backup manifest',
    ]);
    expect(report.tables.filter((x) => !x.ok).map((x) => [x.name, x.expected, x.actual])).toEqual([
      ['customers', 301, 300],
      ['orders', 1999, 2000],
    ]);
    // The other checks still ran, so the report shows everything wrong at once.
    expect(report.phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      'select-backup:passed',
      'restore:passed',
      'row-counts:failed',
      'sample-checksums:passed',
      'amcheck:passed',
      'cleanup:passed',
    ]);
    expect(await scratchDatabases()).toEqual([]);
    expect(metric('opsbook_drill_passed', { database: 'shop' })).toBe(0);
    expect(metric('opsbook_drill_status', { database: 'shop', status: 'failed' })).toBe(1);
    const markdown = await drills.markdown(report.id);
    expect(markdown).toContain('| public.orders | 1999 | 2000 | **MISMATCH** |');
    const events = await new EventRepository(t.store.db).list({ kind: 'drill.failed', limit: 1 });
    expect(events[0]).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('row count of public.customers'),
    });
  });

  it('a sample checksum that differs fails; a backup without them warns instead of passing the check', async () => {
    const api = new FolderBackupApi({
      shop: { url: source.url, dir: join(dir, 'backups', 'samples'), sampleRows: 100 },
    });
    const record = await api.run('shop');
    api.editManifest(record.id, (m) => {
      m.tables.find((x) => x.name === 'orders')!.sampleChecksum!.md5 = '0'.repeat(32);
    });
    let drills = service({}, api);
    let report = await drills.wait((await drills.run('shop')).id);
    expect(report.status).toBe('failed');
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^sample checksum of public\.orders differs: [0-9a-f]{32} over 100 restored rows, 0{32} over 100 in the backup$/,
      ),
    ]);

    api.editManifest(record.id, (m) => {
      for (const table of m.tables) delete table.sampleChecksum;
    });
    drills = service({}, api);
    report = await drills.wait((await drills.run('shop')).id);
    expect(report.status).toBe('passed');
    expect(report.warnings).toEqual([
      'sample checksum: not available in this backup (its manifest has no sampleChecksum)',
    ]);
    expect(report.phases.find((p) => p.name === 'sample-checksums')).toMatchObject({
      status: 'warning',
      message: 'not available in this backup',
    });
  });

  it('hands the restore the password for a scratchUrl without one, as its own connections use', async () => {
    const seen: RestoreOptions[] = [];
    const recording: BackupApi = {
      list: (filter) => backups.list(filter),
      get: (id) => backups.get(id),
      latest: (database) => backups.latest(database),
      run: (database, trigger) => backups.run(database, trigger),
      restore: async (_id, options) => {
        seen.push(options);
        throw new Error('scratch server unreachable');
      },
    };
    const drills = new DrillService({
      store: t.store,
      backups: recording,
      databases: [
        {
          id: 'shop',
          url: source.url,
          password: 'source-pw',
          drill: drillPolicySchema.parse({ scratchUrl: 'postgres://drill@127.0.0.1:1/postgres' }),
        },
      ],
      baseDir: dir,
      reportDir: join(dir, 'backups', 'drills-password'),
      logger: pino({ level: 'silent' }),
    });
    services.push(drills);
    const report = await drills.wait((await drills.run('shop')).id);
    expect(report.status).toBe('failed');
    expect(seen).toEqual([
      expect.objectContaining({
        targetUrl: 'postgres://drill@127.0.0.1:1/postgres',
        targetPassword: 'source-pw',
      }),
    ]);
  });

  it('a missed RTO target gives missed-target, its metric and a warning event', async () => {
    const drills = service({ rtoTarget: 1 });
    const report = await drills.wait((await drills.run('shop', { trigger: 'manual' })).id);
    expect(report.problems).toEqual([]);
    expect(report.status).toBe('missed-target');
    expect(report.rto).toMatchObject({ targetMs: 1, met: false });
    expect(report.rpo.met).toBe(true);
    expect(metric('opsbook_drill_status', { database: 'shop', status: 'missed-target' })).toBe(1);
    expect(metric('opsbook_drill_passed', { database: 'shop' })).toBe(0);
    expect(metric('opsbook_drill_rto_target_seconds', { database: 'shop' })).toBe(0.001);
    const events = await new EventRepository(t.store.db).list({ kind: 'drill.*', limit: 1 });
    expect(events[0]).toMatchObject({ kind: 'drill.failed', severity: 'warning' });
    expect(events[0]!.message).toMatch(/missed its targets: RTO .* \(target 1 ms\)/);
  });

  it('a damaged backup file fails the restore, naming the file, and leaves nothing behind', async () => {
    const damaged = backupServiceFor({
      store: t.store,
      dir: join(dir, 'damaged'),
      databases: [{ id: 'ledger', url: source.url }],
    });
    const backup = await damaged.run('ledger');
    const file = backup.manifest!.files.find((f) => f.path.endsWith('.dat.gz'))!;
    appendFileSync(join(backup.path, file.path), 'bit rot');
    const drills = service({}, damaged, 'ledger');
    const report = await drills.wait((await drills.run('ledger')).id);
    await damaged.stop();
    expect(report.status).toBe('failed');
    expect(report.problems).toEqual([
      expect.stringMatching(new RegExp(`^restore: .*${file.path.replace('.', '\\.')}`)),
    ]);
    expect(report.phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      'select-backup:passed',
      'restore:failed',
      'row-counts:skipped',
      'sample-checksums:skipped',
      'amcheck:skipped',
      'cleanup:passed',
    ]);
    expect(report.rto.ms).toBeNull();
    expect(report.scratch.dropped).toBe(false);
    expect(report.phases.at(-1)!.message).toMatch(/^nothing to drop/);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('keepScratch leaves the restored database for inspection', async () => {
    const drills = service({ keepScratch: true });
    const report = await drills.wait((await drills.run('shop')).id);
    expect(report.status).toBe('passed');
    expect(report.scratch).toMatchObject({ kept: true, dropped: false });
    expect(report.phases.at(-1)).toMatchObject({ name: 'cleanup', status: 'skipped' });
    expect(await scratchDatabases()).toEqual([report.scratch.database]);
    await admin.query(`DROP DATABASE ${report.scratch.database}`);
  });

  it('without a backup the drill fails at once and restores nothing', async () => {
    const empty = new FolderBackupApi({});
    const drills = service({}, empty);
    const report = await drills.wait((await drills.run('shop')).id);
    expect(report.status).toBe('failed');
    expect(report.problems).toEqual([
      'no succeeded backup of shop to restore; run one first (opsbook backup run shop)',
    ]);
    expect(report.phases.map((p) => p.status)).toEqual([
      'failed',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
    expect(empty.restores).toBe(0);
    await expect(drills.run('nope')).rejects.toThrow(NotFoundError);
    // A reloaded config adds databases (and reschedules) without a restart.
    await drills.configure(
      [{ id: 'nope', url: source.url, drill: drillPolicySchema.parse({ enabled: false }) }],
      dir,
      join(dir, 'backups', 'drills'),
    );
    const added = await drills.wait((await drills.run('nope')).id);
    expect(added.problems).toEqual([
      'no succeeded backup of nope to restore; run one first (opsbook backup run nope)',
    ]);
  });

  it('the schedule starts drills, never two of a database at once', async () => {
    const drills = service({ schedule: '* * * * * *' });
    await drills.start();
    const deadline = Date.now() + 20_000;
    let finished: Awaited<ReturnType<DrillService['list']>> = [];
    while (Date.now() < deadline) {
      finished = (await drills.list({ database: 'shop', limit: 50 })).filter(
        (d) => d.trigger === 'schedule' && d.status !== 'running',
      );
      if (finished.length >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await drills.stop();
    expect(finished.length).toBeGreaterThanOrEqual(2);
    const scheduled = (await drills.list({ database: 'shop', limit: 50 }))
      .filter((d) => d.trigger === 'schedule')
      .sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < scheduled.length; i++)
      expect(scheduled[i]!.startedAt).toBeGreaterThanOrEqual(scheduled[i - 1]!.finishedAt!);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('stopping Opsbook mid-drill fails the drill as interrupted and drops its scratch database', async () => {
    const drills = service();
    const started = await drills.run('shop');
    await drills.stop();
    const report = await drills.get(started.id);
    expect(report.status).toBe('failed');
    expect(report.problems.some((p) => p.includes('interrupted: Opsbook is stopping'))).toBe(true);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a drill left running by a stopped process is closed as failed on start', async () => {
    const drills = service();
    const started = await drills.run('shop');
    // Simulate a crash: the row says running, but no process runs it any more.
    await drills.wait(started.id);
    const stuck = { ...(await drills.get(started.id)), status: 'running' as const, finishedAt: null };
    await t.store.db
      .updateTable('drills')
      .set({ status: 'running', report: JSON.stringify(stuck) })
      .where('id', '=', started.id)
      .execute();
    const restarted = service();
    await restarted.start();
    const closed = await restarted.get(started.id);
    expect(closed.status).toBe('failed');
    expect(closed.problems).toContain('interrupted: Opsbook stopped before the drill finished');
    await restarted.stop();
    expect(existsSync(join(dir, 'backups', 'drills', started.id, 'report.md'))).toBe(true);
  });
});
