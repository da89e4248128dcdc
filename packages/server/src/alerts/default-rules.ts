// The guide's section 3.3 alert rules, applied to every service (rules group by the `service` label).
// Metric names follow the conventions of the example service, node-exporter and Opsbook's own probes.
import type { RuleConfig } from '../config/alerting.schema.js';

// Declared on its own (not from RuleConfig): the config schema validates names against this list.
interface DefaultRule {
  alert: string;
  severity: 'critical' | 'warning' | 'info';
  expr: string;
  annotations: Record<string, string>;
}

const errorRatio =
  '100 * sum by (service) (rate(http_requests_total{status=~"5.."}[$window])) / sum by (service) (rate(http_requests_total[$window]))';
const diskUsed =
  '100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"})';

const RULES: DefaultRule[] = [
  {
    alert: 'ServiceUnavailable',
    severity: 'critical',
    expr: '100 * avg by (service) (avg_over_time(opsbook_check_success[$window])) < 99',
    annotations: {
      summary: '{{ $labels.service }} availability is {{ $value }}% (below 99%)',
      description: 'Guide 3.3: service unavailable (availability < 99%). Runbook: Service Unavailable.',
    },
  },
  {
    alert: 'HighErrorRate',
    severity: 'critical',
    expr: `${errorRatio} > 5`,
    annotations: {
      summary: '{{ $labels.service }} error rate is {{ $value }}% (above 5%)',
      description: 'Guide 3.3: high error rate (> 5%). Runbook: High Error Rate.',
    },
  },
  {
    alert: 'ElevatedErrorRate',
    severity: 'warning',
    expr: `${errorRatio} > 2 <= 5`,
    annotations: {
      summary: '{{ $labels.service }} error rate is {{ $value }}% (2-5%)',
      description: 'Guide 3.3: increased error rate (2-5%).',
    },
  },
  {
    alert: 'HighResponseTime',
    severity: 'warning',
    expr: 'histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket[$window]))) > 1',
    annotations: {
      summary: '{{ $labels.service }} p95 response time is {{ $value | humanizeDuration }} (above 1s)',
      description: 'Guide 3.3: high response time (p95 > 1s).',
    },
  },
  {
    alert: 'DatabaseConnectionFailures',
    severity: 'critical',
    expr: 'opsbook_check_healthy{kind="postgres"} == 0',
    annotations: {
      summary: '{{ $labels.service }} cannot connect to its database ({{ $labels.check }})',
      description: 'Guide 3.3: database connection failures. Runbook: Database Issues.',
    },
  },
  {
    alert: 'SlowDatabaseQueries',
    severity: 'warning',
    expr: 'opsbook_pg_slow_queries > 0',
    annotations: {
      summary: '{{ $labels.service }} has {{ $value }} slow queries',
      description: 'Guide 3.3: slow database queries. Runbook: Database Issues.',
    },
  },
  {
    alert: 'StorageCapacityCritical',
    severity: 'critical',
    expr: `${diskUsed} > 90`,
    annotations: {
      summary: '{{ $labels.instance }} {{ $labels.mountpoint }} is {{ $value }}% full (above 90%)',
      description: 'Guide 3.3: storage capacity > 90%.',
    },
  },
  {
    alert: 'DiskSpaceWarning',
    severity: 'warning',
    expr: `${diskUsed} > 80 <= 90`,
    annotations: {
      summary: '{{ $labels.instance }} {{ $labels.mountpoint }} is {{ $value }}% full (above 80%)',
      description: 'Guide 3.3: disk space > 80%.',
    },
  },
  {
    alert: 'HighCpuUtilization',
    severity: 'warning',
    expr: '100 * (1 - avg by (service, instance) (rate(node_cpu_seconds_total{mode="idle"}[$window]))) > 80',
    annotations: {
      summary: '{{ $labels.instance }} CPU is {{ $value }}% busy (above 80%)',
      description: 'Guide 3.3: resource utilisation > 80%. Runbook: High Resource Utilization.',
    },
  },
  {
    alert: 'HighMemoryUtilization',
    severity: 'warning',
    expr: '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 80',
    annotations: {
      summary: '{{ $labels.instance }} memory is {{ $value }}% used (above 80%)',
      description: 'Guide 3.3: resource utilisation > 80%. Runbook: High Resource Utilization.',
    },
  },
  {
    alert: 'PodCrashLooping',
    severity: 'critical',
    expr: 'increase(kube_pod_container_status_restarts_total[$window]) > 3',
    annotations: {
      summary: 'pod {{ $labels.pod }} restarted {{ $value }} times in the window',
      description: 'Guide 3.3: pod crash loops.',
    },
  },
  {
    alert: 'CertificateExpiresSoon',
    severity: 'info',
    expr: 'opsbook_certificate_expiry_days < 30 >= 7',
    annotations: {
      summary: 'the certificate of {{ $labels.check }} expires in {{ $value }} days',
      description: 'Guide 3.3 and 5.4: certificate expirations (30 days).',
    },
  },
  {
    alert: 'CertificateExpiryUrgent',
    severity: 'warning',
    expr: 'opsbook_certificate_expiry_days < 7',
    annotations: {
      summary: 'the certificate of {{ $labels.check }} expires in {{ $value }} days',
      description: 'Guide 5.4: alert 7 days before expiration.',
    },
  },
];

export const DEFAULT_RULE_NAMES: string[] = RULES.map((r) => r.alert);

/** The default pack as rule configs, minus the ones switched off. */
export function defaultRules(setting: boolean | { disable: string[] }): RuleConfig[] {
  if (setting === false) return [];
  const disabled = new Set(setting === true ? [] : setting.disable);
  return RULES.filter((r) => !disabled.has(r.alert)).map((r) => ({
    window: 5 * 60_000,
    // Two evaluations in a row (guide 3.4 evaluates every minute) before paging: pending, then firing.
    for: 60_000,
    keepFiringFor: 0,
    labels: { source: 'opsbook-default' },
    ...r,
  }));
}
