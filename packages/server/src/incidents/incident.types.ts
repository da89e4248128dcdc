import type { IncidentSeverity, IncidentStage, TimelineKind } from '@opsbook/contracts';

export type { IncidentSeverity, IncidentStage, TimelineKind };

export const STAGES: IncidentStage[] = [
  'detection',
  'triage',
  'investigation',
  'resolution',
  'post-incident',
  'closed',
];

/** Stages in which an incident is open: it gathers new alerts and its targets are watched. */
export const ACTIVE_STAGES: IncidentStage[] = ['detection', 'triage', 'investigation', 'resolution'];

export const SYSTEM_ACTOR = 'opsbook';

export interface StageChange {
  stage: IncidentStage;
  at: number;
  by: string;
}

export interface IncidentAlert {
  fingerprint: string;
  alertname: string;
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  firstFiringAt: number;
  resolvedAt: number | null;
}

export interface Incident {
  id: string;
  seq: number;
  title: string;
  severity: IncidentSeverity;
  stage: IncidentStage;
  services: string[];
  /** [alertname, service] of the alerts that opened it; null for manual incidents. */
  alertGroup: [string, string] | null;
  commander: string | null;
  roles: Record<string, string>;
  stageHistory: StageChange[];
  createdAt: number;
  createdBy: string;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  closedAt: number | null;
  responseDueAt: number;
  responseBreachedAt: number | null;
  resolutionDueAt: number | null;
  resolutionBreachedAt: number | null;
  alertsResolvedAt: number | null;
  alerts: IncidentAlert[];
}

export interface TimelineEntry {
  id: number;
  at: number;
  kind: TimelineKind;
  actor: string;
  text: string;
  data: Record<string, unknown>;
}

export interface IncidentWithTimeline extends Incident {
  timeline: TimelineEntry[];
}

export interface IncidentInput {
  title: string;
  severity: IncidentSeverity;
  services?: string[];
  commander?: string;
  actor: string;
}

export interface IncidentListFilter {
  stage?: IncidentStage;
  severity?: IncidentSeverity;
  service?: string;
  /** true: stages detection..resolution; false: post-incident and closed. */
  open?: boolean;
  limit?: number;
}

export interface BreachEvent {
  incident: Incident;
  /** Which target was missed. */
  target: 'response' | 'resolution';
  at: number;
}
