// Maintenance runs and backend-action audit of the configured PostgreSQL databases (portable types).
import type { Generated } from 'kysely';

export interface DbMaintenanceRunsTable {
  id: string;
  database_id: string;
  /** vacuum-analyze | size-review | slow-query-review | index-review */
  task: string;
  /** schedule | manual */
  trigger: string;
  actor: string;
  /** running | succeeded | failed | skipped */
  status: string;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  message: string;
  /** The report or per-table results, JSON. */
  output: string;
}

/** Every cancel or terminate request, done or refused. */
export interface DbBackendAuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  database_id: string;
  pid: number;
  /** cancel | terminate */
  action: string;
  /** api | cli | runbook ... as the caller says */
  source: string;
  /** done | refused | not_found | failed */
  outcome: string;
  /** The backend's query with string literals replaced. */
  query: string | null;
  message: string;
}

export interface PostgresTables {
  db_maintenance_runs: DbMaintenanceRunsTable;
  db_backend_audit: DbBackendAuditTable;
}
