// Which backups retention removes (guide 9.1: retention 35 days). Pure, so the rule is tested alone.
import type { BackupRecord } from './backup.types.js';

export const DAY_MS = 86_400_000;

export interface RetentionPlan {
  /** Succeeded backups past retention (beyond the newest keepLast), and failed ones past retention. */
  expired: BackupRecord[];
  /** Failed backups older than a day: whatever they left on disk goes, the record stays for history. */
  failedToClean: BackupRecord[];
}

/**
 * The newest `keepLast` good backups stay whatever their age: with backups failing for weeks, the last
 * one that can be restored must not expire (pgBackRest's verify does not even flag that, #1918).
 */
export function planRetention(
  records: BackupRecord[],
  policy: { retention: number; keepLast: number },
  now: number,
): RetentionPlan {
  const cutoff = now - policy.retention;
  const good = records
    .filter((r) => r.status === 'succeeded')
    .sort((a, b) => b.startedAt - a.startedAt || b.id.localeCompare(a.id));
  const expired = good.slice(policy.keepLast).filter((r) => r.startedAt < cutoff);
  const failed = records.filter((r) => r.status === 'failed');
  expired.push(...failed.filter((r) => r.startedAt < cutoff));
  const failedToClean = failed.filter((r) => r.startedAt < now - DAY_MS && r.startedAt >= cutoff);
  return { expired, failedToClean };
}
