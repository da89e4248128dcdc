// The statistics-view queries of the collector (pghero's checks). Every statement Opsbook sends starts
// with OPSBOOK_TAG, so its own statements are left out of the slow-query list in pg_stat_statements.
export const OPSBOOK_TAG = '/* opsbook */';

const QUERY_CHARS = 2000;

export const SERVER = `${OPSBOOK_TAG}
SELECT current_setting('server_version') AS version,
  current_setting('server_version_num')::int AS version_num,
  pg_is_in_recovery() AS in_recovery,
  current_setting('max_connections')::int AS max_connections,
  current_setting('shared_preload_libraries') AS preload,
  pg_database_size(current_database())::float8 AS size_bytes,
  (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset`;

/** Cluster-wide, because max_connections is. */
export const CONNECTIONS = `${OPSBOOK_TAG}
SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n
FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1`;

/** Client sessions of this database; long-running, idle-in-transaction and the backends list read it. */
export const ACTIVITY = `${OPSBOOK_TAG}
SELECT pid, usename AS user, coalesce(application_name, '') AS application, client_addr::text AS client,
  state, backend_type, wait_event_type, wait_event, query_start, state_change, xact_start,
  coalesce(extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END) * 1000, 0)::float8
    AS duration_ms,
  left(coalesce(query, ''), ${QUERY_CHARS}) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
ORDER BY duration_ms DESC`;

export const BLOCKING = `${OPSBOOK_TAG}
SELECT blocked.pid AS blocked_pid, blocked.usename AS blocked_user,
  left(coalesce(blocked.query, ''), ${QUERY_CHARS}) AS blocked_query,
  coalesce(extract(epoch FROM now() - blocked.query_start) * 1000, 0)::float8 AS blocked_ms,
  blocking.pid AS blocking_pid, blocking.usename AS blocking_user, blocking.state AS blocking_state,
  left(coalesce(blocking.query, ''), ${QUERY_CHARS}) AS blocking_query,
  coalesce(extract(epoch FROM now() - coalesce(blocking.xact_start, blocking.query_start)) * 1000, 0)::float8
    AS blocking_ms
FROM pg_stat_activity blocked
CROSS JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS b(pid)
JOIN pg_stat_activity blocking ON blocking.pid = b.pid
WHERE blocked.datname = current_database() AND blocked.wait_event_type = 'Lock'
ORDER BY blocked_ms DESC LIMIT 100`;

export const CACHE_HIT = `${OPSBOOK_TAG}
SELECT (SELECT coalesce(sum(heap_blks_hit), 0)::float8 FROM pg_statio_user_tables) AS table_hit,
  (SELECT coalesce(sum(heap_blks_read), 0)::float8 FROM pg_statio_user_tables) AS table_read,
  (SELECT coalesce(sum(idx_blks_hit), 0)::float8 FROM pg_statio_user_indexes) AS index_hit,
  (SELECT coalesce(sum(idx_blks_read), 0)::float8 FROM pg_statio_user_indexes) AS index_read`;

export const STATEMENTS_INSTALLED = `${OPSBOOK_TAG}
SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'`;

/** pg_stat_statements renamed total_time to total_exec_time in PostgreSQL 13. */
function statements(versionNum: number, filter: string, limit: number): string {
  const time = versionNum >= 130000 ? 'exec_time' : 'time';
  return `${OPSBOOK_TAG}
WITH s AS (
  SELECT queryid::text AS query_id, query, calls::float8 AS calls, total_${time}::float8 AS total_ms,
    mean_${time}::float8 AS mean_ms, rows::float8 AS rows
  FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND query NOT LIKE '${OPSBOOK_TAG}%'
), t AS (SELECT nullif(sum(total_ms), 0) AS total FROM s)
SELECT s.*, coalesce(100 * s.total_ms / t.total, 0)::float8 AS total_percent, count(*) OVER ()::int AS matching
FROM s, t ${filter}
ORDER BY s.total_ms DESC LIMIT ${limit}`;
}

/** pghero's slow queries: mean at least $1 ms over at least $2 calls. */
export const slowStatements = (versionNum: number) =>
  statements(versionNum, 'WHERE s.mean_ms >= $1 AND s.calls >= $2', 50);
/** The guide's "ORDER BY total_time DESC LIMIT 10". */
export const topStatements = (versionNum: number) => statements(versionNum, '', 10);

export const TABLES = `${OPSBOOK_TAG}
SELECT schemaname AS schema, relname AS name, pg_total_relation_size(relid)::float8 AS size_bytes,
  n_live_tup::float8 AS live, n_dead_tup::float8 AS dead, coalesce(seq_scan, 0)::float8 AS seq_scans,
  coalesce(idx_scan, 0)::float8 AS idx_scans, last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
FROM pg_stat_user_tables
ORDER BY size_bytes DESC, schemaname, relname LIMIT 500`;

export const INDEXES = `${OPSBOOK_TAG}
SELECT n.nspname AS schema, t.relname AS table_name, c.relname AS name,
  pg_get_indexdef(i.indexrelid) AS definition, pg_relation_size(i.indexrelid)::float8 AS size_bytes,
  coalesce(s.idx_scan, 0)::float8 AS scans, i.indisunique AS is_unique, i.indisprimary AS is_primary,
  i.indisvalid AS is_valid,
  EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid) AS is_constraint,
  i.indrelid::int8::text AS table_oid, i.indkey::text AS columns, i.indclass::text AS opclasses,
  am.amname AS method, coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS predicate,
  coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS expressions
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY n.nspname, t.relname, c.relname
LIMIT 5000`;

/** Owned sequences with the column they feed: a bigint sequence in an integer column ends at 2^31. */
export const SEQUENCES = `${OPSBOOK_TAG}
SELECT s.schemaname AS schema, s.sequencename AS name, s.last_value::float8 AS last_value,
  s.min_value::float8 AS min_value, s.max_value::float8 AS max_value, s.increment_by::float8 AS increment_by,
  t.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type
FROM pg_sequences s
JOIN pg_namespace sn ON sn.nspname = s.schemaname
JOIN pg_class sc ON sc.relname = s.sequencename AND sc.relnamespace = sn.oid
LEFT JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass
  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE s.last_value IS NOT NULL`;

export const XID_AGE = `${OPSBOOK_TAG}
SELECT age(datfrozenxid)::float8 AS age FROM pg_database WHERE datname = current_database()`;

export const XID_OLDEST = `${OPSBOOK_TAG}
SELECT n.nspname AS schema, c.relname AS name,
  greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0))::float8 AS age
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
WHERE c.relkind IN ('r', 'm')
ORDER BY age DESC LIMIT 5`;

/** On a replica: 0 when it has replayed all it received, else the age of the last replayed commit. */
export const REPLICA_LAG = `${OPSBOOK_TAG}
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag`;

export const PRIMARY_LAG = `${OPSBOOK_TAG}
SELECT count(*)::int AS standbys, max(extract(epoch FROM replay_lag))::float8 AS lag FROM pg_stat_replication`;

export const SLOTS_PRIMARY = `${OPSBOOK_TAG}
SELECT slot_name AS name, slot_type AS type, active,
  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained
FROM pg_replication_slots ORDER BY slot_name`;

export const SLOTS_REPLICA = `${OPSBOOK_TAG}
SELECT slot_name AS name, slot_type AS type, active, NULL::float8 AS retained
FROM pg_replication_slots ORDER BY slot_name`;
