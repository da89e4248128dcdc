// The guide's database maintenance (5.3) as tasks, one typed table. VACUUM (ANALYZE) runs table by
// table with a statement timeout and never as VACUUM FULL; the reviews write a report as the run's output.
import type {
  DatabaseSnapshot,
  HealthReport,
  MaintenanceRunStatus,
  MaintenanceTaskName,
} from '@opsbook/contracts';
import type { DatabaseConfig } from '../config/databases.schema.js';
import type { SeriesSource } from '../telemetry/series.js';
import { formatBytes } from '../lib/format.js';
import { OPSBOOK_TAG } from './collector.queries.js';
import type { PgConnection } from './pg-connection.js';
import { quoteIdent } from './sql-text.js';

export interface TaskContext {
  database: string;
  config: DatabaseConfig;
  connection: PgConnection;
  /** A fresh collection (also stored as the database's latest snapshot and metrics). */
  collect(): Promise<DatabaseSnapshot>;
  advise(snapshot: DatabaseSnapshot): HealthReport;
  series?: SeriesSource;
  now(): number;
  progress(done: number, total: number, current: string | null): void;
  signal: AbortSignal;
}

export interface TaskResult {
  status: Exclude<MaintenanceRunStatus, 'running'>;
  message: string;
  output: Record<string, unknown>;
}

export interface TaskDefinition {
  description: string;
  run(context: TaskContext): Promise<TaskResult>;
}

const DAY = 86_400_000;
const GROWTH_DAYS = 7;

async function vacuumAnalyze(ctx: TaskContext): Promise<TaskResult> {
  const [server] = await ctx.connection.query<{ in_recovery: boolean }>(
    `${OPSBOOK_TAG} SELECT pg_is_in_recovery() AS in_recovery`,
  );
  if (server?.in_recovery)
    return {
      status: 'skipped',
      message: 'the server is a replica: VACUUM runs on the primary and replicates',
      output: {},
    };
  // Most dead rows first, so a run cut short by shutdown has done the most useful part.
  const tables = await ctx.connection.query<{ schema: string; name: string; dead: number }>(
    `${OPSBOOK_TAG} SELECT schemaname AS schema, relname AS name, n_dead_tup::float8 AS dead
     FROM pg_stat_user_tables ORDER BY n_dead_tup DESC, schemaname, relname`,
  );
  const client = await ctx.connection.dedicated(ctx.config.maintenance.statementTimeout);
  // A shutdown cancels the VACUUM in progress; the tables left are reported as not run.
  const cancel = () =>
    void ctx.connection
      .query(`${OPSBOOK_TAG} SELECT pg_cancel_backend($1)`, [
        (client as unknown as { processID: number }).processID,
      ])
      .catch(() => {});
  ctx.signal.addEventListener('abort', cancel, { once: true });
  const results: {
    table: string;
    ok: boolean;
    durationMs: number;
    deadTuplesBefore: number;
    error?: string;
  }[] = [];
  try {
    for (const [i, t] of tables.entries()) {
      if (ctx.signal.aborted) break;
      const table = `${t.schema}.${t.name}`;
      ctx.progress(i, tables.length, table);
      const started = ctx.now();
      try {
        await client.query(`${OPSBOOK_TAG} VACUUM (ANALYZE) ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
        results.push({ table, ok: true, durationMs: ctx.now() - started, deadTuplesBefore: Number(t.dead) });
      } catch (error) {
        results.push({
          table,
          ok: false,
          durationMs: ctx.now() - started,
          deadTuplesBefore: Number(t.dead),
          error: ctx.connection.describe(error),
        });
      }
    }
    ctx.progress(results.length, tables.length, null);
  } finally {
    ctx.signal.removeEventListener('abort', cancel);
    await client.end().catch(() => {});
  }
  const failed = results.filter((r) => !r.ok);
  const notRun = tables.length - results.length;
  const output = { tables: results, vacuumed: results.length - failed.length, failed: failed.length, notRun };
  if (failed.length > 0 || notRun > 0)
    return {
      status: 'failed',
      message: [
        failed.length > 0
          ? `${failed.length} of ${tables.length} tables failed (${failed[0]!.table}: ${failed[0]!.error})`
          : '',
        notRun > 0 ? `${notRun} not run (stopped)` : '',
      ]
        .filter(Boolean)
        .join('; '),
      output,
    };
  return { status: 'succeeded', message: `VACUUM (ANALYZE) of ${tables.length} tables`, output };
}

/** The oldest size within the last week per series, from the metric store's history of the collector. */
async function weekAgo(
  ctx: TaskContext,
  name: string,
): Promise<Map<string, { bytes: number; since: number }>> {
  const out = new Map<string, { bytes: number; since: number }>();
  if (!ctx.series) return out;
  const now = ctx.now();
  const series = await ctx.series.select(
    [
      { name: '__name__', op: '=', value: name },
      { name: 'database', op: '=', value: ctx.database },
    ],
    now - GROWTH_DAYS * DAY,
    now,
  );
  for (const s of series) {
    const first = s.samples[0];
    if (first) out.set(s.labels.table ?? '', { bytes: first.v, since: first.t });
  }
  return out;
}

async function sizeReview(ctx: TaskContext): Promise<TaskResult> {
  const snapshot = await ctx.collect();
  if (!snapshot.up) return { status: 'failed', message: `cannot connect: ${snapshot.error}`, output: {} };
  const tablesBefore = await weekAgo(ctx, 'opsbook_pg_table_size_bytes');
  const before = (await weekAgo(ctx, 'opsbook_pg_database_size_bytes')).get('');
  const databaseGrowth =
    before && snapshot.sizeBytes !== null
      ? { growthBytes: snapshot.sizeBytes - before.bytes, since: before.since }
      : undefined;
  const tables = snapshot.tables.slice(0, Math.max(ctx.config.largestTables, 10)).map((t) => {
    const b = tablesBefore.get(`${t.schema}.${t.name}`);
    return {
      table: `${t.schema}.${t.name}`,
      sizeBytes: t.sizeBytes,
      liveTuples: t.liveTuples,
      deadTuples: t.deadTuples,
      growthBytes: b ? t.sizeBytes - b.bytes : null,
      growthSince: b?.since ?? null,
    };
  });
  const largest = tables[0];
  return {
    status: 'succeeded',
    message: `database ${formatBytes(snapshot.sizeBytes ?? 0)}${databaseGrowth ? ` (${signed(databaseGrowth.growthBytes)} since ${new Date(databaseGrowth.since).toISOString().slice(0, 10)})` : ''}${largest ? `; largest table ${largest.table} ${formatBytes(largest.sizeBytes)}` : ''}; ${snapshot.connections.total} of ${snapshot.connections.max} connections`,
    output: {
      databaseSizeBytes: snapshot.sizeBytes,
      databaseGrowthBytes: databaseGrowth?.growthBytes ?? null,
      growthSince: databaseGrowth?.since ?? null,
      connections: { total: snapshot.connections.total, max: snapshot.connections.max },
      tables,
    },
  };
}

function signed(bytes: number): string {
  return `${bytes < 0 ? '-' : '+'}${formatBytes(Math.abs(bytes))}`;
}

async function slowQueryReview(ctx: TaskContext): Promise<TaskResult> {
  const snapshot = await ctx.collect();
  if (!snapshot.up) return { status: 'failed', message: `cannot connect: ${snapshot.error}`, output: {} };
  const { statements } = snapshot;
  if (statements.status !== 'installed')
    return {
      status: 'failed',
      message: `pg_stat_statements is not available (${statements.status}): CREATE EXTENSION pg_stat_statements (see opsbook db health)`,
      output: { status: statements.status, message: statements.message },
    };
  const t = ctx.config.thresholds;
  return {
    status: 'succeeded',
    message: `${statements.slowCount} slow ${statements.slowCount === 1 ? 'query' : 'queries'} (mean >= ${t.slowQueryMeanMs} ms over >= ${t.slowQueryCalls} calls)`,
    output: {
      thresholds: { meanMs: t.slowQueryMeanMs, calls: t.slowQueryCalls },
      slowCount: statements.slowCount,
      slow: statements.slow.slice(0, 20),
      topByTotalTime: statements.top,
    },
  };
}

const INDEX_RULES = [
  'unused-index',
  'duplicate-index',
  'invalid-index',
  'missing-index',
  'vacuum',
  'replication-lag',
];

async function indexReview(ctx: TaskContext): Promise<TaskResult> {
  const snapshot = await ctx.collect();
  if (!snapshot.up) return { status: 'failed', message: `cannot connect: ${snapshot.error}`, output: {} };
  const findings = ctx.advise(snapshot).findings.filter((f) => INDEX_RULES.includes(f.rule));
  const n = (rule: string) => findings.filter((f) => f.rule === rule).length;
  return {
    status: 'succeeded',
    message: `${n('unused-index')} unused, ${n('duplicate-index')} duplicate, ${n('invalid-index')} invalid indexes; ${n('missing-index')} tables may miss an index; ${n('vacuum')} need VACUUM`,
    output: {
      findings,
      replicationLagSeconds: snapshot.replication.lagSeconds,
      indexes: {
        unused: snapshot.indexes.unused.length,
        duplicate: snapshot.indexes.duplicate.length,
        invalid: snapshot.indexes.invalid.length,
      },
    },
  };
}

export const TASKS: Record<MaintenanceTaskName, TaskDefinition> = {
  'vacuum-analyze': {
    description: 'VACUUM (ANALYZE) every table, one at a time, most dead rows first (guide 5.3, weekly)',
    run: vacuumAnalyze,
  },
  'size-review': {
    description: 'database size, the largest tables and their growth over 7 days, connection count (weekly)',
    run: sizeReview,
  },
  'slow-query-review': {
    description: 'slow queries from pg_stat_statements, and the top 10 by total time (weekly)',
    run: slowQueryReview,
  },
  'index-review': {
    description:
      'unused, duplicate and invalid indexes, missing-index hints, bloat and replication lag (monthly)',
    run: indexReview,
  },
};
