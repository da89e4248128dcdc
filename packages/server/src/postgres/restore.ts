// Restore (guide 9.2): checksums first, then pg_restore into a fresh staging database that is renamed
// to the target name only once it is complete. A failed or cancelled restore drops the staging
// database and leaves the target (which may be the source itself, with force) untouched.
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { ConflictError, InputError, IntegrationError, NotAllowedError } from '../errors.js';
import type { BackupRecord, RestoreOptions, RestoreProgress, RestoreResult } from './backup.types.js';
import { ChecksumError, DUMP_DIR, verifyFiles } from './backup-checksums.js';
import { newClient, toolEnv, withDatabase, type PgConnection } from './backup-connection.js';
import { findPgTool, majorOf, runTool, stderrTail } from './backup-tools.js';
import { RestoreProgressTracker } from './restore-progress.js';
import { quoteIdent } from './sql-text.js';

export interface RestoreRun extends Omit<RestoreOptions, 'targetUrl'> {
  backup: BackupRecord;
  /** The folder holding dump/ (the backup folder, or a copy fetched from off-site). */
  folder: string;
  /** The backed-up database, to tell whether `to` is the source itself. */
  source: PgConnection;
  /** The server to restore into; the source's server when undefined. */
  target?: PgConnection;
  binDir?: string;
  now(): number;
}

const APP = 'opsbook-restore';
const RESERVED = new Set(['postgres', 'template0', 'template1']);
const NAME = /^[A-Za-z_][A-Za-z0-9_$-]*$/;

/** Fractions of the whole restore at which each phase starts. */
const PHASE = { verify: 0, create: 0.1, restore: 0.12, analyze: 0.95 } as const;

/**
 * What can be refused before any work: a backup that is not restorable, a bad name, and the source
 * database itself without force.
 */
export function checkRestoreTarget(
  backup: BackupRecord,
  to: string,
  source: PgConnection,
  target: PgConnection | undefined,
  force: boolean | undefined,
): void {
  if (backup.status !== 'succeeded' || !backup.manifest)
    throw new ConflictError(
      `backup ${backup.id} is ${backup.status}; only a succeeded backup can be restored`,
    );
  if (!NAME.test(to) || Buffer.byteLength(to) > 63)
    throw new InputError(
      `"${to}" is not a usable database name: letters, digits, _ $ and -, starting with a letter or _, at most 63 bytes`,
      'to',
    );
  if (RESERVED.has(to)) throw new InputError(`"${to}" is a system database; restore to another name`, 'to');
  const server = target ?? source;
  if (server.server === source.server && to === backup.manifest.dbname && !force)
    throw new NotAllowedError(
      `"${to}" is the source database of backup ${backup.id}; restoring over it replaces all its data. ` +
        `Restore to a new name (--to ${to}_restored), or pass force (CLI: --force, which asks to confirm)`,
    );
}

export async function restoreBackup(run: RestoreRun): Promise<RestoreResult> {
  const { backup, to } = run;
  checkRestoreTarget(backup, to, run.source, run.target, run.force);
  const manifest = backup.manifest!;
  const server = run.target ?? run.source;

  const startedAt = run.now();
  let last = -1;
  const report = (phase: RestoreProgress['phase'], fraction: number, message: string, always = false) => {
    // At most one report per percent within a phase, so a fast log does not flood the listener.
    const rounded = Math.floor(fraction * 100);
    if (!always && rounded === last) return;
    last = rounded;
    run.onProgress?.({ phase, fraction: Math.min(1, fraction), message });
  };

  // Verify before anything touches the server: a damaged backup must not half-restore.
  const totalBytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0) || 1;
  let hashed = 0;
  report('verify', PHASE.verify, `verifying ${manifest.files.length} checksums`, true);
  let verified: number;
  try {
    verified = await verifyFiles(run.folder, manifest.files, (bytes) => {
      run.signal?.throwIfAborted();
      hashed += bytes;
      report(
        'verify',
        PHASE.verify + (PHASE.create - PHASE.verify) * (hashed / totalBytes),
        'verifying checksums',
      );
    });
  } catch (error) {
    if (run.signal?.aborted) throw new IntegrationError('the restore was cancelled', { cause: error });
    if (error instanceof ChecksumError)
      throw new ConflictError(
        `backup ${backup.id} is damaged, nothing was restored: ${error.message}. Restore another backup ` +
          `(opsbook backup list --database ${backup.database}) or its off-site copy`,
      );
    throw error;
  }
  if (run.signal?.aborted) throw new IntegrationError('the restore was cancelled');

  const admin = await connectAdmin(server);
  const staging = `opsbook_restore_${randomBytes(6).toString('hex')}`;
  let stagingCreated = false;
  let version = 0;
  try {
    version = Number(
      (await admin.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`)).rows[0]!
        .num,
    );
    if ((await exists(admin, to)) && !run.force)
      throw new ConflictError(
        `database "${to}" already exists on ${server.server}; pick another name with --to, or drop it first (DROP DATABASE ${quoteIdent(to)})`,
      );
    const dumpMajor = Number(/^(\d+)/.exec(manifest.serverVersion)?.[1] ?? '0');
    const pgRestore = await findPgTool('pg_restore', Math.max(majorOf(version), dumpMajor), run.binDir);

    report('create-database', PHASE.create, `creating database ${staging}`, true);
    await admin.query(`CREATE DATABASE ${quoteIdent(staging)} TEMPLATE template0`);
    stagingCreated = true;

    const stagingConnection = withDatabase(server, staging);
    const env = toolEnv(stagingConnection, APP);
    const secrets = server.password ? [server.password] : [];
    const dumpDir = join(run.folder, DUMP_DIR);
    const listed = await runTool({ command: pgRestore, args: ['--list', dumpDir], env, secrets });
    if (listed.code !== 0)
      throw new IntegrationError(`pg_restore --list failed: ${stderrTail(listed.stderr)}`);
    const jobs = Math.max(1, run.jobs ?? manifest.jobs);
    const tracker = new RestoreProgressTracker(listed.stdout, await dataFileSizes(dumpDir), jobs > 1);
    const restoreSpan = PHASE.analyze - PHASE.restore;
    report('restore', PHASE.restore, `restoring ${tracker.entryCount} objects with ${jobs} jobs`, true);

    const args = [`--jobs=${jobs}`, '--no-owner', '--exit-on-error', '--verbose', '--no-password'];
    // Another server may lack the source's roles, and a GRANT to a missing role would stop the restore.
    if (server.server !== run.source.server) args.push('--no-privileges');
    args.push(`--dbname=${stagingConnection.url}`, dumpDir);
    const restored = await runTool({
      command: pgRestore,
      args,
      env,
      secrets,
      signal: run.signal,
      onStderrLine: (line) => {
        if (tracker.line(line))
          report(
            'restore',
            PHASE.restore + restoreSpan * tracker.fraction(),
            `restored ${tracker.doneCount()} of ${tracker.entryCount} objects`,
          );
      },
    });
    if (restored.aborted) throw new IntegrationError('the restore was cancelled');
    if (restored.code !== 0)
      throw new IntegrationError(
        `pg_restore exited with ${restored.code}: ${stderrTail(
          restored.stderr
            .split('\n')
            .filter(
              (l) =>
                !/^pg_restore: (creating|processing|executing|launching|finished|entering|connecting)/.test(
                  l,
                ),
            )
            .join('\n'),
        )}`,
      );

    report('analyze', PHASE.analyze, 'updating planner statistics (ANALYZE)', true);
    const analyze = newClient(stagingConnection, APP);
    try {
      await analyze.connect();
      await analyze.query('ANALYZE');
    } finally {
      await analyze.end().catch(() => {});
    }
    if (run.signal?.aborted) throw new IntegrationError('the restore was cancelled');

    // The swap: the only moment the target is touched. With force, its sessions are ended first.
    if (await exists(admin, to)) await dropDatabase(admin, to, version);
    await admin.query(`ALTER DATABASE ${quoteIdent(staging)} RENAME TO ${quoteIdent(to)}`);
    stagingCreated = false;

    const finishedAt = run.now();
    report('done', 1, `restored backup ${backup.id} into ${to}`, true);
    return {
      backupId: backup.id,
      database: backup.database,
      targetUrl: withDatabase(server, to).url,
      startedAt,
      finishedAt,
      checksumsVerified: verified,
    };
  } catch (error) {
    if (run.signal?.aborted && !(error instanceof IntegrationError))
      throw new IntegrationError('the restore was cancelled', { cause: error });
    throw error;
  } finally {
    if (stagingCreated) await dropDatabase(admin, staging, version).catch(() => {});
    await admin.end().catch(() => {});
  }
}

/** The server's maintenance database: `postgres`, or template1 where that was dropped. */
async function connectAdmin(server: PgConnection): Promise<pg.Client> {
  let lastError: Error | undefined;
  for (const name of ['postgres', 'template1']) {
    const client = newClient(withDatabase(server, name), APP);
    try {
      await client.connect();
      return client;
    } catch (error) {
      lastError = error as Error;
      await client.end().catch(() => {});
    }
  }
  throw new IntegrationError(`cannot connect to ${server.server} to restore: ${lastError?.message}`, {
    cause: lastError,
  });
}

async function exists(client: pg.Client, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

async function dropDatabase(client: pg.Client, name: string, version: number): Promise<void> {
  if (version >= 130000) {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return;
  }
  await client.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

/** Data file size by TOC id: "3354.dat.gz" -> 3354 (also .dat, .lz4, .zst). */
async function dataFileSizes(dumpDir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const name of await readdir(dumpDir)) {
    const match = /^(\d+)\.dat/.exec(name);
    if (match) sizes.set(match[1]!, (await stat(join(dumpDir, name))).size);
  }
  return sizes;
}
