import type { Generated } from 'kysely';

export interface AlertsTable {
  fingerprint: string;
  /** 'rule' (evaluated here) or 'external' (received from Prometheus or Alertmanager). */
  source: string;
  rule: string | null;
  alertname: string;
  severity: string;
  service: string | null;
  labels: string;
  annotations: string;
  /** pending | firing | resolved */
  state: string;
  active_at: number;
  fired_at: number | null;
  resolved_at: number | null;
  /** External alerts resolve at this time unless re-sent (Alertmanager's endsAt). */
  expires_at: number | null;
  last_seen_at: number;
  value: number | null;
  generator_url: string;
  suppressed_by: string;
  updated_at: number;
}

export interface AlertHistoryTable {
  id: Generated<number>;
  fingerprint: string;
  at: number;
  state: string;
  alertname: string;
  severity: string;
  service: string | null;
  labels: string;
  value: number | null;
  summary: string;
}

export interface SilencesTable {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number | null;
  until_resolved: number;
  bound_fingerprints: string;
  created_by: string;
  comment: string;
  created_at: number;
  expired_at: number | null;
}

export interface MaintenanceWindowsTable {
  id: string;
  name: string;
  source: string;
  services: string;
  matchers: string;
  starts_at: number | null;
  ends_at: number | null;
  schedule: string | null;
  duration_ms: number | null;
  timezone: string;
  comment: string;
  created_by: string;
  created_at: number;
  expired_at: number | null;
}

export interface AlertTables {
  alerts: AlertsTable;
  alert_history: AlertHistoryTable;
  silences: SilencesTable;
  maintenance_windows: MaintenanceWindowsTable;
}
