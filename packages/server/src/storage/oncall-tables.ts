// On-call overrides made through the API, and the escalation state of incidents (portable types, DESIGN 5).
import type { Generated } from 'kysely';

/** A person taking a shift without a config change; deleted ones are kept for the record. */
export interface OncallOverridesTable {
  id: string;
  schedule_id: string;
  person: string;
  start_at: number;
  end_at: number;
  created_by: string;
  created_at: number;
  deleted_at: number | null;
  deleted_by: string | null;
}

/** One row per incident an escalation policy pages for. */
export interface EscalationsTable {
  incident_id: string;
  policy_id: string;
  /** The level last paged (1-based); 0 before the first page. */
  level: number;
  /** The pass through the policy's levels (1-based). */
  loop: number;
  /** active | acknowledged | ended | exhausted */
  status: string;
  /** When the next level is paged (or exhaustion declared); null once not active. */
  next_at: number | null;
  started_at: number;
  updated_at: number;
}

export interface EscalationPagesTable {
  id: Generated<number>;
  incident_id: string;
  level: number;
  loop: number;
  at: number;
  /** Person id; null when a level found nobody to page. */
  person: string | null;
  /** How the person was chosen, e.g. "on call for primary". */
  via: string;
  /** JSON array of receiver names. */
  receivers: string;
  /** opened | timeout | breach */
  reason: string;
  /** pending (stored, not yet handed to the notifier) | sent | failed | nobody */
  status: string;
  error: string | null;
}

export interface OncallTables {
  oncall_overrides: OncallOverridesTable;
  escalations: EscalationsTable;
  escalation_pages: EscalationPagesTable;
}
