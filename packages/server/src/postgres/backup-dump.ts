// One logical backup: an exported snapshot that pg_dump and the manifest's row counts share, the real
// pg_dump in directory format, then checksums. Written into a hidden .partial folder and renamed at the
// end, so a crash never leaves a folder that looks like a complete backup.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { IntegrationError } from '../errors.js';
import type { BackupPolicy } from './backup.schema.js';
import type { BackupManifest, BackupTimings, ManifestTable } from './backup.types.js';
import { checksumTree, DUMP_DIR, EarlyChecksums, MANIFEST_FILE, writeSums } from './backup-checksums.js';
import {
  cancelRunningQuery,
  newClient,
  quoteIdent,
  toolEnv,
  type PgConnection,
} from './backup-connection.js';
import { findPgTool, majorOf, runTool, stderrTail } from './backup-tools.js';
import { computeSampleChecksum, SAMPLE_SESSION_SQL } from './drill.sample.js';

export interface DumpOptions {
  id: string;
  database: string;
  connection: PgConnection;
  policy: Pick<BackupPolicy, 'jobs' | 'compression'>;
  /** The final backup folder; it appears only once the backup is complete. */
  folder: string;
  binDir?: string;
  /** Rows per table in the drills' sample checksum; none computed when undefined. */
  sampleRows?: number;
  signal?: AbortSignal;
  now(): number;
}

const APP = 'opsbook-backup';
/** pg_dump --verbose, parallel mode: a table's data file is complete ("finished item 3354 TABLE DATA orders"). */
const FINISHED_DATA = /^pg_dump: finished item (\d+) TABLE DATA /;

export function partialFolder(folder: string): string {
  return join(dirname(folder), `.${basename(folder)}.partial`);
}

export async function dumpDatabase(options: DumpOptions): Promise<BackupManifest> {
  const startedAt = options.now();
  const partial = partialFolder(options.folder);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const client = newClient(options.connection, APP);
  const stopClient = () => void cancelRunningQuery(options.connection, client);
  options.signal?.addEventListener('abort', stopClient, { once: true });
  try {
    await client.connect().catch((error: Error) => {
      throw new IntegrationError(`cannot connect to ${options.connection.url}: ${error.message}`, {
        cause: error,
      });
    });
    const server = await one<{ version: string; num: string; recovery: boolean }>(
      client,
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
              pg_is_in_recovery() AS recovery`,
    );
    const pgDump = await findPgTool('pg_dump', majorOf(Number(server.num)), options.binDir);

    // REPEATABLE READ keeps one snapshot for the whole transaction; exporting it lets pg_dump (and
    // each of its parallel workers) read exactly the data the counts below see.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const snap = await one<{ snapshot: string; lsn: string | null }>(
      client,
      `SELECT pg_export_snapshot() AS snapshot, ${
        server.recovery ? 'pg_last_wal_replay_lsn()' : 'pg_current_wal_lsn()'
      }::text AS lsn`,
    );
    const snapshotAt = options.now();
    const tables = await listTables(client);

    const dumpDir = join(partial, DUMP_DIR);
    const early = new EarlyChecksums(options.signal);
    const dumpStarted = performance.now();
    let dumpEnded = 0;
    const dump = runTool({
      command: pgDump,
      args: [
        '--format=directory',
        `--jobs=${options.policy.jobs}`,
        `--compress=${options.policy.compression}`,
        `--snapshot=${snap.snapshot}`,
        `--file=${dumpDir}`,
        '--no-password',
        '--verbose',
        `--dbname=${options.connection.url}`,
      ],
      env: toolEnv(options.connection, APP),
      signal: options.signal,
      secrets: options.connection.password ? [options.connection.password] : [],
      onStderrLine: (line) => {
        const finished = FINISHED_DATA.exec(line);
        if (finished) early.addDataFile(dumpDir, finished[1]!);
      },
    }).finally(() => (dumpEnded = performance.now()));
    // Counted while pg_dump runs: the transaction keeps the snapshot, so both see the same rows.
    const counted = countRows(client, tables, options.sampleRows).catch((error: Error) => error);
    const result = await dump;
    const counts = await counted;
    const countsEnded = performance.now();
    await client.query('ROLLBACK').catch(() => {});
    if (result.aborted) throw new IntegrationError('the backup was cancelled');
    if (result.code !== 0)
      throw new IntegrationError(
        `pg_dump exited with ${result.code}: ${stderrTail(withoutProgress(result.stderr))}`,
      );
    if (counts instanceof Error)
      throw new IntegrationError(`counting rows in the snapshot failed: ${counts.message}`, {
        cause: counts,
      });

    const checksumStarted = performance.now();
    const files = await checksumTree(partial, DUMP_DIR, early);
    const timings: BackupTimings = {
      dumpMs: Math.round(dumpEnded - dumpStarted),
      rowCountMs: Math.round(counts.rowCountMs),
      sampleChecksumMs: Math.round(counts.sampleChecksumMs),
      countsAfterDumpMs: Math.round(Math.max(0, countsEnded - dumpEnded)),
      fileChecksumMs: Math.round(performance.now() - checksumStarted),
    };
    const manifest: BackupManifest = {
      id: options.id,
      database: options.database,
      dbname: options.connection.dbname,
      serverVersion: server.version,
      walLsn: snap.lsn,
      startedAt,
      finishedAt: options.now(),
      snapshotAt,
      format: 'directory',
      jobs: options.policy.jobs,
      compression: options.policy.compression,
      tables: counts.tables,
      files,
      sizeBytes: files.reduce((sum, f) => sum + f.bytes, 0),
      timings,
    };
    await writeFile(join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeSums(partial, files);
    await rm(options.folder, { recursive: true, force: true });
    await rename(partial, options.folder);
    return manifest;
  } catch (error) {
    await rm(partial, { recursive: true, force: true }).catch(() => {});
    if (options.signal?.aborted) throw new IntegrationError('the backup was cancelled', { cause: error });
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', stopClient);
    await client.end().catch(() => {});
  }
}

/** pg_dump's stderr without its --verbose progress lines, keeping errors, warnings and their details. */
function withoutProgress(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !line.startsWith('pg_dump: ') || /^pg_dump: (error|warning|detail|hint):/.test(line))
    .join('\n');
}

interface TableRow {
  schema: string;
  name: string;
  bytes: string;
}

/** Ordinary tables pg_dump dumps the data of: not the catalogs, not tables owned by extensions. */
async function listTables(client: pg.Client): Promise<TableRow[]> {
  const { rows } = await client.query<TableRow>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence <> 't'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}

async function countRows(client: pg.Client, tables: TableRow[], sampleRows: number | undefined) {
  if (sampleRows !== undefined) await client.query(SAMPLE_SESSION_SQL);
  const out: ManifestTable[] = [];
  let rowCountMs = 0;
  let sampleChecksumMs = 0;
  for (const table of tables) {
    const relation = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
    const counting = performance.now();
    const { rows } = await one<{ rows: string }>(client, `SELECT count(*)::text AS rows FROM ${relation}`);
    rowCountMs += performance.now() - counting;
    const entry: ManifestTable = {
      schema: table.schema,
      name: table.name,
      rows: Number(rows),
      bytes: Number(table.bytes),
    };
    if (sampleRows !== undefined) {
      const sampling = performance.now();
      entry.sampleChecksum = await computeSampleChecksum(client, table, sampleRows);
      sampleChecksumMs += performance.now() - sampling;
    }
    out.push(entry);
  }
  return { tables: out, rowCountMs, sampleChecksumMs };
}

async function one<T extends object>(client: pg.Client, text: string): Promise<T> {
  const { rows } = await client.query<T & pg.QueryResultRow>(text);
  return rows[0]!;
}
