import { describe, expect, it } from 'vitest';
import type { BackupRecord } from './backup.types.js';
import { DAY_MS, planRetention } from './backup-retention.js';

const NOW = 1_800_000_000_000;
const policy = { retention: 35 * DAY_MS, keepLast: 1 };

function backup(id: string, daysAgo: number, status: BackupRecord['status'] = 'succeeded'): BackupRecord {
  return {
    id,
    database: 'orders',
    status,
    trigger: 'schedule',
    startedAt: NOW - daysAgo * DAY_MS,
    finishedAt: NOW - daysAgo * DAY_MS + 60_000,
    path: `/b/${id}`,
    sizeBytes: 1,
    error: null,
    manifest: null,
    copies: [],
  };
}

const ids = (list: BackupRecord[]) => list.map((b) => b.id).sort();

describe('retention (guide 9.1: 35 days)', () => {
  it('deletes succeeded backups older than the retention, keeps the younger ones', () => {
    const plan = planRetention(
      [backup('a', 36), backup('b', 35.5), backup('c', 34), backup('d', 1)],
      policy,
      NOW,
    );
    expect(ids(plan.expired)).toEqual(['a', 'b']);
  });

  it('never deletes the newest keepLast good backups, however old', () => {
    // Backups have failed for weeks: the last good one is 50 days old and must stay.
    const records = [
      backup('old', 60),
      backup('last-good', 50),
      backup('f1', 2, 'failed'),
      backup('f2', 1, 'failed'),
    ];
    expect(ids(planRetention(records, policy, NOW).expired)).toEqual(['old']);
    expect(ids(planRetention(records, { ...policy, keepLast: 2 }, NOW).expired)).toEqual([]);
  });

  it('failed backups: leftovers cleaned after a day, records deleted after the retention', () => {
    const records = [
      backup('good', 1),
      backup('fresh', 0.5, 'failed'),
      backup('day-old', 3, 'failed'),
      backup('ancient', 40, 'failed'),
    ];
    const plan = planRetention(records, policy, NOW);
    expect(ids(plan.expired)).toEqual(['ancient']);
    expect(ids(plan.failedToClean)).toEqual(['day-old']);
  });

  it('leaves running backups alone', () => {
    expect(planRetention([backup('r', 90, 'running'), backup('g', 1)], policy, NOW)).toEqual({
      expired: [],
      failedToClean: [],
    });
  });
});
