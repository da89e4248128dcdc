// npm run bench:backup — Opsbook's PostgreSQL operations against their goal:
//   a backup (BackupService.run: snapshot, row counts, sample checksums, pg_dump, manifest, SHA-256)
//   at most 5 % slower than a bare pg_dump of the same ~1 GB database with the same format, jobs and
//   compression; plus the drill's RTO on that database and the collector's time on 10,000 tables.
// Prints one JSON object on stdout; progress goes to stderr. See docs/benchmarks.md.
//
// Everything runs against a throwaway PostgreSQL cluster on 127.0.0.1 (test/postgres-cluster.ts, with
// pg_stat_statements preloaded), stopped and removed at the end, as is the temp dir.
// Scenarios (BENCH_ONLY, comma list; all by default):
//   backup:    bare pg_dump and Opsbook's backup alternately (ABAB...), medians and overhead; where the
//              extra time goes (the manifest's timings, pg_stat_statements), and the counts and samples
//              run alone for comparison. Diagnostic third arm: dumpDatabase without sample checksums.
//   drill:     one DrillService drill of the latest backup: RTO, RPO, every phase, the restore's steps.
//   copy:      one backup with a directory copy target (copy and its verification timed apart).
//   collector: DatabaseService.collect on BENCH_TABLES tables against BENCH_BASELINE_TABLES, then the
//              collector's statements timed one by one.
//
// Environment (defaults): BENCH_DB_MB (1024), BENCH_BACKUP_RUNS (3 of each), BENCH_TABLES (10000),
// BENCH_BASELINE_TABLES (100), BENCH_COLLECT_RUNS (5), BENCH_ONLY (backup,drill,copy,collector),
// BENCH_DIAGNOSTIC (1; 0 skips the third backup arm, Opsbook's dumpDatabase without sample checksums),
// BENCH_LOG_LEVEL (warn), BENCH_BUDGET_MINUTES (40, then it gives up and cleans up).
// Quick run: BENCH_DB_MB=64 BENCH_BACKUP_RUNS=1 BENCH_TABLES=1000 BENCH_COLLECT_RUNS=2 npm run bench:backup
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, arch, cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startPostgresCluster, type PostgresCluster } from '../test/postgres-cluster.js';
import { databaseSchema, type DatabaseConfig } from '../packages/server/src/config/databases.schema.js';
import { backupsSchema } from '../packages/server/src/postgres/backup.schema.js';
import { BackupService } from '../packages/server/src/postgres/backup.service.js';
import type { BackupApi, BackupRecord } from '../packages/server/src/postgres/backup.types.js';
import { connectionOf } from '../packages/server/src/postgres/backup-connection.js';
import { dumpDatabase } from '../packages/server/src/postgres/backup-dump.js';
import { findPgTool } from '../packages/server/src/postgres/backup-tools.js';
import { collectSnapshot } from '../packages/server/src/postgres/collector.js';
import { DatabaseService } from '../packages/server/src/postgres/database.service.js';
import { DrillService } from '../packages/server/src/postgres/drill.service.js';
import { SAMPLE_SESSION_SQL, sampleChecksumSql } from '../packages/server/src/postgres/drill.sample.js';
import { openStore, type Store } from '../packages/server/src/storage/db.js';
import { migrate } from '../packages/server/src/storage/migrate.js';
import { TimedConnection } from './backup/collector.js';
import {
  createManyTables,
  loadSizedDatabase,
  withClient,
  type LoadedDatabase,
  type ManyTablesDatabase,
} from './backup/data.js';
import {
  bareDump,
  folderBytes,
  killBareDumps,
  resetStatements,
  statementTimes,
  type StatementTimes,
} from './backup/dump.js';
import { countingLogger, envNumber, progress, round } from './lib/measure.js';

const int = (name: string, fallback: number): number => Math.round(envNumber(name, fallback));
const DB_MB = int('BENCH_DB_MB', 1024);
const BACKUP_RUNS = int('BENCH_BACKUP_RUNS', 3);
const TABLES = int('BENCH_TABLES', 10_000);
const BASELINE_TABLES = int('BENCH_BASELINE_TABLES', 100);
const COLLECT_RUNS = int('BENCH_COLLECT_RUNS', 5);
/** 1: a third arm in the backup scenario, Opsbook's dump without sample checksums (a diagnostic). */
const DIAGNOSTIC = process.env.BENCH_DIAGNOSTIC !== '0';
const BUDGET_MS = envNumber('BENCH_BUDGET_MINUTES', 40) * 60_000;
const SCENARIOS = ['backup', 'drill', 'copy', 'collector'] as const;
const ONLY = new Set(
  (process.env.BENCH_ONLY ?? SCENARIOS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const name of ONLY)
  if (!(SCENARIOS as readonly string[]).includes(name))
    throw new Error(`BENCH_ONLY: unknown scenario "${name}"; use ${SCENARIOS.join(', ')}`);

const GOAL = { backupOverheadMax: 0.05, databaseMb: 1024, collectorTables: 10_000 };
const DATABASE_ID = 'bench';

interface Spread {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runsMs: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function spread(values: number[]): Spread {
  return {
    medianMs: round(median(values), 0),
    minMs: round(Math.min(...values), 0),
    maxMs: round(Math.max(...values), 0),
    runsMs: values.map((v) => round(v, 0)),
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number): number => round(bytes / 1024 / 1024, 1);

interface Context {
  dir: string;
  cluster: PostgresCluster;
  store: Store;
  logger: ReturnType<typeof countingLogger>;
  serverVersionNum: number;
}

interface BenchDatabase {
  loaded: LoadedDatabase;
  config: DatabaseConfig;
  service: BackupService;
}

async function prepareDatabase(ctx: Context): Promise<BenchDatabase> {
  progress(`load: a ${DB_MB} MB database`);
  const loaded = await loadSizedDatabase(ctx.cluster.url, 'bench', DB_MB);
  progress(`load: ${mb(loaded.sizeBytes)} MB in ${loaded.loadSeconds} s`);
  // Schedules off: the benchmark starts every backup and drill itself.
  const config = databaseSchema.parse({
    id: DATABASE_ID,
    url: loaded.url,
    backup: { enabled: false },
    drill: { enabled: false },
  });
  const service = new BackupService({
    store: ctx.store,
    logger: ctx.logger.logger,
    databases: [config],
    backups: backupsSchema.parse({ dir: 'backups', binDir: ctx.cluster.binDir }),
    baseDir: ctx.dir,
  });
  return { loaded, config, service };
}

async function opsbookBackup(service: BackupService): Promise<{ ms: number; record: BackupRecord }> {
  const started = performance.now();
  const record = await service.run(DATABASE_ID);
  const ms = performance.now() - started;
  if (record.status !== 'succeeded') throw new Error(`Opsbook backup ${record.status}: ${record.error}`);
  return { ms, record };
}

// ---------------------------------------------------------------------------------------------
// Backup overhead: bare pg_dump against BackupService.run, alternating.

async function scenarioBackup(ctx: Context, db: BenchDatabase) {
  const { jobs, compression } = db.config.backup;
  const sampleRows = db.config.drill.sampleRows;
  const pgDump = await findPgTool('pg_dump', Math.floor(ctx.serverVersionNum / 10_000), ctx.cluster.binDir);
  const bareFolder = (name: string) => join(ctx.dir, 'bare', name);

  progress(`backup: warm-up bare pg_dump (--jobs=${jobs} --compress=${compression})`);
  const warmupMs = await bareDump({
    pgDump,
    url: db.loaded.url,
    folder: bareFolder('warmup'),
    jobs,
    compression,
  });
  const bareBytes = folderBytes(bareFolder('warmup'));
  rmSync(bareFolder('warmup'), { recursive: true, force: true });
  progress(`backup: warm-up ${seconds(warmupMs)}, ${mb(bareBytes)} MB`);

  const kinds = DIAGNOSTIC ? (['bare', 'opsbook', 'noSamples'] as const) : (['bare', 'opsbook'] as const);
  const runs: {
    order: number;
    kind: (typeof kinds)[number];
    ms: number;
    bytes: number;
    statements: StatementTimes;
    timings?: unknown;
  }[] = [];
  await withClient(ctx.cluster.url, async (client) => {
    let order = 0;
    for (let i = 0; i < BACKUP_RUNS; i++) {
      for (const kind of kinds) {
        order++;
        await resetStatements(client);
        if (kind === 'bare') {
          const folder = bareFolder(`run-${i}`);
          const ms = await bareDump({ pgDump, url: db.loaded.url, folder, jobs, compression });
          const bytes = folderBytes(folder);
          rmSync(folder, { recursive: true, force: true });
          runs.push({ order, kind, ms, bytes, statements: await statementTimes(client, 'bench') });
        } else if (kind === 'noSamples') {
          // The backup's own dump step (snapshot, counts, pg_dump, SHA-256, manifest) minus the samples
          // and the service's bookkeeping (store, events, gauges).
          const folder = join(ctx.dir, 'no-samples', `run-${i}`);
          const started = performance.now();
          const manifest = await dumpDatabase({
            id: `no-samples-${i}`,
            database: DATABASE_ID,
            connection: connectionOf(db.config, ctx.dir),
            policy: db.config.backup,
            folder,
            binDir: ctx.cluster.binDir,
            now: Date.now,
          });
          const ms = performance.now() - started;
          rmSync(folder, { recursive: true, force: true });
          runs.push({
            order,
            kind,
            ms,
            bytes: manifest.sizeBytes,
            statements: await statementTimes(client, 'bench'),
            timings: manifest.timings,
          });
        } else {
          const { ms, record } = await opsbookBackup(db.service);
          runs.push({
            order,
            kind,
            ms,
            bytes: record.sizeBytes!,
            statements: await statementTimes(client, 'bench'),
            timings: record.manifest!.timings,
          });
        }
        const run = runs.at(-1)!;
        progress(`backup: run ${order} ${kind} ${seconds(run.ms)}`);
      }
    }
  });

  const bare = runs.filter((r) => r.kind === 'bare');
  const opsbook = runs.filter((r) => r.kind === 'opsbook');
  const noSamples = runs.filter((r) => r.kind === 'noSamples');
  const bareSpread = spread(bare.map((r) => r.ms));
  const opsbookSpread = spread(opsbook.map((r) => r.ms));
  const overhead = round(opsbookSpread.medianMs / bareSpread.medianMs - 1, 4);
  // Each Opsbook run against the bare run just before it: less sensitive to drift over the scenario.
  const pairRatios = opsbook.map((r, i) => r.ms / bare[i]!.ms - 1);
  const timings = opsbook.map((r) => r.timings as NonNullable<BackupRecord['manifest']>['timings']);
  const med = (pick: (t: NonNullable<(typeof timings)[number]>) => number): number =>
    round(median(timings.map((t) => (t ? pick(t) : NaN))), 0);
  const dumpInside = med((t) => t.dumpMs);
  const afterDump = med((t) => t.countsAfterDumpMs);
  const fileChecksums = med((t) => t.fileChecksumMs);
  const breakdown = {
    note:
      'medians over the Opsbook runs; counts and samples run beside pg_dump, so only what outlasts it and ' +
      'what follows it (SHA-256) add wall time directly; running beside it, they also slow pg_dump down',
    opsbookTotalMs: opsbookSpread.medianMs,
    pgDumpInsideOpsbookMs: dumpInside,
    bareDumpMs: bareSpread.medianMs,
    pgDumpSlowdownMs: round(dumpInside - bareSpread.medianMs, 0),
    rowCountMs: med((t) => t.rowCountMs),
    sampleChecksumMs: med((t) => t.sampleChecksumMs),
    countsAfterDumpMs: afterDump,
    fileChecksumMs: fileChecksums,
    restMs: round(opsbookSpread.medianMs - dumpInside - afterDump - fileChecksums, 0),
    serverStatementsMs: {
      bare: medianStatements(bare.map((r) => r.statements)),
      opsbook: medianStatements(opsbook.map((r) => r.statements)),
    },
  };

  progress('backup: counts and sample checksums alone (no pg_dump beside them)');
  const alone = await countsAlone(db.loaded.url, sampleRows);

  const plain = noSamples.length > 0 ? spread(noSamples.map((r) => r.ms)).medianMs : null;
  progress(
    `backup: bare ${seconds(bareSpread.medianMs)}, Opsbook ${seconds(opsbookSpread.medianMs)}, ` +
      `overhead ${(overhead * 100).toFixed(1)} % (goal ${GOAL.backupOverheadMax * 100} %)` +
      (plain === null
        ? ''
        : `; without sample checksums ${seconds(plain)} (${((plain / bareSpread.medianMs - 1) * 100).toFixed(1)} %)`),
  );
  return {
    jobs,
    compression,
    sampleRows,
    runsEach: BACKUP_RUNS,
    warmupBareMs: round(warmupMs, 0),
    bareDumpBytes: bareBytes,
    opsbookBackupBytes: opsbook.at(-1)!.bytes,
    bare: bareSpread,
    opsbook: opsbookSpread,
    overhead,
    pairedOverheadMedian: round(median(pairRatios), 4),
    goalMet: overhead <= GOAL.backupOverheadMax,
    breakdown,
    /** Diagnostic: the same dump without sample checksums, to show what the rest of the backup costs. */
    withoutSampleChecksums:
      noSamples.length > 0
        ? (() => {
            const s = spread(noSamples.map((r) => r.ms));
            const t = noSamples.map((r) => r.timings as NonNullable<(typeof timings)[number]>);
            return {
              ...s,
              overhead: round(s.medianMs / bareSpread.medianMs - 1, 4),
              pairedOverheadMedian: round(median(noSamples.map((r, i) => r.ms / bare[i]!.ms - 1)), 4),
              pgDumpMs: round(median(t.map((x) => x.dumpMs)), 0),
              rowCountMs: round(median(t.map((x) => x.rowCountMs)), 0),
              countsAfterDumpMs: round(median(t.map((x) => x.countsAfterDumpMs)), 0),
              fileChecksumMs: round(median(t.map((x) => x.fileChecksumMs)), 0),
            };
          })()
        : null,
    countsAndSamplesAlone: alone,
    runs: runs.map((r) => ({ ...r, ms: round(r.ms, 0) })),
  };
}

function medianStatements(list: StatementTimes[]): StatementTimes {
  return {
    copyMs: round(median(list.map((s) => s.copyMs)), 0),
    rowCountMs: round(median(list.map((s) => s.rowCountMs)), 0),
    sampleChecksumMs: round(median(list.map((s) => s.sampleChecksumMs)), 0),
  };
}

/** The backup's count and sample statements, serially in one snapshot as dumpDatabase runs them. */
async function countsAlone(url: string, sampleRows: number) {
  return withClient(url, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await client.query(SAMPLE_SESSION_SQL);
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      `SELECT schemaname AS schema, relname AS name FROM pg_stat_user_tables ORDER BY 1, 2`,
    );
    let rowCountMs = 0;
    let sampleChecksumMs = 0;
    for (const table of tables) {
      let started = performance.now();
      await client.query(`SELECT count(*)::text AS rows FROM "${table.schema}"."${table.name}"`);
      rowCountMs += performance.now() - started;
      started = performance.now();
      await client.query(sampleChecksumSql(table, sampleRows));
      sampleChecksumMs += performance.now() - started;
    }
    await client.query('ROLLBACK');
    return { rowCountMs: round(rowCountMs, 0), sampleChecksumMs: round(sampleChecksumMs, 0) };
  });
}

// ---------------------------------------------------------------------------------------------
// Drill: restore of the latest backup into a scratch database, verified; RTO and every phase.

async function scenarioDrill(ctx: Context, db: BenchDatabase) {
  if (!(await db.service.latest(DATABASE_ID))) {
    progress('drill: no backup yet; taking one');
    await opsbookBackup(db.service);
  }
  // The drill sees the real service; only the restore's progress is timestamped on the way through.
  const steps: { phase: string; at: number }[] = [];
  const backups: BackupApi = {
    list: (filter) => db.service.list(filter),
    get: (id) => db.service.get(id),
    latest: (database) => db.service.latest(database),
    run: (database, trigger) => db.service.run(database, trigger),
    restore: (id, options) =>
      db.service.restore(id, {
        ...options,
        onProgress: (p) => {
          if (steps.at(-1)?.phase !== p.phase) steps.push({ phase: p.phase, at: performance.now() });
          options.onProgress?.(p);
        },
      }),
  };
  const drills = new DrillService({
    store: ctx.store,
    backups,
    databases: [db.config],
    baseDir: ctx.dir,
    reportDir: join(ctx.dir, 'drills'),
    logger: ctx.logger.logger,
  });
  try {
    progress('drill: started');
    const started = await drills.run(DATABASE_ID, { actor: 'bench' });
    const report = await drills.wait(started.id);
    const restoreSteps = steps.slice(0, -1).map((step, i) => ({
      step: step.phase,
      ms: round(steps[i + 1]!.at - step.at, 0),
    }));
    progress(
      `drill: ${report.status}, RTO ${report.rto.ms === null ? '-' : seconds(report.rto.ms)}; ` +
        report.phases.map((p) => `${p.name} ${p.durationMs ?? '-'} ms`).join(', '),
    );
    return {
      status: report.status,
      backupId: report.backup?.id ?? null,
      backupBytes: report.backup?.sizeBytes ?? null,
      rtoMs: report.rto.ms,
      rtoTargetMs: report.rto.targetMs,
      rpoMs: report.rpo.ms,
      rpoTargetMs: report.rpo.targetMs,
      phases: report.phases.map((p) => ({
        name: p.name,
        status: p.status,
        ms: p.durationMs,
        message: p.message,
      })),
      /** Inside the restore phase: checksum verification, CREATE DATABASE, pg_restore, ANALYZE. */
      restoreSteps,
      tables: report.tables.length,
      samplesMatched: report.samples.filter((s) => s.status === 'match').length,
      amcheck: report.amcheck && {
        available: report.amcheck.available,
        indexes: report.amcheck.indexes.length,
        heap: report.amcheck.heap.length,
        message: report.amcheck.message,
      },
      problems: report.problems,
      warnings: report.warnings,
    };
  } finally {
    await drills.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// A backup with a directory copy target: the copy is copied, then read back and verified.

async function scenarioCopy(ctx: Context, db: BenchDatabase) {
  const service = new BackupService({
    store: ctx.store,
    logger: ctx.logger.logger,
    databases: [db.config],
    backups: backupsSchema.parse({
      dir: 'backups-copy',
      binDir: ctx.cluster.binDir,
      copies: [{ name: 'second-dir', dir: 'offsite' }],
    }),
    baseDir: ctx.dir,
  });
  try {
    progress('copy: a backup with a directory copy target');
    const { ms, record } = await opsbookBackup(service);
    const copy = record.copies[0];
    if (copy?.status !== 'copied') throw new Error(`copy ${copy?.status ?? 'missing'}: ${copy?.error}`);
    const copyMs = copy.at! - record.manifest!.finishedAt;
    progress(`copy: ${seconds(ms)} in all, of which the copy ${seconds(copyMs)}`);
    return {
      totalMs: round(ms, 0),
      backupMs: record.manifest!.finishedAt - record.manifest!.startedAt,
      copyAndVerifyMs: copyMs,
      bytes: record.sizeBytes,
      files: record.manifest!.files.length,
      note: 'the copy target is a folder on the same disk; the copy is read back and hashed before it counts',
    };
  } finally {
    await service.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Collector: DatabaseService.collect on many tables against few, then each statement timed.

async function scenarioCollector(ctx: Context) {
  progress(`collector: creating ${TABLES} and ${BASELINE_TABLES} tables`);
  const many = await createManyTables(ctx.cluster.url, `tables_${TABLES}`, TABLES);
  const few = await createManyTables(ctx.cluster.url, `tables_${BASELINE_TABLES}`, BASELINE_TABLES);
  progress(`collector: ${many.relations} relations in ${many.createSeconds} s`);
  const configs = [many, few].map((d) =>
    databaseSchema.parse({ id: `tables-${d.tables}`, url: d.url, backup: { enabled: false } }),
  );
  let samples = 0;
  const service = new DatabaseService({
    store: ctx.store,
    logger: ctx.logger.logger,
    sink: { ingest: (list) => (samples += list.length) },
  });
  service.apply(configs, ctx.dir);
  try {
    const measure = async (database: ManyTablesDatabase, config: DatabaseConfig) => {
      const started = performance.now();
      const snapshot = await service.collect(config.id);
      return { database, config, ms: performance.now() - started, snapshot };
    };
    // First collection of each: new connection, cold catalog caches in the backend.
    const cold = [await measure(many, configs[0]!), await measure(few, configs[1]!)];
    const times: Record<string, number[]> = { [configs[0]!.id]: [], [configs[1]!.id]: [] };
    let last = cold;
    for (let i = 0; i < COLLECT_RUNS; i++) {
      last = [await measure(many, configs[0]!), await measure(few, configs[1]!)];
      for (const run of last) times[run.config.id]!.push(run.ms);
    }
    const advisorMs: Record<string, number> = {};
    for (const config of configs) {
      const started = performance.now();
      await service.health(config.id);
      advisorMs[config.id] = round(performance.now() - started, 1);
    }

    progress('collector: timing each statement');
    const statements: Record<string, { name: string; medianMs: number }[]> = {};
    for (const [database, config] of [
      [many, configs[0]!],
      [few, configs[1]!],
    ] as const) {
      const connection = new TimedConnection(database.url, ctx.serverVersionNum, config.statementTimeout);
      const perRun: Map<string, number>[] = [];
      try {
        await collectSnapshot(connection, { database: config.id, thresholds: config.thresholds });
        for (let i = 0; i < COLLECT_RUNS; i++) {
          connection.times = new Map();
          await collectSnapshot(connection, { database: config.id, thresholds: config.thresholds });
          perRun.push(connection.times);
        }
      } finally {
        await connection.close();
      }
      statements[config.id] = [...perRun[0]!.keys()]
        .map((name) => ({ name, medianMs: round(median(perRun.map((t) => t.get(name) ?? 0)), 1) }))
        .sort((a, b) => b.medianMs - a.medianMs);
    }

    const result = (index: number) => {
      const run = last[index]!;
      const s = run.snapshot;
      return {
        id: run.config.id,
        tables: run.database.tables,
        relations: run.database.relations,
        sizeBytes: run.database.sizeBytes,
        createSeconds: run.database.createSeconds,
        coldMs: round(cold[index]!.ms, 0),
        collect: spread(times[run.config.id]!),
        advisorMs: advisorMs[run.config.id],
        statements: statements[run.config.id],
        snapshot: {
          up: s.up,
          errors: s.errors,
          tablesListed: s.tables.length,
          unusedIndexes: s.indexes.unused.length,
          duplicateIndexes: s.indexes.duplicate.length,
          sequencesListed: s.sequences.length,
          statements: s.statements.status,
        },
      };
    };
    const manyResult = result(0);
    const fewResult = result(1);
    progress(
      `collector: ${TABLES} tables ${manyResult.collect.medianMs} ms, ${BASELINE_TABLES} tables ` +
        `${fewResult.collect.medianMs} ms (median of ${COLLECT_RUNS})`,
    );
    return {
      runs: COLLECT_RUNS,
      statementTimeoutMs: configs[0]!.statementTimeout,
      many: manyResult,
      baseline: fewResult,
      ratio: round(manyResult.collect.medianMs / fewResult.collect.medianMs, 1),
      samplesPublished: samples,
    };
  } finally {
    await service.stop();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-bench-backup-'));
  let cluster: PostgresCluster | undefined;
  const abandon = (why: string, code: number): void => {
    progress(why);
    killBareDumps();
    void cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  const watchdog = setTimeout(
    () => abandon(`gave up: the benchmark ran past its ${Math.round(BUDGET_MS / 60_000)} min budget`, 2),
    BUDGET_MS,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => abandon(`stopped by ${signal}`, 130));
  const started = performance.now();
  let store: Store | undefined;
  let db: BenchDatabase | undefined;
  try {
    const loadAtStart = loadavg().map((n) => round(n, 2));
    if (loadAtStart[0]! > 0.5 * availableParallelism())
      progress(`warning: load average ${loadAtStart[0]} at start; other work will skew the figures`);
    progress(
      `db=${DB_MB} MB runs=${BACKUP_RUNS} tables=${TABLES}/${BASELINE_TABLES} collectRuns=${COLLECT_RUNS} ` +
        `scenarios=${[...ONLY].join(',')}; temp dir ${dir}`,
    );
    // A larger max_wal_size only keeps checkpoints out of the load; the measured work reads.
    cluster = await startPostgresCluster({ settings: { max_wal_size: '4GB' } });
    const server = await withClient(cluster.url, async (c) => {
      const { rows } = await c.query<{ version: string; num: string }>(
        `SELECT version(), current_setting('server_version_num') AS num`,
      );
      return rows[0]!;
    });
    progress(`cluster: ${server.version.split(' on ')[0]} on port ${cluster.port}`);
    store = await openStore({ url: `sqlite:${join(dir, 'opsbook.db')}` });
    await migrate(store);
    const ctx: Context = {
      dir,
      cluster,
      store,
      logger: countingLogger(),
      serverVersionNum: Number(server.num),
    };

    const needsDatabase = ONLY.has('backup') || ONLY.has('drill') || ONLY.has('copy');
    db = needsDatabase ? await prepareDatabase(ctx) : undefined;
    const backup = db && ONLY.has('backup') ? await scenarioBackup(ctx, db) : null;
    const drill = db && ONLY.has('drill') ? await scenarioDrill(ctx, db) : null;
    const copy = db && ONLY.has('copy') ? await scenarioCopy(ctx, db) : null;
    const collector = ONLY.has('collector') ? await scenarioCollector(ctx) : null;

    const cpu0 = cpus()[0];
    const report = {
      machine: {
        cpus: availableParallelism(),
        model: cpu0?.model.trim() ?? 'unknown',
        node: process.version,
        platform: `${platform()} ${arch()}`,
        memoryGB: round(totalmem() / 1024 ** 3),
        postgres: server.version,
        /** 1, 5 and 15 minute load averages: figures are only comparable on a quiet machine. */
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((n) => round(n, 2)),
      },
      date: new Date().toISOString(),
      durationSeconds: round((performance.now() - started) / 1000, 0),
      goal: GOAL,
      settings: {
        databaseMb: DB_MB,
        backupRuns: BACKUP_RUNS,
        tables: TABLES,
        baselineTables: BASELINE_TABLES,
        collectRuns: COLLECT_RUNS,
        scenarios: [...ONLY],
        cluster: 'fsync=off, synchronous_commit=off, max_wal_size=4GB, other settings default',
      },
      database: db && {
        sizeBytes: db.loaded.sizeBytes,
        sizeMB: mb(db.loaded.sizeBytes),
        loadSeconds: db.loaded.loadSeconds,
        tables: db.loaded.tables,
      },
      backup,
      drill,
      copy,
      collector,
      verdicts: {
        backupOverheadAtMost5Percent: backup ? backup.goalMet : null,
      },
      logWarnings: ctx.logger.warnings(),
      firstLogWarning: ctx.logger.firstWarning() ?? null,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    clearTimeout(watchdog);
    killBareDumps();
    await db?.service.stop().catch(() => {});
    await store?.close().catch(() => {});
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
