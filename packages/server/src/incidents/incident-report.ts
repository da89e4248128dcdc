// MTTA/MTTR and target compliance over the incidents opened in a time range (guide 4.1 targets).
// Computed in memory from the range's incident rows: a range holds hundreds or a few thousand
// incidents, and median and p90 are awkward to express the same way on SQLite and PostgreSQL.
import type {
  ActionItemStatus,
  DurationStats,
  IncidentReport,
  IncidentStats,
  ReportedIncident,
  TargetCompliance,
} from '@opsbook/contracts';
import type { IncidentsConfig } from '../config/incidents.schema.js';
import { InputError } from '../errors.js';
import type { IncidentRow } from '../storage/incident.repository.js';
import type { PostmortemRepository } from '../storage/postmortem.repository.js';
import type { Incident, IncidentSeverity, IncidentStage } from './incident.types.js';
import { ACTIVE_STAGES } from './incident.types.js';

export type TargetOutcome = 'met' | 'breached' | 'pending';

/** The incident fields a report or a post-mortem needs to judge its targets. */
export type TimedIncident = Pick<
  Incident,
  | 'stage'
  | 'createdAt'
  | 'acknowledgedAt'
  | 'resolvedAt'
  | 'responseDueAt'
  | 'responseBreachedAt'
  | 'resolutionDueAt'
  | 'resolutionBreachedAt'
>;

/**
 * Met when acknowledged by the due time. Never acknowledged counts as breached once the due time has
 * passed or the incident has ended without an acknowledgement; before that it is pending.
 */
export function responseOutcome(i: TimedIncident, now: number): TargetOutcome {
  if (i.acknowledgedAt !== null) return i.acknowledgedAt <= i.responseDueAt ? 'met' : 'breached';
  if (i.responseBreachedAt !== null || now >= i.responseDueAt || !ACTIVE_STAGES.includes(i.stage))
    return 'breached';
  return 'pending';
}

/** Met when resolved (moved to post-incident) by the due time; 'none' without a resolution target. */
export function resolutionOutcome(i: TimedIncident, now: number): TargetOutcome | 'none' {
  if (i.resolutionDueAt === null) return 'none';
  if (i.resolvedAt !== null) return i.resolvedAt <= i.resolutionDueAt ? 'met' : 'breached';
  if (i.resolutionBreachedAt !== null || now >= i.resolutionDueAt) return 'breached';
  return 'pending';
}

/** Mean, median (the mean of the middle two for an even count) and nearest-rank p90, in whole ms. */
export function durationStats(values: number[]): DurationStats {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    mean: Math.round(sorted.reduce((sum, v) => sum + v, 0) / n),
    median: Math.round(median),
    p90: sorted[Math.ceil(0.9 * n) - 1]!,
  };
}

function compliance(outcomes: (TargetOutcome | 'none')[]): TargetCompliance {
  const count = (o: TargetOutcome) => outcomes.filter((x) => x === o).length;
  const met = count('met');
  const breached = count('breached');
  return {
    met,
    breached,
    pending: count('pending'),
    compliance: met + breached === 0 ? null : Math.round((met / (met + breached)) * 10_000) / 100,
  };
}

/** The figures of one group of incidents. */
export function incidentStats(incidents: ReportedIncident[]): IncidentStats {
  const tta = incidents.flatMap((i) => (i.timeToAcknowledge === null ? [] : [i.timeToAcknowledge]));
  const ttr = incidents.flatMap((i) => (i.timeToResolve === null ? [] : [i.timeToResolve]));
  return {
    count: incidents.length,
    acknowledged: tta.length,
    resolved: ttr.length,
    mtta: durationStats(tta),
    mttr: durationStats(ttr),
    response: compliance(incidents.map((i) => i.response)),
    resolution: {
      ...compliance(incidents.map((i) => i.resolution)),
      noTarget: incidents.filter((i) => i.resolution === 'none').length,
    },
  };
}

export interface ReportQuery {
  from?: number;
  to?: number;
  severity?: IncidentSeverity;
  service?: string;
}

const DEFAULT_RANGE = 30 * 86_400_000;
const SEVERITIES: IncidentSeverity[] = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];

export interface IncidentReportsOptions {
  repository: PostmortemRepository;
  config: () => IncidentsConfig;
  now: () => number;
}

export class IncidentReports {
  constructor(private readonly options: IncidentReportsOptions) {}

  /** Incidents opened in [from, to); by default the last 30 days. */
  async build(query: ReportQuery = {}): Promise<IncidentReport> {
    const now = this.options.now();
    const to = query.to ?? now;
    const from = query.from ?? to - DEFAULT_RANGE;
    if (from >= to)
      throw new InputError(
        `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`,
        'from',
      );
    const { repository } = this.options;
    const rows = await repository.incidentsCreatedBetween({
      from,
      to,
      severity: query.severity,
      service: query.service,
    });
    const ids = rows.map((r) => r.id);
    const postmortems = new Map((await repository.forIncidents(ids)).map((p) => [p.incident_id, p]));
    const items = await repository.actionItemsFor(ids);
    const incidents = rows.map((row): ReportedIncident => {
      const i = timed(row);
      return {
        id: row.id,
        title: row.title,
        severity: row.severity as IncidentSeverity,
        stage: i.stage,
        services: JSON.parse(row.services) as string[],
        createdAt: i.createdAt,
        acknowledgedAt: i.acknowledgedAt,
        resolvedAt: i.resolvedAt,
        timeToAcknowledge: i.acknowledgedAt === null ? null : i.acknowledgedAt - i.createdAt,
        timeToResolve: i.resolvedAt === null ? null : i.resolvedAt - i.createdAt,
        response: responseOutcome(i, now),
        resolution: resolutionOutcome(i, now),
        postmortem:
          (postmortems.get(row.id)?.status as ReportedIncident['postmortem'] | undefined) ?? 'missing',
      };
    });

    const services = [...new Set(incidents.flatMap((i) => i.services))].sort();
    const byService = services.map((service) => ({
      service: service as string | null,
      ...incidentStats(incidents.filter((i) => i.services.includes(service))),
    }));
    const serviceless = incidents.filter((i) => i.services.length === 0);
    if (serviceless.length > 0) byService.push({ service: null, ...incidentStats(serviceless) });

    const itemCount = (status: ActionItemStatus) => items.filter((x) => x.status === status).length;
    const pm = this.options.config().postmortem;
    const required = incidents.filter((i) => pm.requiredFor.includes(i.severity));
    return {
      from,
      to,
      generatedAt: now,
      filters: { severity: query.severity ?? null, service: query.service ?? null },
      total: incidentStats(incidents),
      bySeverity: SEVERITIES.map((severity) => ({
        severity,
        ...incidentStats(incidents.filter((i) => i.severity === severity)),
      })).filter((s) => s.count > 0),
      byService,
      actionItems: {
        open: itemCount('open'),
        overdue: items.filter((x) => x.status === 'open' && x.due_at !== null && x.due_at < now).length,
        done: itemCount('done'),
        wontDo: itemCount('wont-do'),
      },
      postmortems: {
        required: required.length,
        published: required.filter((i) => i.postmortem === 'published').length,
        overdue: required.filter(
          (i) => i.postmortem !== 'published' && i.resolvedAt !== null && now > i.resolvedAt + pm.dueWithin,
        ).length,
      },
      incidents,
    };
  }
}

function timed(row: IncidentRow): TimedIncident {
  return {
    stage: row.stage as IncidentStage,
    createdAt: row.created_at,
    acknowledgedAt: row.acknowledged_at,
    resolvedAt: row.resolved_at,
    responseDueAt: row.response_due_at,
    responseBreachedAt: row.response_breached_at,
    resolutionDueAt: row.resolution_due_at,
    resolutionBreachedAt: row.resolution_breached_at,
  };
}
