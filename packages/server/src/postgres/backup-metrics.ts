// Backup state as metric samples, so the default rules (BackupFailed, BackupMissed, BackupCopyFailed)
// evaluate them like any other series. Republished every minute: a gauge older than the query
// lookback (5 min) would read as absent.
import type { IngestSample } from '../telemetry/series.js';
import type { BackupRecord } from './backup.types.js';

export interface BackupGaugeInput {
  database: string;
  service?: string;
  /** Newest succeeded backup. */
  latestGood: BackupRecord | undefined;
  /** Newest finished backup, succeeded or failed. */
  lastFinished: BackupRecord | undefined;
  /** Scheduled backups on: age and max age are published (a missed backup is only one that was due). */
  scheduled: boolean;
  /** Age counts from here until the first good backup. */
  firstSeenAt: number;
  maxAgeMs: number;
  /** Copy targets configured now. */
  targets: string[];
  now: number;
}

export function backupSamples(input: BackupGaugeInput): IngestSample[] {
  const labels: Record<string, string> = { database: input.database };
  if (input.service) labels.service = input.service;
  const t = input.now;
  const samples: IngestSample[] = [];
  const good = input.latestGood;
  if (good) {
    samples.push({
      name: 'opsbook_backup_last_success_timestamp_seconds',
      labels,
      value: (good.finishedAt ?? good.startedAt) / 1000,
      t,
    });
    samples.push({ name: 'opsbook_backup_size_bytes', labels, value: good.sizeBytes ?? 0, t });
    if (good.finishedAt !== null)
      samples.push({
        name: 'opsbook_backup_duration_seconds',
        labels,
        value: (good.finishedAt - good.startedAt) / 1000,
        t,
      });
    for (const target of input.targets) {
      const copy = good.copies.find((c) => c.target === target);
      samples.push({
        name: 'opsbook_backup_copy_failed',
        labels: { ...labels, target },
        value: copy?.status === 'failed' ? 1 : 0,
        t,
      });
    }
  }
  if (input.lastFinished)
    samples.push({
      name: 'opsbook_backup_last_status',
      labels,
      value: input.lastFinished.status === 'succeeded' ? 1 : 0,
      t,
    });
  if (input.scheduled) {
    // Data age: from the snapshot the newest good backup holds, which is what a restore gets back.
    const since = good ? (good.manifest?.snapshotAt ?? good.startedAt) : input.firstSeenAt;
    samples.push({ name: 'opsbook_backup_age_seconds', labels, value: Math.max(0, t - since) / 1000, t });
    samples.push({ name: 'opsbook_backup_max_age_seconds', labels, value: input.maxAgeMs / 1000, t });
  }
  return samples;
}
