// Runbook runs, their steps and the audit log (portable types, DESIGN 5).
import type { Generated } from 'kysely';

export interface RunbookRunsTable {
  id: string;
  runbook_id: string;
  title: string;
  /** The runbook definition as JSON when the run started: a restart resumes the same steps. */
  definition: string;
  /** Validated parameter values, JSON. */
  parameters: string;
  /** Incident id, alert labels...: kept as data, never interpolated into anything. JSON. */
  trigger: string;
  /** running | waiting | succeeded | completed_with_failures | failed */
  status: string;
  started_by: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface RunbookStepsTable {
  run_id: string;
  step_id: string;
  position: number;
  kind: string;
  phase: string;
  title: string;
  /** pending | running | waiting | succeeded | failed | timed_out | rejected | skipped */
  status: string;
  destructive: number;
  started_at: number | null;
  finished_at: number | null;
  /** When a waiting approval times out (epoch ms). */
  deadline: number | null;
  message: string;
  /** Redacted evidence, JSON. */
  evidence: string;
  actor: string | null;
}

export interface RunbookAuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  run_id: string;
  step_id: string | null;
  /** JSON. */
  detail: string;
}

export interface RunbookTables {
  runbook_runs: RunbookRunsTable;
  runbook_steps: RunbookStepsTable;
  runbook_audit: RunbookAuditTable;
}
