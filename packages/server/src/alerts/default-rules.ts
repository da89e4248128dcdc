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
  // Database rules read the collector of the `databases:` section (labels database and service) and,
  // for connection failures, the postgres probes of checks too: either way it is one alert name.
  {
    alert: 'DatabaseConnectionFailures',
    severity: 'critical',
    expr: 'opsbook_pg_up == 0',
    annotations: {
      summary: 'Opsbook cannot connect to database {{ $labels.database }}',
      description: 'Guide 3.3: database connection failures. Runbook: Database Issues.',
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
      summary:
        'database {{ $labels.database }} has {{ $value }} slow queries (see opsbook db queries {{ $labels.database }})',
      description:
        'Guide 3.3: slow database queries (pghero: mean 20 ms and over across 100 calls and over). Runbook: Database Issues.',
    },
  },
  {
    alert: 'DatabaseConnectionsHigh',
    severity: 'warning',
    expr: '100 * sum without (state) (opsbook_pg_connections) / opsbook_pg_max_connections > 80',
    annotations: {
      summary: 'database {{ $labels.database }} uses {{ $value }}% of max_connections',
      description: 'Guide 3.3: resource utilisation > 80%; Runbook 3: high connection count.',
    },
  },
  {
    alert: 'DatabaseTransactionIdWraparound',
    severity: 'warning',
    expr: 'opsbook_pg_xid_remaining < 1500000000',
    annotations: {
      summary:
        'database {{ $labels.database }} has {{ $value | humanize }} transaction IDs left before wraparound',
      description:
        'pghero warns below 1.5 billion; PostgreSQL stops writes near 0. Freeze the oldest tables.',
    },
  },
  {
    alert: 'DatabaseReplicationLag',
    severity: 'warning',
    expr: 'opsbook_pg_replication_lag_seconds > 5',
    annotations: {
      summary: 'database {{ $labels.database }} replication lag is {{ $value | humanizeDuration }}',
      description: 'pghero: replication lag is healthy under 5 s. Guide 5.3: review replication lag.',
    },
  },
  {
    alert: 'DatabaseInactiveReplicationSlot',
    severity: 'warning',
    expr: 'opsbook_pg_inactive_replication_slots > 0',
    annotations: {
      summary: 'database {{ $labels.database }} has {{ $value }} inactive replication slots keeping WAL',
      description: 'An unused slot keeps WAL until the disk fills; see opsbook db health for the slot.',
    },
  },
  {
    alert: 'DatabaseSequenceExhaustion',
    severity: 'warning',
    expr: 'opsbook_pg_sequence_used_ratio > 0.9',
    annotations: {
      summary: 'a sequence of database {{ $labels.database }} is {{ $value | humanizePercentage }} used',
      description: 'pghero: sequences past 90 %. Inserts fail when it runs out; see opsbook db health.',
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
  // Backups (guide 9.1 and 3.3), from the gauges the backup service publishes per database. A failed
  // backup is a warning: the previous one still restores. No good backup within maxAge is critical:
  // the data a disaster would lose grows past what daily backups promise. A missing off-site copy is
  // a warning: the local backup restores, but the geo-redundancy the guide requires is gone.
  {
    alert: 'BackupFailed',
    severity: 'warning',
    expr: 'opsbook_backup_last_status == 0',
    annotations: {
      summary: 'the last backup of {{ $labels.database }} failed',
      description:
        'Guide 9.1: automated daily backups. opsbook backup list --database {{ $labels.database }} shows the error.',
    },
  },
  {
    alert: 'BackupMissed',
    severity: 'critical',
    expr: 'opsbook_backup_age_seconds > opsbook_backup_max_age_seconds',
    annotations: {
      summary: 'no good backup of {{ $labels.database }} for {{ $value | humanizeDuration }}',
      description: 'Guide 9.1: automated daily backups. The newest good backup is older than backup.maxAge.',
    },
  },
  {
    alert: 'BackupCopyFailed',
    severity: 'warning',
    expr: 'opsbook_backup_copy_failed == 1',
    annotations: {
      summary: 'the newest backup of {{ $labels.database }} was not copied to {{ $labels.target }}',
      description: 'Guide 9.1: geo-redundant backups. The copy failed after every retry.',
    },
  },
  // Point-in-time recovery: a failed pgBackRest backup leaves the window resting on an older base
  // backup (longer WAL replay), not lost, so a warning like BackupFailed.
  {
    alert: 'PitrBackupFailed',
    severity: 'warning',
    expr: 'opsbook_pitr_last_backup_failed == 1',
    annotations: {
      summary: 'the last pgBackRest backup of {{ $labels.database }} failed',
      description:
        'Guide 9.1. opsbook pitr info {{ $labels.database }} shows the backups; the event log has the error.',
    },
  },
  // Disaster-recovery drills (guide 9.3), from the figures the drill service republishes every minute.
  // All warnings: a drill runs on a restored copy, so nothing users touch is down, and critical would
  // open an incident and page at the drill's 04:00 start. What they say must be fixed in working hours:
  // the backup may not restore (failed), or a real recovery would be slower or lose more than promised.
  {
    alert: 'DrillFailed',
    severity: 'warning',
    expr: 'opsbook_drill_status{status="failed"} == 1',
    annotations: {
      summary: 'the last disaster-recovery drill of {{ $labels.database }} failed',
      description:
        'Guide 9.3: quarterly DR tests. The latest backup did not restore and verify; opsbook drill list --database {{ $labels.database }} shows the report.',
    },
  },
  {
    alert: 'DrillTargetMissed',
    severity: 'warning',
    expr: 'opsbook_drill_status{status="missed-target"} == 1',
    annotations: {
      summary: 'the last drill of {{ $labels.database }} missed its RTO or RPO target',
      description:
        'Guide 9.3: the backup restored and verified, but recovery took longer (RTO) or the data was older (RPO) than drill.rtoTarget / drill.rpoTarget.',
    },
  },
  {
    alert: 'DrillOverdue',
    severity: 'warning',
    expr: 'opsbook_drill_age_seconds > opsbook_drill_overdue_after_seconds',
    annotations: {
      summary:
        'no passed disaster-recovery drill of {{ $labels.database }} for {{ $value | humanizeDuration }}',
      description:
        'Guide 9.3: quarterly DR tests. Longer than drill.overdueAfter (100 days by default) since a drill passed; run one with opsbook drill run {{ $labels.database }}.',
    },
  },
];

export const DEFAULT_RULE_NAMES: string[] = [...new Set(RULES.map((r) => r.alert))];

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
