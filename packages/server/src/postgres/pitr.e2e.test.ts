// Point-in-time recovery end to end: a real PostgreSQL 15 cluster archiving WAL with the real
// pgBackRest, a running Opsbook driving it through its API and CLI, and a restore to a chosen time
// into a new data directory and port whose rows are exactly those of that time.
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import {
  ensureCommand,
  freePort,
  startPostgresCluster,
  type PostgresCluster,
} from '../../../../test/postgres-cluster.js';
import { waitFor } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';
import { isRunning, stopCluster } from './pitr.cluster.js';
import { userIds } from './pitr.exec.js';

const BIN = resolve(import.meta.dirname, '../../bin/opsbook.js');
const asRoot = process.getuid?.() === 0;
const owner = asRoot ? 'postgres' : userInfo().username;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', OPSBOOK_USER: 'cli-tester' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function sql<T extends object>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Switches to a new WAL segment and waits until the finished one is in the repository. */
async function archiveCurrentWal(url: string): Promise<void> {
  const [{ wal }] = (await sql<{ wal: string }>(url, 'select pg_walfile_name(pg_switch_wal()) as wal')) as [
    { wal: string },
  ];
  await waitFor(
    async () => {
      const [row] = await sql<{ last: string | null }>(
        url,
        'select last_archived_wal as last from pg_stat_archiver',
      );
      return row?.last != null && row.last >= wal;
    },
    30_000,
    `WAL ${wal} archived`,
  );
}

describe('point-in-time recovery with pgBackRest', () => {
  let work: string;
  let cluster: PostgresCluster;
  let opsbook: Opsbook;
  let call: ApiCall;
  let restoredDir: string;
  let restorePort: number;
  let restoreId: string | undefined;
  let diffLabel: string;
  /** After the last change, with no commit after it: only the WAL Opsbook pushes before restoring ends past it. */
  let latestTarget: number;
  let latestDir: string;
  let latestPort: number;
  let latestId: string | undefined;
  const db = 'shop';

  beforeAll(async () => {
    ensureCommand('pgbackrest', 'pgbackrest');
    work = mkdtempSync(join(tmpdir(), 'opsbook-pitr-'));
    // The server's archiver and pgBackRest run as the cluster owner: it must reach the config and repository.
    if (asRoot) {
      const { uid, gid } = userIds('postgres');
      chownSync(work, uid, gid);
    }
    const configFile = join(work, 'pgbackrest.conf');
    const stanza = `opsbook-${randomBytes(4).toString('hex')}`;
    cluster = await startPostgresCluster({
      settings: {
        wal_level: 'replica',
        archive_mode: 'on',
        // pg_ctl hands these to a shell: the quotes keep the command one value.
        archive_command: `'pgbackrest --config=${configFile} --stanza=${stanza} archive-push %p'`,
        full_page_writes: 'on',
      },
    });
    restoredDir = join(work, 'restored', 'shop-at-t');
    restorePort = await freePort();
    latestDir = join(work, 'restored', 'shop-latest');
    latestPort = await freePort();
    const dir = join(work, 'opsbook');
    mkdirSync(dir);
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
databases:
  - id: ${db}
    url: ${cluster.url}
    pitr:
      stanza: ${stanza}
      pgData: ${join(cluster.dataDir, 'data')}
      pgSocketPath: ${cluster.dataDir}
      pgUser: ${owner}
      repoPath: ${join(work, 'repo')}
      logPath: ${join(work, 'log')}
      configFile: ${configFile}
      compressType: lz4
  - id: ghost
    url: ${cluster.url}
    pitr:
      stanza: ${stanza}-ghost
      pgData: ${join(cluster.dataDir, 'data')}
      pgSocketPath: ${cluster.dataDir}
      pgUser: ${owner}
      repoPath: ${join(work, 'repo')}
      logPath: ${join(work, 'log')}
      configFile: ${join(work, 'ghost.conf')}
`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    call = apiCaller(() => opsbook.url);
  }, 60_000);

  afterAll(async () => {
    // The restored cluster must not outlive the test, whatever failed.
    for (const [pgData, port] of [
      [restoredDir, restorePort],
      [latestDir, latestPort],
    ] as const)
      if (pgData && isRunning(pgData))
        await stopCluster({ pgData, port, pgUser: owner, binDir: cluster.binDir });
    await opsbook?.stop();
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('checks the server settings, then creates the stanza', async () => {
    const check = await call('GET', `/api/v1/databases/${db}/pitr/check`);
    expect(check.status).toBe(200);
    const status = Object.fromEntries(check.body.findings.map((f: any) => [f.id, f.status]));
    expect(status).toMatchObject({
      pgbackrest: 'ok',
      'config-file': 'ok',
      wal_level: 'ok',
      archive_mode: 'ok',
      archive_command: 'ok',
      archive_timeout: 'warning',
    });
    expect(check.body.archiveCommand).toContain('archive-push %p');

    const setup = await call('POST', `/api/v1/databases/${db}/pitr/setup`, { actor: 'ann' });
    expect(setup.status).toBe(200);
    expect(setup.body.check.ok).toBe(true);

    const unknown = await call('GET', '/api/v1/databases/nope/pitr');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/PITR is not configured for database "nope"/);
  }, 60_000);

  it('records backups with their outcome: a full from the API, a diff from the CLI, a failing one, and the metrics', async () => {
    const started = await call('POST', `/api/v1/databases/${db}/pitr/backups`, {
      type: 'full',
      actor: 'ann',
    });
    expect(started.status).toBe(202);
    expect(started.body.status).toBe('running');
    const second = await call('POST', `/api/v1/databases/${db}/pitr/backups`, { type: 'incr', actor: 'bob' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(`a backup of ${db} is already running (${started.body.id})`);
    const full = await waitFor(
      async () => {
        const r = await call('GET', `/api/v1/pitr-backups/${started.body.id}`);
        return r.body.status === 'running' ? undefined : r.body;
      },
      60_000,
      'the full backup',
    );
    expect(full).toMatchObject({
      status: 'succeeded',
      type: 'full',
      trigger: 'manual',
      actor: 'ann',
      error: null,
    });
    expect(full.label).toMatch(/F$/);
    expect(full.sizeBytes).toBeGreaterThan(1_000_000);
    expect(full.durationMs).toBeGreaterThan(0);

    const metric = await call(
      'GET',
      `/api/v1/query?query=${encodeURIComponent(`opsbook_pitr_last_backup_success_timestamp_seconds{database="${db}"}`)}`,
    );
    expect(Number(metric.body.data.result[0].value[1])).toBe(full.finishedAt / 1000);

    const diff = await cli(['pitr', 'backup', db, '--type', 'diff', '--url', opsbook.url]);
    expect(diff.stderr).not.toMatch(/error/);
    expect(diff.code).toBe(0);
    diffLabel = /succeeded: (\S+D),/.exec(diff.stdout)?.[1] ?? '';
    expect(diffLabel).toMatch(new RegExp(`^${full.label}_\\d{8}-\\d{6}D$`));

    const info = await call('GET', `/api/v1/databases/${db}/pitr`);
    expect(info.body.backups.map((b: any) => b.type)).toEqual(['full', 'diff']);
    expect(info.body.runs.map((r: any) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(info.body.window.earliest).toBe(info.body.backups[0].stoppedAt + 1000);
    expect(info.body.schedule).toMatchObject({
      full: '0 1 * * 0',
      diff: '0 1 * * 1-6',
      incr: null,
      timezone: 'UTC',
    });
    const nextFull = new Date(info.body.schedule.next.full);
    expect([nextFull.getUTCDay(), nextFull.getUTCHours(), nextFull.getUTCMinutes()]).toEqual([0, 1, 0]);
    expect(info.body.schedule.next.full - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);

    // A stanza nobody set up: the backup fails fast, says what to do, and the failure is a metric.
    const ghost = await call('POST', '/api/v1/databases/ghost/pitr/backups', { type: 'full', actor: 'ann' });
    const failed = await waitFor(
      async () => {
        const r = await call('GET', `/api/v1/pitr-backups/${ghost.body.id}`);
        return r.body.status === 'running' ? undefined : r.body;
      },
      30_000,
      'the failing backup',
    );
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/ERROR: \[055\].*run `opsbook pitr setup` first/);
    const failedMetric = await call(
      'GET',
      `/api/v1/query?query=${encodeURIComponent('opsbook_pitr_last_backup_failed')}`,
    );
    expect(
      Object.fromEntries(failedMetric.body.data.result.map((r: any) => [r.metric.database, r.value[1]])),
    ).toEqual({ shop: '0', ghost: '1' });
  }, 90_000);

  it('restores the rows as they were at a chosen time into a new data directory and port', async () => {
    // A tablespace too: the restore must not write into the source's tablespace folder.
    const tablespace = join(work, 'tablespace');
    mkdirSync(tablespace);
    if (asRoot) chownSync(tablespace, userIds('postgres').uid, userIds('postgres').gid);
    await sql(cluster.url, `create tablespace fast location '${tablespace}'`);
    // The backups predate it: replaying its creation would write into the source's own folder.
    const beforeTablespace = await call('POST', `/api/v1/databases/${db}/pitr/restores`, {
      targetTime: new Date().toISOString(),
      pgData: join(work, 'restored', 'refused'),
      port: await freePort(),
      confirm: true,
      actor: 'ann',
    });
    expect(beforeTablespace.status).toBe(400);
    expect(beforeTablespace.body.error.message).toMatch(
      new RegExp(
        `^backup set \\S+, the newest before the target, lacks the tablespace at ${tablespace}: created later`,
      ),
    );
    expect(existsSync(join(work, 'restored', 'refused'))).toBe(false);
    const incr = await call('POST', `/api/v1/databases/${db}/pitr/backups`, { type: 'incr', actor: 'ann' });
    const incrLabel = (
      await waitFor(
        async () => {
          const r = await call('GET', `/api/v1/pitr-backups/${incr.body.id}`);
          return r.body.status === 'running' ? undefined : r.body;
        },
        60_000,
        'the incremental backup',
      )
    ).label as string;
    expect(incrLabel).toMatch(/I$/);
    // A restore starts from the newest backup consistent before the target (whole seconds after its stop).
    const incrStop = (await call('GET', `/api/v1/databases/${db}/pitr`)).body.backups.at(-1)
      .stoppedAt as number;
    await waitFor(() => Date.now() > incrStop + 1_000 || undefined, 5_000, 'a second past the backup');

    await sql(cluster.url, 'create table orders (id int primary key, note text not null) tablespace fast');
    await sql(cluster.url, "insert into orders select i, 'original ' || i from generate_series(1, 5) i");
    // The moment after the insert committed, rounded up to the millisecond the API takes.
    const [{ t }] = (await sql<{ t: string }>(
      cluster.url,
      'select ceil(extract(epoch from clock_timestamp()) * 1000)::bigint::text as t',
    )) as [{ t: string }];
    const target = Number(t);
    await archiveCurrentWal(cluster.url);
    await sql(cluster.url, 'delete from orders where id in (1, 2)');
    await sql(cluster.url, "update orders set note = 'changed' where id = 3");
    await sql(cluster.url, "insert into orders values (6, 'later')");
    await archiveCurrentWal(cluster.url);
    latestTarget = Number(
      (
        await sql<{ t: string }>(
          cluster.url,
          'select ceil(extract(epoch from clock_timestamp()) * 1000)::text as t',
        )
      )[0]!.t,
    );

    const info = await call('GET', `/api/v1/databases/${db}/pitr`);
    const window = info.body.window;
    expect(window.earliest).toBeLessThanOrEqual(target);
    expect(window.latest).toBeGreaterThanOrEqual(target);
    expect(window.latestSource).toBe('archive');

    const body = {
      targetTime: new Date(target).toISOString(),
      pgData: restoredDir,
      port: restorePort,
      confirm: true,
      actor: 'ann',
    };
    const early = await call('POST', `/api/v1/databases/${db}/pitr/restores`, {
      ...body,
      targetTime: new Date(window.earliest - 3_600_000).toISOString(),
    });
    expect(early.status).toBe(400);
    expect(early.body.error.field).toBe('targetTime');
    expect(early.body.error.message).toContain(
      `recoverable window of ${db}: ${new Date(window.earliest).toISOString()} .. `,
    );
    const unconfirmed = await call('POST', `/api/v1/databases/${db}/pitr/restores`, {
      ...body,
      confirm: false,
    });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.error.field).toBe('confirm');
    const overSource = await call('POST', `/api/v1/databases/${db}/pitr/restores`, {
      ...body,
      pgData: join(cluster.dataDir, 'data', 'inside'),
    });
    expect(overSource.status).toBe(400);
    expect(overSource.body.error.message).toMatch(/overlaps the running cluster's data directory/);
    expect(existsSync(restoredDir)).toBe(false);

    const started = await call('POST', `/api/v1/databases/${db}/pitr/restores`, body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    restoreId = started.body.id;
    const restore = await waitFor(
      async () => {
        const r = await call('GET', `/api/v1/pitr-restores/${restoreId}`);
        return r.body.status === 'running' ? undefined : r.body;
      },
      60_000,
      'the restore',
    );
    expect(restore.error).toBeNull();
    expect(restore).toMatchObject({ status: 'ready', phase: 'done', progress: 1, clusterRunning: true });
    expect(restore.phases.map((p: any) => p.phase)).toEqual([
      'archive',
      'archive',
      'restore',
      'configure',
      'start',
      'recover',
      'done',
    ]);
    expect(restore.backupLabel).toBe(incrLabel);
    expect(restore.durationMs).toBeGreaterThan(0);
    expect(restore.connectionUrl).toBe(`postgres://postgres@127.0.0.1:${restorePort}/postgres`);

    const [state] = await sql<{ recovering: boolean }>(
      restore.connectionUrl,
      'select pg_is_in_recovery() as recovering',
    );
    expect(state?.recovering).toBe(false);
    const restored = await sql<{ id: number; note: string }>(
      restore.connectionUrl,
      'select id, note from orders order by id',
    );
    expect(restored).toEqual([1, 2, 3, 4, 5].map((id) => ({ id, note: `original ${id}` })));
    const [{ location }] = (await sql<{ location: string }>(
      restore.connectionUrl,
      "select pg_tablespace_location(oid) as location from pg_tablespace where spcname = 'fast'",
    )) as [{ location: string }];
    expect(location).toMatch(new RegExp(`^${restoredDir}\\.tablespaces/`));
    // The source went on without it.
    const source = await sql<{ id: number }>(cluster.url, 'select id from orders order by id');
    expect(source.map((r) => r.id)).toEqual([3, 4, 5, 6]);
  }, 90_000);

  it('the CLI restores to just after the last change, shows the window and refuses a target outside it', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const restoreArgs = (port: string) => [
      'pitr',
      'restore',
      db,
      '--time',
      future,
      '--data-dir',
      join(work, 'restored', 'never'),
      '--port',
      port,
      '--url',
      opsbook.url,
    ];
    // Independent commands at once: each CLI start compiles TypeScript, which is slow on a busy machine.
    const [latest, info, refused, unconfirmed, list] = await Promise.all([
      cli([
        'pitr',
        'restore',
        db,
        '--time',
        new Date(latestTarget).toISOString(),
        '--data-dir',
        latestDir,
        '--port',
        String(latestPort),
        '--yes',
        '--url',
        opsbook.url,
      ]),
      cli(['pitr', 'info', db, '--url', opsbook.url]),
      cli([...restoreArgs(String(await freePort())), '--yes']),
      cli(restoreArgs('6543')),
      cli(['pitr', 'restores', db, '--json', '--url', opsbook.url]),
    ]);
    // Later than any archived commit: the restore pushed the newest WAL first, so recovery found its end.
    expect(latest.stderr).not.toMatch(/error/);
    expect(latest.code).toBe(0);
    latestId = /\(restore (r-[0-9a-f]+)\)/.exec(latest.stdout)?.[1];
    expect(latest.stdout).toMatch(`connect:     postgres://postgres@127.0.0.1:${latestPort}/postgres`);
    expect(
      await sql(
        `postgres://postgres@127.0.0.1:${latestPort}/postgres`,
        'select id, note from orders order by id',
      ),
    ).toEqual([
      { id: 3, note: 'changed' },
      { id: 4, note: 'original 4' },
      { id: 5, note: 'original 5' },
      { id: 6, note: 'later' },
    ]);

    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/recoverable window: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \.\. \d{4}-/);
    expect(info.stdout).toMatch(new RegExp(`${diffLabel}\\s+diff`));

    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /is in the future; the recoverable window of shop is \d{4}-.* \.\. \d{4}-/,
    );
    expect(existsSync(join(work, 'restored', 'never'))).toBe(false);

    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toMatch(/pass --yes to confirm/);

    expect(JSON.parse(list.stdout).items.map((r: any) => [r.id, r.status])).toContainEqual([
      restoreId,
      'ready',
    ]);
  }, 90_000);

  it('remove stops the restored clusters and deletes their data directories, and the work is on record', async () => {
    const [removed, unconfirmed] = await Promise.all([
      cli(['pitr', 'remove', restoreId!, '--yes', '--url', opsbook.url]),
      call('DELETE', `/api/v1/pitr-restores/${latestId}?actor=ann`),
    ]);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(existsSync(restoredDir)).toBe(false);
    expect(existsSync(`${restoredDir}.tablespaces`)).toBe(false);
    await expect(sql(`postgres://postgres@127.0.0.1:${restorePort}/postgres`, 'select 1')).rejects.toThrow(
      /ECONNREFUSED/,
    );
    expect(await call('GET', `/api/v1/pitr-restores/${restoreId}`)).toMatchObject({
      body: { status: 'removed', clusterRunning: false },
    });

    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.error.message).toMatch(`deletes ${latestDir}`);
    expect(isRunning(latestDir)).toBe(true);
    const stopped = await cli(['pitr', 'stop', latestId!, '--url', opsbook.url]);
    expect(stopped.stdout).toMatch(`restored cluster ${latestId} stopped; data kept in ${latestDir}`);
    expect(isRunning(latestDir)).toBe(false);
    expect(existsSync(latestDir)).toBe(true);
    const deleted = await call('DELETE', `/api/v1/pitr-restores/${latestId}?actor=ann&confirm=true`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ status: 'removed', clusterRunning: false });
    expect(existsSync(latestDir)).toBe(false);

    const events = await call('GET', '/api/v1/events?kind=pitr.*&limit=20');
    expect(events.body.items.map((e: any) => e.kind).sort()).toEqual([
      'pitr.backup.failed',
      'pitr.backup.succeeded',
      'pitr.backup.succeeded',
      'pitr.backup.succeeded',
      'pitr.restore.removed',
      'pitr.restore.removed',
      'pitr.restore.succeeded',
      'pitr.restore.succeeded',
    ]);
  }, 60_000);
});
