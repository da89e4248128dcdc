// Reads the statistics views of one database into a snapshot. One section failing (a permission, a
// timeout) is recorded in `errors` and the others still count; failing to connect gives up = false.
import type {
  ActivityRow,
  BlockingPair,
  DatabaseSnapshot,
  SequenceRow,
  StatementRow,
  TableRow,
} from '@opsbook/contracts';
import type { Thresholds } from './thresholds.schema.js';
import * as Q from './collector.queries.js';
import { duplicateIndexes, invalidIndexes, unusedIndexes, type IndexDefinition } from './indexes.js';
import type { PgConnection, Queryable } from './pg-connection.js';
import { redactQuery } from './sql-text.js';

/** pghero's "transactions left" baseline: 2^31 minus the million PostgreSQL keeps in reserve. */
export const XID_LIMIT = 2_146_483_648;

export interface CollectOptions {
  database: string;
  thresholds: Thresholds;
  now?: () => number;
}

type Row = Record<string, unknown>;

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const time = (value: unknown): number | null =>
  value instanceof Date ? value.getTime() : value ? new Date(String(value)).getTime() : null;

export function emptySnapshot(database: string, collectedAt: number): DatabaseSnapshot {
  return {
    database,
    collectedAt,
    durationMs: 0,
    up: false,
    error: null,
    serverVersion: null,
    inRecovery: false,
    connections: { byState: {}, total: 0, max: 0 },
    longRunning: [],
    idleInTransaction: [],
    blocking: [],
    cacheHit: { table: null, index: null, tableBlocks: 0, indexBlocks: 0 },
    statements: { status: 'error', message: null, preloaded: false, slowCount: 0, slow: [], top: [] },
    sizeBytes: null,
    tables: [],
    indexes: { unused: [], duplicate: [], invalid: [] },
    sequences: [],
    xid: null,
    replication: { lagSeconds: null, standbys: 0, slots: [] },
    statsResetAt: null,
    errors: [],
  };
}

export async function collectSnapshot(
  connection: PgConnection,
  options: CollectOptions,
): Promise<DatabaseSnapshot> {
  const now = options.now ?? Date.now;
  const started = now();
  const snapshot = emptySnapshot(options.database, started);
  try {
    await connection.withClient((client) => readAll(client, snapshot, options.thresholds, connection));
    snapshot.up = true;
  } catch (error) {
    snapshot.up = false;
    snapshot.error = connection.describe(error);
  }
  snapshot.durationMs = now() - started;
  return snapshot;
}

async function readAll(
  client: Queryable,
  s: DatabaseSnapshot,
  thresholds: Thresholds,
  connection: PgConnection,
): Promise<void> {
  const rows = async (text: string, values?: unknown[]) => (await client.query<Row>(text, values)).rows;
  // The server row decides reachability; without it nothing else is worth reading.
  const server = (await rows(Q.SERVER))[0]!;
  s.serverVersion = str(server.version);
  s.inRecovery = server.in_recovery === true;
  s.connections.max = num(server.max_connections);
  s.sizeBytes = num(server.size_bytes);
  s.statsResetAt = time(server.stats_reset);
  const versionNum = num(server.version_num);
  const preloaded = String(server.preload ?? '')
    .split(',')
    .map((p) => p.trim())
    .includes('pg_stat_statements');

  const section = async (name: string, read: () => Promise<void>) => {
    try {
      await read();
    } catch (error) {
      s.errors.push({ section: name, message: connection.describe(error) });
    }
  };

  await section('connections', async () => {
    for (const row of await rows(Q.CONNECTIONS)) s.connections.byState[String(row.state)] = num(row.n);
    s.connections.total = Object.values(s.connections.byState).reduce((a, b) => a + b, 0);
  });

  await section('activity', async () => {
    const activity = (await rows(Q.ACTIVITY)).map(activityRow);
    s.longRunning = activity
      .filter((a) => a.state === 'active' && a.durationMs >= thresholds.longRunningQuery)
      .slice(0, 100);
    s.idleInTransaction = activity.filter((a) => a.state?.startsWith('idle in transaction')).slice(0, 100);
  });

  await section('blocking', async () => {
    s.blocking = (await rows(Q.BLOCKING)).map((r): BlockingPair => ({
      blockedPid: num(r.blocked_pid),
      blockedUser: str(r.blocked_user),
      blockedQuery: redactQuery(String(r.blocked_query ?? '')),
      blockedDurationMs: num(r.blocked_ms),
      blockingPid: num(r.blocking_pid),
      blockingUser: str(r.blocking_user),
      blockingState: str(r.blocking_state),
      blockingQuery: redactQuery(String(r.blocking_query ?? '')),
      blockingDurationMs: num(r.blocking_ms),
    }));
  });

  await section('cache', async () => {
    const r = (await rows(Q.CACHE_HIT))[0]!;
    const ratio = (hit: number, read: number) => (hit + read > 0 ? hit / (hit + read) : null);
    s.cacheHit = {
      table: ratio(num(r.table_hit), num(r.table_read)),
      index: ratio(num(r.index_hit), num(r.index_read)),
      tableBlocks: num(r.table_hit) + num(r.table_read),
      indexBlocks: num(r.index_hit) + num(r.index_read),
    };
  });

  await section('statements', async () => {
    s.statements.preloaded = preloaded;
    const installed = (await rows(Q.STATEMENTS_INSTALLED)).length > 0;
    if (!installed) {
      s.statements.status = 'not-installed';
      s.statements.message = 'the pg_stat_statements extension is not installed in this database';
      return;
    }
    try {
      const slow = await rows(Q.slowStatements(versionNum), [
        thresholds.slowQueryMeanMs,
        thresholds.slowQueryCalls,
      ]);
      s.statements.slow = slow.map(statementRow);
      s.statements.slowCount = slow.length > 0 ? num(slow[0]!.matching) : 0;
      s.statements.top = (await rows(Q.topStatements(versionNum))).map(statementRow);
      s.statements.status = 'installed';
    } catch (error) {
      const message = connection.describe(error);
      s.statements.status = message.includes('shared_preload_libraries') ? 'not-preloaded' : 'error';
      s.statements.message = message;
    }
  });

  await section('tables', async () => {
    s.tables = (await rows(Q.TABLES)).map((r): TableRow => ({
      schema: String(r.schema),
      name: String(r.name),
      sizeBytes: num(r.size_bytes),
      liveTuples: num(r.live),
      deadTuples: num(r.dead),
      seqScans: num(r.seq_scans),
      indexScans: num(r.idx_scans),
      lastVacuum: time(r.last_vacuum),
      lastAutovacuum: time(r.last_autovacuum),
      lastAnalyze: time(r.last_analyze),
      lastAutoanalyze: time(r.last_autoanalyze),
    }));
  });

  await section('indexes', async () => {
    const definitions = (await rows(Q.INDEXES)).map((r): IndexDefinition => ({
      schema: String(r.schema),
      table: String(r.table_name),
      name: String(r.name),
      definition: String(r.definition),
      sizeBytes: num(r.size_bytes),
      scans: num(r.scans),
      unique: r.is_unique === true,
      primary: r.is_primary === true,
      valid: r.is_valid === true,
      constraint: r.is_constraint === true,
      tableOid: String(r.table_oid),
      columns: String(r.columns).split(' '),
      opclasses: String(r.opclasses).split(' '),
      method: String(r.method),
      predicate: String(r.predicate),
      expressions: String(r.expressions),
    }));
    s.indexes = {
      unused: unusedIndexes(definitions, thresholds.unusedIndexMinSize),
      duplicate: duplicateIndexes(definitions),
      invalid: invalidIndexes(definitions),
    };
  });

  await section('sequences', async () => {
    s.sequences = (await rows(Q.SEQUENCES))
      .map(sequenceRow)
      .sort((a, b) => b.usedRatio - a.usedRatio)
      .slice(0, 100);
  });

  await section('xid', async () => {
    const age = num((await rows(Q.XID_AGE))[0]?.age);
    const oldest = (await rows(Q.XID_OLDEST)).map((r) => ({
      schema: String(r.schema),
      name: String(r.name),
      age: num(r.age),
    }));
    s.xid = { age, remaining: XID_LIMIT - age, oldest };
  });

  await section('replication', async () => {
    if (s.inRecovery) {
      const lag = (await rows(Q.REPLICA_LAG))[0]?.lag;
      s.replication.lagSeconds = lag === null || lag === undefined ? null : num(lag);
    } else {
      const r = (await rows(Q.PRIMARY_LAG))[0]!;
      s.replication.standbys = num(r.standbys);
      s.replication.lagSeconds = r.lag === null || r.lag === undefined ? null : num(r.lag);
    }
    s.replication.slots = (await rows(s.inRecovery ? Q.SLOTS_REPLICA : Q.SLOTS_PRIMARY)).map((r) => ({
      name: String(r.name),
      type: String(r.type),
      active: r.active === true,
      retainedBytes: r.retained === null || r.retained === undefined ? null : num(r.retained),
    }));
  });
}

export function activityRow(r: Row): ActivityRow {
  return {
    pid: num(r.pid),
    user: str(r.user),
    application: String(r.application ?? ''),
    client: str(r.client),
    state: str(r.state),
    backendType: str(r.backend_type),
    waitEventType: str(r.wait_event_type),
    waitEvent: str(r.wait_event),
    queryStart: time(r.query_start),
    stateChange: time(r.state_change),
    xactStart: time(r.xact_start),
    durationMs: Math.round(num(r.duration_ms)),
    // Live text, literals and all (ALTER ROLE ... PASSWORD '...', customer data): never shown as is.
    query: redactQuery(String(r.query ?? '')),
  };
}

function statementRow(r: Row): StatementRow {
  return {
    queryId: str(r.query_id),
    // Normalized ($1) for plannable statements; before PostgreSQL 16 utility statements keep their literals.
    query: redactQuery(String(r.query ?? '')),
    calls: num(r.calls),
    totalMs: num(r.total_ms),
    meanMs: num(r.mean_ms),
    rows: num(r.rows),
    totalPercent: num(r.total_percent),
  };
}

/** The largest value each integer column type holds. */
const TYPE_MAX: Record<string, number> = {
  smallint: 32_767,
  integer: 2_147_483_647,
  bigint: 9_223_372_036_854_775_807,
};

function sequenceRow(r: Row): SequenceRow {
  const columnType = str(r.column_type);
  const increment = num(r.increment_by);
  const last = num(r.last_value);
  const typeMax = columnType ? TYPE_MAX[columnType] : undefined;
  let max = num(r.max_value);
  let usedRatio: number;
  if (increment >= 0) {
    if (typeMax !== undefined) max = Math.min(max, typeMax);
    usedRatio = max > 0 ? Math.max(0, last) / max : 0;
  } else {
    const min = typeMax !== undefined ? Math.max(num(r.min_value), -typeMax - 1) : num(r.min_value);
    max = min;
    usedRatio = min < 0 ? Math.max(0, -last) / -min : 0;
  }
  return {
    schema: String(r.schema),
    name: String(r.name),
    table: str(r.table_name),
    column: str(r.column_name),
    columnType,
    lastValue: last,
    maxValue: max,
    usedRatio,
  };
}
