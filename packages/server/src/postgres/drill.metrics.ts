// Drill figures as metric samples, republished every minute so rules always see a fresh value (a
// quarterly drill writes one result, but the rule engine only looks back five minutes).
import type { IngestSample } from '../telemetry/series.js';
import type { DrillStatus } from '@opsbook/contracts';

export interface DrillFigures {
  database: string;
  service?: string;
  /** The newest finished drill, if any. */
  last?: { status: Exclude<DrillStatus, 'running'>; rtoMs: number | null; rpoMs: number | null };
  /** When the newest passed drill finished. */
  lastSuccessAt?: number;
  /** Since when drills have watched this database: the overdue clock when none passed yet. */
  watchedSince: number;
  rtoTargetMs: number;
  rpoTargetMs: number;
  overdueAfterMs: number;
}

const STATUSES = ['passed', 'failed', 'missed-target'] as const;

export function drillSamples(figures: DrillFigures, now: number): IngestSample[] {
  const labels: Record<string, string> = { database: figures.database };
  if (figures.service) labels.service = figures.service;
  const sample = (name: string, value: number, extra: Record<string, string> = {}): IngestSample => ({
    name,
    labels: { ...labels, ...extra },
    value,
    t: now,
  });
  const samples = [
    sample('opsbook_drill_age_seconds', (now - (figures.lastSuccessAt ?? figures.watchedSince)) / 1000),
    sample('opsbook_drill_rto_target_seconds', figures.rtoTargetMs / 1000),
    sample('opsbook_drill_rpo_target_seconds', figures.rpoTargetMs / 1000),
    sample('opsbook_drill_overdue_after_seconds', figures.overdueAfterMs / 1000),
  ];
  if (figures.lastSuccessAt !== undefined)
    samples.push(sample('opsbook_drill_last_success_timestamp_seconds', figures.lastSuccessAt / 1000));
  const last = figures.last;
  if (last) {
    samples.push(sample('opsbook_drill_passed', last.status === 'passed' ? 1 : 0));
    // A state set (as kube_pod_status_phase): rules select the status they alert on.
    for (const status of STATUSES)
      samples.push(sample('opsbook_drill_status', last.status === status ? 1 : 0, { status }));
    if (last.rtoMs !== null) samples.push(sample('opsbook_drill_rto_seconds', last.rtoMs / 1000));
    if (last.rpoMs !== null) samples.push(sample('opsbook_drill_rpo_seconds', last.rpoMs / 1000));
  }
  return samples;
}
