// The recoverable window from `pgbackrest info`: from the end of the oldest backup (the first
// consistent point) to when the newest WAL segment reached the repository.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PitrRepoBackup, PitrWindow } from '@opsbook/contracts';
import type { InfoBackup, InfoStanza } from './pgbackrest.js';

export function repoBackups(info: InfoStanza): PitrRepoBackup[] {
  return info.backup.map((b) => ({
    label: b.label,
    type: b.type,
    prior: b.prior,
    startedAt: b.timestamp.start * 1000,
    stoppedAt: b.timestamp.stop * 1000,
    sizeBytes: b.info.size,
    repoSizeBytes: b.info.repository.size,
    deltaBytes: b.info.repository.delta,
    walStart: b.archive.start,
    walStop: b.archive.stop,
  }));
}

export function recoverableWindow(info: InfoStanza, repoPath: string): PitrWindow | null {
  if (info.backup.length === 0) return null;
  // pgBackRest stamps whole seconds; the backup is consistent within the second after its stop stamp.
  const earliest = (Math.min(...info.backup.map((b) => b.timestamp.stop)) + 1) * 1000;
  const archive = info.archive.at(-1);
  const walAt = archive?.max ? archivedAt(repoPath, info.name, archive.id, archive.max) : undefined;
  // A backup waits until its last WAL segment is archived, so the archive is never older than it.
  if (walAt !== undefined) return { earliest, latest: Math.max(walAt, earliest), latestSource: 'archive' };
  const newestBackup = (Math.max(...info.backup.map((b) => b.timestamp.stop)) + 1) * 1000;
  return { earliest, latest: newestBackup, latestSource: 'backup' };
}

/** The backup a restore to `target` starts from: the newest one consistent before it. */
export function backupSetFor(info: InfoStanza, target: number): InfoBackup | undefined {
  return info.backup.filter((b) => (b.timestamp.stop + 1) * 1000 <= target).at(-1);
}

/**
 * When a WAL segment reached a posix repository: its file's modification time. Every commit in the
 * segment happened before that. Undefined when the repository cannot be read from here.
 */
export function archivedAt(
  repoPath: string,
  stanza: string,
  archiveId: string,
  segment: string,
): number | undefined {
  const folder = join(repoPath, 'archive', stanza, archiveId, segment.slice(0, 16));
  try {
    const file = readdirSync(folder).find((name) => name === segment || name.startsWith(`${segment}-`));
    return file ? Math.floor(statSync(join(folder, file)).mtimeMs) : undefined;
  } catch {
    return undefined;
  }
}

export function describeWindow(window: PitrWindow): string {
  return `${iso(window.earliest)} .. ${iso(window.latest)}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
