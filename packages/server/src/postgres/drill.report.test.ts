// The Markdown report, line by line: it is what an auditor files as the record of a DR test.
import { describe, expect, it } from 'vitest';
import type { DrillReport } from '@opsbook/contracts';
import { bytes, duration, renderDrillMarkdown } from './drill.report.js';

const T0 = Date.UTC(2026, 0, 1, 4, 0, 0);
const HOUR = 3_600_000;

function phase(name: DrillReport['phases'][number]['name'], durationMs: number, message: string) {
  return { name, status: 'passed' as const, startedAt: T0, finishedAt: T0 + durationMs, durationMs, message };
}

function passed(): DrillReport {
  return {
    id: 'drill-20260101-040000-abc123',
    database: 'shop',
    status: 'passed',
    trigger: 'schedule',
    actor: 'schedule',
    startedAt: T0,
    finishedAt: T0 + 192_000,
    verifiedAt: T0 + 190_500,
    backup: {
      id: 'b-20251231-2258',
      snapshotAt: T0 - 5 * HOUR - 120_000,
      finishedAt: T0 - 5 * HOUR,
      sizeBytes: 12_900_000,
      serverVersion: '15.8',
      walLsn: '0/3000060',
      tables: 2,
    },
    scratch: {
      database: 'opsbook_drill_shop_20260101040000000',
      server: 'postgres://postgres@db.internal:5432/',
      kept: false,
      dropped: true,
    },
    rto: { ms: 190_500, targetMs: HOUR, met: true },
    rpo: { ms: 5 * HOUR + 120_000, targetMs: 25 * HOUR, met: true },
    phases: [
      phase('select-backup', 12, 'b-20251231-2258, data 5h 2m old'),
      phase('restore', 170_000, '3 file checksums verified'),
      phase('row-counts', 4_200, '2 tables, 2120 rows match'),
      phase('sample-checksums', 9_800, '2 of 2 tables match'),
      phase('amcheck', 6_488, '2 btree indexes and 2 tables verified'),
      phase('cleanup', 1_500, 'dropped opsbook_drill_shop_20260101040000000'),
    ],
    progress: null,
    tables: [
      { schema: 'public', name: 'customers', expected: 120, actual: 120, ok: true },
      { schema: 'public', name: 'orders', expected: 2000, actual: 2000, ok: true },
    ],
    samples: [
      { schema: 'public', name: 'customers', status: 'match', rows: 120, expected: 'aaa', actual: 'aaa' },
      { schema: 'public', name: 'orders', status: 'match', rows: 100, expected: 'bbb', actual: 'bbb' },
    ],
    amcheck: {
      available: true,
      message: '2 btree indexes and 2 tables verified',
      indexes: [
        { schema: 'public', table: 'customers', index: 'customers_pkey', status: 'ok', message: '' },
        { schema: 'public', table: 'orders', index: 'orders_pkey', status: 'ok', message: '' },
      ],
      heap: [
        { schema: 'public', table: 'customers', status: 'ok', message: '' },
        { schema: 'public', table: 'orders', status: 'ok', message: '' },
      ],
    },
    problems: [],
    warnings: [],
  };
}

describe('drill report in Markdown', () => {
  it('a passed drill: verdict, targets, backup, counts, samples, amcheck and phases', () => {
    expect(renderDrillMarkdown(passed())).toBe(
      [
        '# Disaster-recovery drill drill-20260101-040000-abc123: PASSED',
        '',
        'Database **shop**, started 2026-01-01 04:00:00 UTC (scheduled), finished 2026-01-01 04:03:12 UTC.',
        '',
        'The backup restored, its data verified, and recovery met both targets.',
        '',
        '| | measured | target | |',
        '|---|---:|---:|---|',
        '| RTO: drill start to verified restore | 3m 11s | 1h | met |',
        "| RPO: age of the backup's data at drill start | 5h 2m | 25h | met |",
        '',
        '## Backup used',
        '',
        '- backup `b-20251231-2258`, data as of 2025-12-31 22:58:00 UTC (WAL LSN 0/3000060)',
        '- finished 2025-12-31 23:00:00 UTC, 12.3 MiB, 2 tables, PostgreSQL 15.8',
        '- scratch database `opsbook_drill_shop_20260101040000000` on postgres://postgres@db.internal:5432/: dropped after verification',
        '',
        '## Problems',
        '',
        'None.',
        '',
        '## Row counts',
        '',
        'All 2 tables match the backup manifest.',
        '',
        '| table | backup | restored | |',
        '|---|---:|---:|---|',
        '| public.customers | 120 | 120 | ok |',
        '| public.orders | 2000 | 2000 | ok |',
        '',
        '## Sample checksums',
        '',
        '| table | rows | backup md5 | restored md5 | |',
        '|---|---:|---|---|---|',
        '| public.customers | 120 | aaa | aaa | ok |',
        '| public.orders | 100 | bbb | bbb | ok |',
        '',
        '## amcheck',
        '',
        '2 btree indexes and 2 tables verified.',
        '',
        '| index | table | result |',
        '|---|---|---|',
        '| public.customers_pkey | customers | ok |',
        '| public.orders_pkey | orders | ok |',
        '',
        '| table (heap) | result |',
        '|---|---|',
        '| public.customers | ok |',
        '| public.orders | ok |',
        '',
        '## Phases',
        '',
        '| phase | status | duration | note |',
        '|---|---|---:|---|',
        '| Select the latest backup | passed | 12 ms | b-20251231-2258, data 5h 2m old |',
        '| Restore (checksums verified) | passed | 2m 50s | 3 file checksums verified |',
        '| Exact row counts | passed | 4.2 s | 2 tables, 2120 rows match |',
        '| Sample checksums | passed | 9.8 s | 2 of 2 tables match |',
        '| amcheck | passed | 6.5 s | 2 btree indexes and 2 tables verified |',
        '| Drop the scratch database | passed | 1.5 s | dropped opsbook_drill_shop_20260101040000000 |',
        '',
      ].join('\n'),
    );
  });

  it('a failed drill lists every problem, marks mismatches and escapes pipes in cells', () => {
    const report = passed();
    report.status = 'failed';
    report.trigger = 'manual';
    report.actor = 'ann';
    report.tables[1] = { schema: 'public', name: 'orders', expected: 2000, actual: 1999, ok: false };
    report.tables.push({ schema: 'public', name: 'refunds', expected: 3, actual: null, ok: false });
    report.samples[1] = { ...report.samples[1]!, status: 'mismatch', actual: 'ccc' };
    report.amcheck!.indexes[1] = {
      schema: 'public',
      table: 'orders',
      index: 'orders_total_idx',
      status: 'corrupt',
      message: 'heap tuple (0,1) lacks matching index tuple | within index',
    };
    report.problems = [
      'row count of public.orders: 1999 restored, 2000 in the backup manifest',
      'table public.refunds is in the backup manifest but missing from the restored database',
    ];
    report.warnings = ['verify_heapam is not available'];
    const md = renderDrillMarkdown(report).split('\n');
    expect(md[0]).toBe('# Disaster-recovery drill drill-20260101-040000-abc123: FAILED');
    expect(md[2]).toBe(
      'Database **shop**, started 2026-01-01 04:00:00 UTC (on demand by ann), finished 2026-01-01 04:03:12 UTC.',
    );
    expect(md[4]).toBe('The drill failed: 2 problems below.');
    const problems = md.indexOf('## Problems');
    expect(md.slice(problems, problems + 8)).toEqual([
      '## Problems',
      '',
      '- row count of public.orders: 1999 restored, 2000 in the backup manifest',
      '- table public.refunds is in the backup manifest but missing from the restored database',
      '',
      '## Warnings',
      '',
      '- verify_heapam is not available',
    ]);
    expect(md).toContain('2 of 3 tables differ from the backup manifest.');
    expect(md).toContain('| public.orders | 2000 | 1999 | **MISMATCH** |');
    expect(md).toContain('| public.refunds | 3 | missing | **MISMATCH** |');
    expect(md).toContain('| public.orders | 100 | bbb | ccc | **MISMATCH** |');
    expect(md).toContain(
      '| public.orders_total_idx | orders | **CORRUPT**: heap tuple (0,1) lacks matching index tuple \\| within index |',
    );
  });

  it('a missed target names the target and shows MISSED', () => {
    const report = passed();
    report.status = 'missed-target';
    report.rto = { ms: 2 * HOUR + 60_000, targetMs: HOUR, met: false };
    const md = renderDrillMarkdown(report).split('\n');
    expect(md[0]).toBe('# Disaster-recovery drill drill-20260101-040000-abc123: MISSED TARGET');
    expect(md[4]).toBe('The backup restored and its data verified, but recovery missed the RTO target.');
    expect(md).toContain('| RTO: drill start to verified restore | 2h 1m | 1h | **MISSED** |');
    report.rpo.met = false;
    expect(renderDrillMarkdown(report)).toContain('missed the RTO and RPO targets.');
  });

  it('says when checks could not run: no backup, no sample checksums, no amcheck, scratch kept', () => {
    const none = passed();
    Object.assign(none, {
      status: 'failed',
      backup: null,
      tables: [],
      samples: [],
      amcheck: null,
      rto: { ms: null, targetMs: HOUR, met: null },
      rpo: { ms: null, targetMs: 25 * HOUR, met: null },
      problems: ['no succeeded backup of shop to restore; run one first (opsbook backup run shop)'],
    });
    const md = renderDrillMarkdown(none);
    expect(md).toContain('| RTO: drill start to verified restore | - | 1h | not measured |');
    expect(md).toContain('## Backup used\n\nNone: no backup was restored.\n');
    expect(md).toContain('## Row counts\n\nNot checked.\n');
    expect(md).toContain('## amcheck\n\nNot run.\n');

    const partial = passed();
    partial.samples = partial.samples.map((s) => ({
      ...s,
      status: 'unavailable',
      expected: null,
      actual: null,
    }));
    partial.amcheck = {
      available: false,
      message: 'permission denied to create extension',
      indexes: [],
      heap: [],
    };
    partial.scratch = { ...partial.scratch, kept: true, dropped: false };
    const text = renderDrillMarkdown(partial);
    expect(text).toContain(
      '## Sample checksums\n\nNot available in this backup: its manifest carries no sample checksums.\n',
    );
    expect(text).toContain('## amcheck\n\nNot available: permission denied to create extension\n');
    expect(text).toContain(
      'kept for inspection (keepScratch); drop it with DROP DATABASE opsbook_drill_shop_20260101040000000',
    );

    const restoreFailed = passed();
    restoreFailed.scratch = { ...restoreFailed.scratch, dropped: false };
    restoreFailed.phases[5] = { ...restoreFailed.phases[5]!, message: 'nothing to drop: it does not exist' };
    expect(renderDrillMarkdown(restoreFailed)).toContain(
      '- scratch database `opsbook_drill_shop_20260101040000000` on postgres://postgres@db.internal:5432/: nothing to drop: it does not exist\n',
    );
  });

  it('formats durations and sizes for people', () => {
    expect(
      [850, 4_249, 59_999, 192_000, HOUR, 25 * HOUR, 5 * HOUR + 150_000, 100 * 24 * HOUR].map(duration),
    ).toEqual(['850 ms', '4.2 s', '60 s', '3m 12s', '1h', '25h', '5h 2m', '100d']);
    expect([512, 2048, 12_900_000].map(bytes)).toEqual(['512 bytes', '2.0 KiB', '12.3 MiB']);
  });
});
