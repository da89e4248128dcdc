// A snapshot as metric samples, labelled {database, service?}, so alert rules apply to databases.
import type { DatabaseSnapshot } from '@opsbook/contracts';
import type { IngestSample, Labels } from '../telemetry/series.js';

/** The states PostgreSQL reports, as label values; each is written (0 too) so series stay continuous. */
const STATES: Record<string, string> = {
  active: 'active',
  idle: 'idle',
  'idle in transaction': 'idle_in_transaction',
  'idle in transaction (aborted)': 'idle_in_transaction_aborted',
  'fastpath function call': 'fastpath',
  disabled: 'disabled',
};

export function snapshotSamples(
  snapshot: DatabaseSnapshot,
  base: Labels,
  options: { largestTables: number },
): IngestSample[] {
  const t = snapshot.collectedAt;
  const out: IngestSample[] = [];
  const add = (name: string, value: number, labels: Labels = {}) =>
    out.push({ name, labels: { ...base, ...labels }, value, t });

  add('opsbook_pg_up', snapshot.up ? 1 : 0);
  add('opsbook_pg_collect_duration_seconds', snapshot.durationMs / 1000);
  if (!snapshot.up) return out;

  const failed = new Set(snapshot.errors.map((e) => e.section));
  if (!failed.has('connections')) {
    const byState: Record<string, number> = Object.fromEntries(Object.values(STATES).map((s) => [s, 0]));
    for (const [state, n] of Object.entries(snapshot.connections.byState)) {
      const label = STATES[state] ?? 'other';
      byState[label] = (byState[label] ?? 0) + n;
    }
    for (const [state, n] of Object.entries(byState)) add('opsbook_pg_connections', n, { state });
  }
  add('opsbook_pg_max_connections', snapshot.connections.max);
  if (!failed.has('activity')) {
    add('opsbook_pg_long_running_queries', snapshot.longRunning.length);
    add('opsbook_pg_idle_in_transaction', snapshot.idleInTransaction.length);
  }
  if (!failed.has('blocking'))
    add('opsbook_pg_blocked_queries', new Set(snapshot.blocking.map((b) => b.blockedPid)).size);
  if (snapshot.cacheHit.table !== null)
    add('opsbook_pg_cache_hit_ratio', snapshot.cacheHit.table, { kind: 'table' });
  if (snapshot.cacheHit.index !== null)
    add('opsbook_pg_cache_hit_ratio', snapshot.cacheHit.index, { kind: 'index' });
  // 0 without pg_stat_statements, so the rule sees a value; the advisor reports the missing extension.
  if (!failed.has('statements')) add('opsbook_pg_slow_queries', snapshot.statements.slowCount);
  if (snapshot.sizeBytes !== null) add('opsbook_pg_database_size_bytes', snapshot.sizeBytes);
  if (!failed.has('tables')) {
    for (const table of snapshot.tables.slice(0, options.largestTables))
      add('opsbook_pg_table_size_bytes', table.sizeBytes, { table: `${table.schema}.${table.name}` });
    add(
      'opsbook_pg_dead_tuples',
      snapshot.tables.reduce((sum, table) => sum + table.deadTuples, 0),
    );
  }
  if (!failed.has('sequences'))
    add('opsbook_pg_sequence_used_ratio', Math.max(0, ...snapshot.sequences.map((s) => s.usedRatio)));
  if (snapshot.xid) {
    add('opsbook_pg_xid_age', snapshot.xid.age);
    add('opsbook_pg_xid_remaining', snapshot.xid.remaining);
  }
  if (!failed.has('replication')) {
    if (snapshot.replication.lagSeconds !== null)
      add('opsbook_pg_replication_lag_seconds', snapshot.replication.lagSeconds);
    add('opsbook_pg_inactive_replication_slots', snapshot.replication.slots.filter((s) => !s.active).length);
  }
  if (!failed.has('indexes')) {
    add('opsbook_pg_indexes', snapshot.indexes.unused.length, { kind: 'unused' });
    add('opsbook_pg_indexes', snapshot.indexes.duplicate.length, { kind: 'duplicate' });
    add('opsbook_pg_indexes', snapshot.indexes.invalid.length, { kind: 'invalid' });
  }
  return out;
}
