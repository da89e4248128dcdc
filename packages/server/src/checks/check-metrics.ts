// Probe results as metric samples, so alert rules and dashboards see checks like any other series.
import type { IngestSample } from '../telemetry/series.js';
import type { CheckDefinition } from './check-definitions.js';
import type { ProbeOutcome } from './probe.js';
import type { CheckState } from './state-machine.js';

export function checkSamples(
  definition: CheckDefinition,
  outcome: ProbeOutcome,
  state: CheckState,
  at: number,
): IngestSample[] {
  const labels = {
    service: definition.serviceId,
    check: definition.name,
    role: definition.role,
    kind: definition.probe.kind,
  };
  const samples: IngestSample[] = [
    { name: 'opsbook_check_success', labels, value: outcome.status === 'up' ? 1 : 0, t: at },
    { name: 'opsbook_check_latency_seconds', labels, value: outcome.latencyMs / 1000, t: at },
  ];
  // The thresholded health (Kubernetes semantics), absent while unknown.
  if (state.status !== 'unknown')
    samples.push({ name: 'opsbook_check_healthy', labels, value: state.status === 'healthy' ? 1 : 0, t: at });
  const days = outcome.detail.daysRemaining;
  if (typeof days === 'number')
    samples.push({ name: 'opsbook_certificate_expiry_days', labels, value: days, t: at });
  return samples;
}
