import type { AlertTables } from './alert-tables.js';
import type { IncidentTables } from './incident-tables.js';
import type { RunbookTables } from './runbook-tables.js';
import type { PostmortemTables } from './postmortem-tables.js';
import type { DrillTables } from './drill-tables.js';
import type { BackupTables } from './backup-tables.js';
import type { OncallTables } from './oncall-tables.js';
import type { PostgresTables } from './postgres-tables.js';
import type { PitrTables } from './pitr-tables.js';
import type { AuthTables } from './auth-tables.js';
import type { DeploymentTables } from './deployment-tables.js';
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

export interface NotificationDeliveriesTable {
  id: Generated<number>;
  /** Stable hash of group key, sequence, receiver and channel; receivers drop repeats of it. */
  idempotency_key: string;
  /** Receiver, channel and group hashed: deliveries of one lane go out in sequence order. */
  lane: string;
  group_key: string;
  sequence: number;
  receiver: string;
  channel: string;
  /** Where it goes, tokens and passwords hidden. */
  target: string;
  notification_status: string;
  reason: string;
  alert_count: number;
  /** The rendered message as JSON, without credentials (added at send time). */
  payload: string;
  /** pending | sending | delivered | failed | expired */
  status: string;
  attempts: number;
  last_error: string | null;
  last_status: number | null;
  created_at: number;
  updated_at: number;
  next_attempt_at: number | null;
  delivered_at: number | null;
}

export interface NotificationAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  attempt: number;
  at: number;
  duration_ms: number;
  ok: number;
  retryable: number;
  /** HTTP status or SMTP reply code. */
  status: number | null;
  response: string | null;
  error: string | null;
}

/** The dispatcher's notification log: one row per alert group and receiver. */
export interface DispatchLogTable {
  /** Hash of group key and receiver. */
  id: string;
  group_key: string;
  receiver: string;
  route_id: string;
  /** JSON object. */
  group_labels: string;
  /** Of the last notification; 0 before the first. */
  sequence: number;
  /** Hash of the sorted fingerprints last notified as firing. */
  firing_hash: string;
  /** JSON array of the alert snapshots last notified as firing. */
  firing: string;
  /** JSON array of the fingerprints the last notification reported resolved. */
  resolved: string;
  /** JSON array of { alert, silenced }: resolved since the last notification, not told yet. */
  pending: string;
  notified_at: number | null;
  next_flush_at: number | null;
  updated_at: number;
}

/** One metric series: its label set (including __name__), identified by a hash of the sorted labels. */
export interface SeriesTable {
  /** Assigned by the metric store (one writer per database), so samples need no round trip. */
  id: number;
  name: string;
  /** Sorted labels including __name__, as JSON. */
  labels: string;
  /** sha256 of the canonical label set; unique. */
  labels_key: string;
  created_at: number;
}

export interface SamplesTable {
  series_id: number;
  /** Epoch milliseconds. */
  t: number;
  /** NULL stores NaN (SQLite cannot hold a NaN REAL; PostgreSQL follows for identical rows). */
  v: number | null;
}

export interface SampleRollupsTable {
  series_id: number;
  /** '1m' or '1h' */
  resolution: string;
  /** Bucket start, epoch ms. */
  bucket: number;
  count: number;
  /** NULL stores NaN, as in samples. */
  sum: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
}

export interface DB
  extends
    AlertTables,
    IncidentTables,
    RunbookTables,
    PostmortemTables,
    DrillTables,
    BackupTables,
    OncallTables,
    PostgresTables,
    PitrTables,
    AuthTables,
    DeploymentTables {
  series: SeriesTable;
  samples: SamplesTable;
  sample_rollups: SampleRollupsTable;
  services: ServicesTable;
  checks: ChecksTable;
  check_status: CheckStatusTable;
  check_results: CheckResultsTable;
  check_rollups: CheckRollupsTable;
  events: EventsTable;
  notification_deliveries: NotificationDeliveriesTable;
  notification_attempts: NotificationAttemptsTable;
  dispatch_log: DispatchLogTable;
}
