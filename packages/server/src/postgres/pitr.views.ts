// Stored PITR rows as the API's views.
import type { PitrBackupRun, PitrBackupType, PitrRestore, PitrRestorePhase } from '@opsbook/contracts';
import type { PitrBackupRow, PitrRestoreRow } from '../storage/pitr.repository.js';
import { isRunning } from './pitr.cluster.js';

export function backupView(row: PitrBackupRow): PitrBackupRun {
  return {
    id: row.id,
    database: row.database,
    type: row.type as PitrBackupType,
    trigger: row.trigger as PitrBackupRun['trigger'],
    status: row.status as PitrBackupRun['status'],
    actor: row.actor,
    label: row.label,
    progress: row.progress,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    sizeBytes: row.size_bytes,
    repoSizeBytes: row.repo_size_bytes,
    error: row.error,
  };
}

export function restoreView(row: PitrRestoreRow): PitrRestore {
  return {
    id: row.id,
    database: row.database,
    status: row.status as PitrRestore['status'],
    phase: row.phase as PitrRestorePhase,
    progress: row.progress,
    message: row.message,
    targetTime: row.target_time,
    pgData: row.pg_data,
    port: row.port,
    actor: row.actor,
    backupLabel: row.backup_label,
    connectionUrl: row.connection_url,
    recoveredTo: row.recovered_to,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    error: row.error,
    phases: JSON.parse(row.phases) as PitrRestore['phases'],
    clusterRunning: row.status !== 'removed' && isRunning(row.pg_data),
  };
}
