// The advisor's rules, one typed table (pghero's checks). Each reads a snapshot and returns findings
// with evidence and the SQL that would fix them; Opsbook never runs that SQL by itself.
import type { DatabaseSnapshot, Finding, FindingSeverity, IndexRow } from '@opsbook/contracts';
import { quoteIdent, redactQuery } from './sql-text.js';
import type { Thresholds } from './thresholds.schema.js';
import { formatBytes } from '../lib/format.js';

export interface AdvisorContext {
  database: string;
  snapshot: DatabaseSnapshot;
  thresholds: Thresholds;
  /** The configured role; the server's own (pg_is_in_recovery) is in the snapshot. */
  role: 'primary' | 'replica';
  /** The user Opsbook connects as, for GRANT suggestions. */
  user: string | null;
  now: number;
}

export interface AdvisorRule {
  id: string;
  description: string;
  /** Skipped when the database is unreachable (everything but `unreachable` needs a snapshot). */
  needsConnection: boolean;
  check(context: AdvisorContext): Finding[];
}

/** A cache ratio over fewer blocks than this says nothing yet (a new or idle database). */
const MIN_CACHE_BLOCKS = 1_000;
/** Per rule, so one noisy problem cannot bury the others. */
const MAX_PER_RULE = 20;

const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

const percent = (ratio: number, digits = 1) => `${(ratio * 100).toFixed(digits)} %`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const shortQuery = (query: string, chars = 120) => {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > chars ? `${line.slice(0, chars - 3)}...` : line;
};
const ago = (at: number | null, now: number) => (at === null ? 'never' : `${formatDuration(now - at)} ago`);

function finding(
  rule: string,
  key: string | null,
  severity: FindingSeverity,
  title: string,
  evidence: Record<string, unknown>,
  fix: Finding['fix'],
): Finding {
  return { id: key ? `${rule}:${key}` : rule, rule, severity, title, evidence, fix };
}

function dropIndexSql(index: IndexRow): string {
  return index.constraint
    ? `ALTER TABLE ${qualified(index.schema, index.table)} DROP CONSTRAINT ${quoteIdent(index.name)};`
    : `DROP INDEX CONCURRENTLY ${qualified(index.schema, index.name)};`;
}

export const ADVISOR_RULES: AdvisorRule[] = [
  {
    id: 'unreachable',
    description: 'Opsbook cannot connect to the database (the guide: database connection failures)',
    needsConnection: false,
    check: ({ snapshot }) =>
      snapshot.up
        ? []
        : [
            finding(
              'unreachable',
              null,
              'critical',
              'Cannot connect to the database',
              { error: snapshot.error, at: snapshot.collectedAt },
              {
                sql: null,
                destructive: false,
                note: 'Check that the server runs and is reachable from Opsbook (host, port, firewall), the credentials (password or passwordFile) and pg_hba.conf. Guide 4.3, Runbook 3: Database Issues.',
              },
            ),
          ],
  },
  {
    id: 'role-mismatch',
    description: 'the configured role differs from what the server is',
    needsConnection: true,
    check: ({ snapshot, role }) => {
      const actual = snapshot.inRecovery ? 'replica' : 'primary';
      if (actual === role) return [];
      return [
        finding(
          'role-mismatch',
          null,
          'warning',
          `Configured as ${role} but the server is a ${actual}`,
          { configured: role, inRecovery: snapshot.inRecovery },
          {
            sql: null,
            destructive: false,
            note: `A failover may have happened. Update role: ${actual} in the databases config once confirmed; maintenance that writes (VACUUM) runs only on a primary.`,
          },
        ),
      ];
    },
  },
  {
    id: 'connections',
    description: 'connections near max_connections',
    needsConnection: true,
    check: ({ snapshot, thresholds }) => {
      const { total, max, byState } = snapshot.connections;
      if (max <= 0) return [];
      const ratio = total / max;
      if (ratio < thresholds.connectionsWarning) return [];
      return [
        finding(
          'connections',
          null,
          ratio >= thresholds.connectionsCritical ? 'critical' : 'warning',
          `${total} of ${max} connections in use (${percent(ratio, 0)})`,
          { total, max, ratio, byState },
          {
            sql: null,
            destructive: false,
            note: 'Put a connection pooler (PgBouncer) in front or lower the applications’ pool sizes, end idle sessions, or raise max_connections (needs a restart).',
          },
        ),
      ];
    },
  },
  {
    id: 'long-running',
    description: 'queries running for 60 s or more (thresholds.longRunningQuery)',
    needsConnection: true,
    check: ({ snapshot, database }) =>
      snapshot.longRunning.slice(0, MAX_PER_RULE).map((q) =>
        finding(
          'long-running',
          String(q.pid),
          'warning',
          `Query running for ${formatDuration(q.durationMs)} (pid ${q.pid}): ${shortQuery(redactQuery(q.query), 60)}`,
          { ...q, query: redactQuery(q.query) },
          {
            sql: `SELECT pg_cancel_backend(${q.pid});`,
            destructive: true,
            note: `Cancels the statement and keeps the session; pg_terminate_backend(${q.pid}) ends the session if cancelling does not stop it. Or: opsbook db cancel ${database} ${q.pid}`,
          },
        ),
      ),
  },
  {
    id: 'blocking',
    description: 'sessions holding locks that other queries wait for',
    needsConnection: true,
    check: ({ snapshot, database }) => {
      const byBlocker = new Map<number, typeof snapshot.blocking>();
      for (const pair of snapshot.blocking)
        byBlocker.set(pair.blockingPid, [...(byBlocker.get(pair.blockingPid) ?? []), pair]);
      return [...byBlocker.entries()].slice(0, MAX_PER_RULE).map(([pid, pairs]) => {
        const first = pairs[0]!;
        const idle = first.blockingState?.startsWith('idle') ?? false;
        const fn = idle ? 'pg_terminate_backend' : 'pg_cancel_backend';
        return finding(
          'blocking',
          String(pid),
          'warning',
          `pid ${pid} (${first.blockingState ?? 'unknown'}) blocks ${pairs.length} ${pairs.length === 1 ? 'query' : 'queries'}`,
          {
            blockingPid: pid,
            blockingUser: first.blockingUser,
            blockingState: first.blockingState,
            blockingQuery: redactQuery(first.blockingQuery),
            blockingDurationMs: first.blockingDurationMs,
            blocked: pairs.map((p) => ({
              pid: p.blockedPid,
              user: p.blockedUser,
              query: redactQuery(p.blockedQuery),
              waitingMs: p.blockedDurationMs,
            })),
          },
          {
            sql: `SELECT ${fn}(${pid});`,
            destructive: true,
            note: idle
              ? `The blocker is idle inside a transaction, so only ending its session releases the locks (its transaction rolls back). Or: opsbook db terminate ${database} ${pid}`
              : `Cancelling the blocker's statement releases its locks unless its transaction goes on holding them. Or: opsbook db cancel ${database} ${pid}`,
          },
        );
      });
    },
  },
  {
    id: 'idle-in-transaction',
    description: 'sessions idle inside an open transaction',
    needsConnection: true,
    check: ({ snapshot, thresholds, database }) =>
      snapshot.idleInTransaction
        .filter((s) => s.durationMs >= thresholds.idleInTransaction)
        .slice(0, MAX_PER_RULE)
        .map((s) =>
          finding(
            'idle-in-transaction',
            String(s.pid),
            'warning',
            `Session idle in transaction for ${formatDuration(s.durationMs)} (pid ${s.pid}, ${s.user ?? 'unknown user'})`,
            { ...s, query: redactQuery(s.query) },
            {
              sql: `SELECT pg_terminate_backend(${s.pid});`,
              destructive: true,
              note: `An open transaction keeps its locks and stops VACUUM from removing dead rows; ending the session rolls it back. To have PostgreSQL do this itself: ALTER DATABASE ... SET idle_in_transaction_session_timeout = '5min'. Or: opsbook db terminate ${database} ${s.pid}`,
            },
          ),
        ),
  },
  {
    id: 'cache-hit',
    description: 'table and index cache hit ratios below 99 %',
    needsConnection: true,
    check: ({ snapshot, thresholds }) => {
      const out: Finding[] = [];
      for (const kind of ['table', 'index'] as const) {
        const ratio = snapshot.cacheHit[kind];
        const blocks = kind === 'table' ? snapshot.cacheHit.tableBlocks : snapshot.cacheHit.indexBlocks;
        if (ratio === null || blocks < MIN_CACHE_BLOCKS || ratio >= thresholds.cacheHitRatio) continue;
        out.push(
          finding(
            'cache-hit',
            kind,
            'warning',
            `${kind === 'table' ? 'Table' : 'Index'} cache hit ratio is ${percent(ratio)} (healthy: ${percent(thresholds.cacheHitRatio, 0)} and over)`,
            { kind, ratio, blocks },
            {
              sql: null,
              destructive: false,
              note: 'The working set does not fit in memory: raise shared_buffers (and the server’s memory), or read less (indexes, narrower queries, archiving old rows).',
            },
          ),
        );
      }
      return out;
    },
  },
  {
    id: 'pg-stat-statements',
    description: 'pg_stat_statements, which slow-query detection needs',
    needsConnection: true,
    check: ({ snapshot }) => {
      const { status, preloaded, message } = snapshot.statements;
      if (status === 'installed') return [];
      if (status === 'error')
        return [
          finding(
            'pg-stat-statements',
            null,
            'info',
            'pg_stat_statements could not be read',
            { message },
            {
              sql: null,
              destructive: false,
              note: 'Slow queries are not detected until it can be read; grant pg_read_all_stats (or pg_monitor) to Opsbook’s user.',
            },
          ),
        ];
      return [
        finding(
          'pg-stat-statements',
          null,
          'warning',
          'pg_stat_statements is not available: slow queries are not detected',
          { status, preloaded, message },
          {
            sql: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;',
            destructive: false,
            note: preloaded
              ? 'The library is loaded; creating the extension in this database is enough.'
              : "First add pg_stat_statements to shared_preload_libraries (postgresql.conf, or the server parameter on Azure) and restart PostgreSQL; then create the extension. pg_stat_statements.track = 'all' also counts statements inside functions.",
          },
        ),
      ];
    },
  },
  {
    id: 'slow-queries',
    description: 'statements with a mean of 20 ms or more over 100 calls or more (pg_stat_statements)',
    needsConnection: true,
    check: ({ snapshot, thresholds }) =>
      snapshot.statements.slow.slice(0, MAX_PER_RULE).map((q) =>
        finding(
          'slow-queries',
          q.queryId ?? shortQuery(q.query, 40),
          'warning',
          `Slow query: mean ${q.meanMs.toFixed(1)} ms over ${count(q.calls)} calls (${q.totalPercent.toFixed(1)} % of all time): ${shortQuery(q.query, 60)}`,
          { ...q, slowCount: snapshot.statements.slowCount, thresholdMeanMs: thresholds.slowQueryMeanMs },
          {
            sql: null,
            destructive: false,
            note: 'Read its plan with EXPLAIN (ANALYZE, BUFFERS) and real parameter values; an index on the filtered or joined columns, or a rewrite, usually helps. After a fix, SELECT pg_stat_statements_reset() restarts the averages.',
          },
        ),
      ),
  },
  {
    id: 'unused-index',
    description: 'indexes never scanned, 10 MB and larger',
    needsConnection: true,
    // A replica counts only its own scans: an index unused there may serve the primary's queries.
    check: ({ snapshot, now }) =>
      snapshot.inRecovery
        ? []
        : snapshot.indexes.unused.slice(0, MAX_PER_RULE).map((index) =>
            finding(
              'unused-index',
              `${index.schema}.${index.name}`,
              'info',
              `Unused index ${index.schema}.${index.name} (${formatBytes(index.sizeBytes)}, 0 scans)`,
              { ...index, statsResetAt: snapshot.statsResetAt },
              {
                sql: dropIndexSql(index),
                destructive: true,
                note: `0 scans since statistics were last reset (${ago(snapshot.statsResetAt, now)}). Make sure replicas do not use it (they count their own scans) before dropping; it slows every write and takes ${formatBytes(index.sizeBytes)}.`,
              },
            ),
          ),
  },
  {
    id: 'duplicate-index',
    description: 'indexes covered by another index of the same table',
    needsConnection: true,
    check: ({ snapshot }) =>
      snapshot.indexes.duplicate.slice(0, MAX_PER_RULE).map(({ index, coveredBy }) =>
        finding(
          'duplicate-index',
          `${index.schema}.${index.name}`,
          'info',
          `Duplicate index ${index.schema}.${index.name}: ${coveredBy.name} covers it`,
          { index, coveredBy },
          {
            sql: dropIndexSql(index),
            destructive: true,
            note: `${coveredBy.name} (${coveredBy.definition}) serves every lookup this one does.${index.constraint ? ' This index backs a constraint: dropping it drops the constraint.' : ''}`,
          },
        ),
      ),
  },
  {
    id: 'invalid-index',
    description: 'indexes left invalid by a failed CREATE INDEX CONCURRENTLY',
    needsConnection: true,
    check: ({ snapshot }) =>
      snapshot.indexes.invalid.slice(0, MAX_PER_RULE).map((index) =>
        finding(
          'invalid-index',
          `${index.schema}.${index.name}`,
          'warning',
          `Invalid index ${index.schema}.${index.name}: queries ignore it, writes still maintain it`,
          { ...index },
          {
            sql: `REINDEX INDEX CONCURRENTLY ${qualified(index.schema, index.name)};`,
            destructive: false,
            note: `If it was a unique index that failed on duplicate values, REINDEX fails again: remove the duplicates first, or drop it with DROP INDEX CONCURRENTLY ${qualified(index.schema, index.name)};`,
          },
        ),
      ),
  },
  {
    id: 'vacuum',
    description: 'tables with many dead rows that autovacuum has not removed',
    needsConnection: true,
    check: ({ snapshot, thresholds, now }) =>
      snapshot.inRecovery
        ? []
        : snapshot.tables
            .filter((t) => {
              const rows = t.liveTuples + t.deadTuples;
              return (
                t.deadTuples >= thresholds.vacuumMinDeadTuples &&
                rows > 0 &&
                t.deadTuples / rows >= thresholds.vacuumDeadRatio
              );
            })
            .sort((a, b) => b.deadTuples - a.deadTuples)
            .slice(0, MAX_PER_RULE)
            .map((t) => {
              const ratio = t.deadTuples / (t.liveTuples + t.deadTuples);
              const lastVacuum = Math.max(t.lastVacuum ?? 0, t.lastAutovacuum ?? 0) || null;
              return finding(
                'vacuum',
                `${t.schema}.${t.name}`,
                'warning',
                `${t.schema}.${t.name} needs VACUUM: ${count(t.deadTuples)} dead rows (${percent(ratio, 0)}), last vacuum ${ago(lastVacuum, now)}`,
                { ...t, deadRatio: ratio },
                {
                  sql: `VACUUM (ANALYZE) ${qualified(t.schema, t.name)};`,
                  destructive: false,
                  note: 'Autovacuum has not kept up. Look for long transactions holding back cleanup, and consider a lower autovacuum_vacuum_scale_factor for this table. Never VACUUM FULL in production hours: it locks the table.',
                },
              );
            }),
  },
  {
    id: 'sequence',
    description: 'sequences past 90 % of their range or of their column type',
    needsConnection: true,
    check: ({ snapshot, thresholds }) =>
      snapshot.sequences
        .filter((s) => s.usedRatio >= thresholds.sequenceUsedRatio)
        .slice(0, MAX_PER_RULE)
        .map((s) => {
          const narrowColumn = s.columnType === 'integer' || s.columnType === 'smallint';
          const sql =
            narrowColumn && s.table && s.column
              ? `ALTER TABLE ${qualified(s.schema, s.table)} ALTER COLUMN ${quoteIdent(s.column)} TYPE bigint;\nALTER SEQUENCE ${qualified(s.schema, s.name)} AS bigint;`
              : s.maxValue < 9.2e18
                ? `ALTER SEQUENCE ${qualified(s.schema, s.name)} AS bigint;`
                : null;
          return finding(
            'sequence',
            `${s.schema}.${s.name}`,
            'warning',
            `Sequence ${s.schema}.${s.name} is ${percent(s.usedRatio)} used (${count(s.lastValue)} of ${count(s.maxValue)})`,
            { ...s },
            {
              sql,
              destructive: narrowColumn,
              note: narrowColumn
                ? `Inserts fail once ${s.table}.${s.column} (${s.columnType}) runs out. Changing the column type rewrites the table under an exclusive lock: plan a maintenance window, or migrate to a new bigint column in steps.`
                : 'Inserts fail once the sequence reaches its maximum; widen it before then.',
            },
          );
        }),
  },
  {
    id: 'xid-wraparound',
    description: 'transaction IDs left before wraparound (pghero warns below 1.5 billion)',
    needsConnection: true,
    check: ({ snapshot, thresholds }) => {
      const xid = snapshot.xid;
      if (!xid || xid.remaining >= thresholds.xidRemainingWarning) return [];
      return [
        finding(
          'xid-wraparound',
          null,
          xid.remaining < thresholds.xidRemainingCritical ? 'critical' : 'warning',
          `${count(xid.remaining)} transaction IDs left before wraparound`,
          { ...xid },
          {
            sql:
              xid.oldest.map((t) => `VACUUM (FREEZE, ANALYZE) ${qualified(t.schema, t.name)};`).join('\n') ||
              null,
            destructive: false,
            note: 'PostgreSQL stops accepting writes near wraparound. Freeze the oldest tables, and find what holds the horizon back: long transactions, prepared transactions (pg_prepared_xacts) or stale replication slots.',
          },
        ),
      ];
    },
  },
  {
    id: 'replication-lag',
    description: 'replication lag of 5 s or more',
    needsConnection: true,
    check: ({ snapshot, thresholds }) => {
      const lag = snapshot.replication.lagSeconds;
      if (lag === null || lag * 1000 < thresholds.replicationLag) return [];
      return [
        finding(
          'replication-lag',
          null,
          'warning',
          `Replication lag is ${formatDuration(lag * 1000)} (healthy: under ${formatDuration(thresholds.replicationLag)})`,
          { lagSeconds: lag, inRecovery: snapshot.inRecovery, standbys: snapshot.replication.standbys },
          {
            sql: null,
            destructive: false,
            note: 'Reads from the replica are stale. Check the replica’s disk and CPU, the network, and long queries on the replica that conflict with replay.',
          },
        ),
      ];
    },
  },
  {
    id: 'inactive-slot',
    description: 'replication slots no consumer uses (they keep WAL until the disk fills)',
    needsConnection: true,
    check: ({ snapshot }) =>
      snapshot.replication.slots
        .filter((s) => !s.active)
        .slice(0, MAX_PER_RULE)
        .map((slot) =>
          finding(
            'inactive-slot',
            slot.name,
            'warning',
            `Replication slot ${slot.name} is inactive${slot.retainedBytes !== null ? ` and keeps ${formatBytes(slot.retainedBytes)} of WAL` : ''}`,
            { ...slot },
            {
              sql: `SELECT pg_drop_replication_slot(${literal(slot.name)});`,
              destructive: true,
              note: 'The server keeps every WAL file the slot has not consumed. If its replica or consumer is gone for good, drop the slot; if it is only down, bring it back soon.',
            },
          ),
        ),
  },
  {
    id: 'missing-index',
    description:
      'large tables read mostly by sequential scans (pghero: < 95 % index use, 10,000 rows or more)',
    needsConnection: true,
    check: ({ snapshot, thresholds }) =>
      snapshot.tables
        .filter((t) => {
          const scans = t.seqScans + t.indexScans;
          return (
            t.liveTuples >= thresholds.missingIndexMinRows &&
            t.seqScans > 0 &&
            t.indexScans / scans < thresholds.missingIndexScanRatio
          );
        })
        .slice(0, MAX_PER_RULE)
        .map((t) => {
          const indexShare = t.indexScans / (t.seqScans + t.indexScans);
          return finding(
            'missing-index',
            `${t.schema}.${t.name}`,
            'info',
            `${t.schema}.${t.name} (${count(t.liveTuples)} rows) uses an index in ${percent(indexShare, 0)} of scans`,
            { ...t, indexScanRatio: indexShare },
            {
              sql: null,
              destructive: false,
              note: 'Find the queries that read this table (see the slow queries) and index the columns they filter on, with CREATE INDEX CONCURRENTLY so writes go on.',
            },
          );
        }),
  },
  {
    id: 'collection-errors',
    description: 'statistics Opsbook could not read',
    needsConnection: true,
    check: ({ snapshot, user }) =>
      snapshot.errors.map((e) =>
        finding(
          'collection-errors',
          e.section,
          'info',
          `Could not read ${e.section} statistics: ${e.message}`,
          { ...e },
          {
            sql: user ? `GRANT pg_monitor TO ${quoteIdent(user)};` : null,
            destructive: false,
            note: 'Opsbook reads the statistics views; the pg_monitor role lets it see every session and statistic. A timeout means the server is busy or statementTimeout is too short.',
          },
        ),
      ),
  },
];
