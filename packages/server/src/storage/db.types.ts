// Table shapes for Kysely. Portable column types (DESIGN 5): text ids, integer epoch-ms times,
// 0/1 booleans, JSON as text; the same rows on SQLite and PostgreSQL.
import type { Generated } from 'kysely';

export interface ServicesTable {
  id: string;
  owner: string;
  environment: string;
  description: string | null;
  tags: string;
  updated_at: number;
}

export interface ChecksTable {
  id: string;
  service_id: string;
  name: string;
  kind: string;
  role: string;
  target: string;
  description: string | null;
  /** The probe spec with secrets removed, as JSON. */
  spec: string;
  timing: string;
  spec_hash: string;
  created_at: number;
  updated_at: number;
}

export interface CheckStatusTable {
  check_id: string;
  status: string;
  since: number;
  consecutive_successes: number;
  consecutive_failures: number;
  started: number;
  last_run_at: number | null;
  last_status: string | null;
  last_latency_ms: number | null;
  last_message: string | null;
}

export interface CheckResultsTable {
  id: Generated<number>;
  check_id: string;
  started_at: number;
  status: string;
  latency_ms: number;
  message: string;
  detail: string;
}

export interface CheckRollupsTable {
  check_id: string;
  /** '1m' or '1h' */
  resolution: string;
  bucket: number;
  count: number;
  failures: number;
  latency_sum: number;
  /** DDSketch protobuf, base64. */
  sketch: string;
}

export interface EventsTable {
  id: Generated<number>;
  at: number;
  kind: string;
  severity: string;
  service_id: string | null;
  check_id: string | null;
  message: string;
  data: string;
}

export interface DB {
  services: ServicesTable;
  checks: ChecksTable;
  check_status: CheckStatusTable;
  check_results: CheckResultsTable;
  check_rollups: CheckRollupsTable;
  events: EventsTable;
}
