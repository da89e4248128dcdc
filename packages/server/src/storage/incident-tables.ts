import type { Generated } from 'kysely';

export interface IncidentsTable {
  /** INC-<seq> */
  id: string;
  seq: number;
  title: string;
  /** SEV1..SEV4 */
  severity: string;
  /** detection | triage | investigation | resolution | post-incident | closed */
  stage: string;
  /** JSON array of service names. */
  services: string;
  /** alertname and service of the alerts that opened it (JSON [alertname, service]); null when manual. */
  alert_group: string | null;
  commander: string | null;
  /** JSON object role → person (commander not included). */
  roles: string;
  /** JSON array of { stage, at, by }. */
  stage_history: string;
  created_at: number;
  created_by: string;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  closed_at: number | null;
  response_due_at: number;
  response_breached_at: number | null;
  resolution_due_at: number | null;
  resolution_breached_at: number | null;
  /** When the last linked alert resolved; null while one fires or none is linked. */
  alerts_resolved_at: number | null;
  updated_at: number;
}

export interface IncidentTimelineTable {
  id: Generated<number>;
  incident_id: string;
  at: number;
  kind: string;
  actor: string;
  text: string;
  /** JSON object. */
  data: string;
}

export interface IncidentAlertsTable {
  incident_id: string;
  fingerprint: string;
  alertname: string;
  labels: string;
  /** firing | resolved */
  status: string;
  first_firing_at: number;
  resolved_at: number | null;
}

export interface IncidentTables {
  incidents: IncidentsTable;
  incident_timeline: IncidentTimelineTable;
  incident_alerts: IncidentAlertsTable;
}
