// Test helper: real backups per the contract in backup.types.ts (real pg_dump, directory format, an
// exported snapshot shared with the manifest's counts and sample checksums, SHA256SUMS) and a small
// BackupApi over such folders whose restore verifies checksums and runs the real pg_restore.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { databaseSchema } from '../config/databases.schema.js';
import type { Store } from '../storage/db.js';
import { backupsSchema } from './backup.schema.js';
import { BackupService } from './backup.service.js';
import type {
  BackupApi,
  BackupManifest,
  BackupRecord,
  ManifestTable,
  RestoreOptions,
  RestoreResult,
} from './backup.types.js';
import { SAMPLE_SESSION_SQL, computeSampleChecksum } from './drill.sample.js';
import { quoteIdent } from './sql-text.js';

const run = promisify(execFile);

export interface TestBackupOptions {
  sourceUrl: string;
  /** <backups.dir>/<database>: the backup folder is made inside. */
  dir: string;
  database: string;
  /** Rows per table in the sample checksum; none when 0. */
  sampleRows?: number;
}

export async function makeTestBackup(options: TestBackupOptions): Promise<BackupRecord> {
  const startedAt = Date.now();
  const id = `b-${startedAt}-${randomBytes(2).toString('hex')}`;
  const path = join(options.dir, id);
  mkdirSync(path, { recursive: true });
  const client = new pg.Client({ connectionString: options.sourceUrl });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await client.query<{ snapshot: string; lsn: string; version: string }>(
      `SELECT pg_export_snapshot() AS snapshot, pg_current_wal_lsn()::text AS lsn, current_setting('server_version') AS version`,
    );
    const snapshotAt = Date.now();
    const { snapshot, lsn, version } = rows[0]!;
    await run('pg_dump', [
      '--format=directory',
      '--jobs=2',
      `--snapshot=${snapshot}`,
      `--file=${join(path, 'dump')}`,
      `--dbname=${options.sourceUrl}`,
    ]);
    const listed = await client.query<{ schema: string; name: string; bytes: string }>(
      `SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2`,
    );
    if (options.sampleRows) await client.query(SAMPLE_SESSION_SQL);
    const tables: ManifestTable[] = [];
    for (const t of listed.rows) {
      const count = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
      );
      const table: ManifestTable = {
        schema: t.schema,
        name: t.name,
        rows: Number(count.rows[0]!.n),
        bytes: Number(t.bytes),
      };
      if (options.sampleRows)
        table.sampleChecksum = await computeSampleChecksum(client, t, options.sampleRows);
      tables.push(table);
    }
    await client.query('ROLLBACK');
    const files = filesUnder(path, join(path, 'dump')).map((file) => ({
      path: relative(path, file),
      bytes: statSync(file).size,
      sha256: sha256(file),
    }));
    const manifest: BackupManifest = {
      id,
      database: options.database,
      dbname: new URL(options.sourceUrl).pathname.slice(1),
      serverVersion: version,
      walLsn: lsn,
      startedAt,
      finishedAt: Date.now(),
      snapshotAt,
      format: 'directory',
      jobs: 2,
      compression: 0,
      tables,
      files,
      sizeBytes: files.reduce((n, f) => n + f.bytes, 0),
    };
    writeFileSync(join(path, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(path, 'SHA256SUMS'), files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
    return {
      id,
      database: options.database,
      status: 'succeeded',
      trigger: 'manual',
      startedAt,
      finishedAt: manifest.finishedAt,
      path,
      sizeBytes: manifest.sizeBytes,
      error: null,
      manifest,
      copies: [],
    };
  } finally {
    await client.end();
  }
}

/** A BackupApi over backup folders made by makeTestBackup; `sources` maps database ids to their URLs. */
export class FolderBackupApi implements BackupApi {
  readonly records: BackupRecord[] = [];
  restores = 0;

  constructor(private readonly sources: Record<string, { url: string; dir: string; sampleRows?: number }>) {}

  async list(filter: { database?: string } = {}): Promise<BackupRecord[]> {
    return this.records.filter((r) => !filter.database || r.database === filter.database).reverse();
  }

  async get(id: string): Promise<BackupRecord> {
    const record = this.records.find((r) => r.id === id);
    if (!record) throw new Error(`no backup ${id}`);
    return record;
  }

  async latest(database: string): Promise<BackupRecord | undefined> {
    return this.records.filter((r) => r.database === database && r.status === 'succeeded').at(-1);
  }

  async run(database: string): Promise<BackupRecord> {
    const source = this.sources[database]!;
    const record = await makeTestBackup({
      sourceUrl: source.url,
      dir: source.dir,
      database,
      sampleRows: source.sampleRows,
    });
    // The manifest is re-read from disk at restore time, so tests may edit manifest.json.
    this.records.push(record);
    return record;
  }

  async restore(id: string, options: RestoreOptions): Promise<RestoreResult> {
    const startedAt = Date.now();
    const record = await this.get(id);
    options.onProgress?.({ phase: 'verify', fraction: 0, message: 'verifying checksums' });
    let verified = 0;
    for (const line of readFileSync(join(record.path, 'SHA256SUMS'), 'utf8').trim().split('\n')) {
      const [sum, file] = line.split(/\s+/, 2) as [string, string];
      if (sha256(join(record.path, file)) !== sum) throw new Error(`checksum mismatch: ${file}`);
      verified++;
    }
    const server = new URL(options.targetUrl ?? this.sources[record.database]!.url);
    const admin = new pg.Client({ connectionString: server.toString() });
    await admin.connect();
    try {
      options.onProgress?.({ phase: 'create-database', fraction: 0.2, message: `creating ${options.to}` });
      await admin.query(`CREATE DATABASE ${quoteIdent(options.to)}`);
    } finally {
      await admin.end();
    }
    const target = new URL(server);
    target.pathname = `/${options.to}`;
    options.onProgress?.({ phase: 'restore', fraction: 0.3, message: 'pg_restore running' });
    await run('pg_restore', ['--jobs=2', '--no-owner', `--dbname=${target}`, join(record.path, 'dump')], {
      signal: options.signal,
    });
    options.onProgress?.({ phase: 'done', fraction: 1, message: 'restored' });
    this.restores++;
    return {
      backupId: id,
      database: record.database,
      targetUrl: target.toString(),
      startedAt,
      finishedAt: Date.now(),
      checksumsVerified: verified,
    };
  }

  /** Rewrites a backup's manifest (tests of a manifest that disagrees with its dump). */
  editManifest(id: string, edit: (manifest: BackupManifest) => void): void {
    const record = this.records.find((r) => r.id === id)!;
    edit(record.manifest!);
    writeFileSync(join(record.path, 'manifest.json'), `${JSON.stringify(record.manifest, null, 2)}\n`);
  }
}

function filesUnder(root: string, dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(root, join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The real backup service over one source database, for end-to-end drills. */
export function backupServiceFor(options: {
  store: Store;
  dir: string;
  databases: { id: string; url: string; drill?: Record<string, unknown> }[];
}): BackupService {
  return new BackupService({
    store: options.store,
    logger: pino({ level: 'silent' }),
    databases: options.databases.map((d) => databaseSchema.parse(d)),
    backups: backupsSchema.parse({ dir: 'backups' }),
    baseDir: options.dir,
  });
}
