// Per-database advisor and collector thresholds (`databases[].thresholds`). Defaults are pghero's.
import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** 10485760, "10MB" or "1.5 GB" (powers of 1024), parsed to bytes. */
export const byteSize = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)\s*$/i.exec(value);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a size; write e.g. 10MB, 1.5GB or bytes` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
});

const ratio = z.number().min(0).max(1);
const count = z.number().int().min(0);

export const thresholdsSchema = z
  .strictObject({
    /** Share of max_connections in use that warns, and that is critical. */
    connectionsWarning: ratio.default(0.8),
    connectionsCritical: ratio.default(0.95),
    /** pghero: a query running this long is long-running. */
    longRunningQuery: durationMs.prefault('60s'),
    /** A session idle inside an open transaction this long holds locks and blocks vacuum. */
    idleInTransaction: durationMs.prefault('60s'),
    /** pghero: 99 % and over is healthy, for tables and for indexes. */
    cacheHitRatio: ratio.default(0.99),
    /** pghero: slow when the mean is at least this and it ran at least slowQueryCalls times. */
    slowQueryMeanMs: z.number().min(0).default(20),
    slowQueryCalls: count.default(100),
    /** pghero: an index with 0 scans is reported once it is this big. */
    unusedIndexMinSize: byteSize.default(10 * 1024 ** 2),
    /** pghero: a sequence past this share of its range (or its column type's) warns. */
    sequenceUsedRatio: ratio.default(0.9),
    /** pghero warns below 1.5 billion transactions left before wraparound. */
    xidRemainingWarning: count.default(1_500_000_000),
    /** PostgreSQL itself starts warning at 40 million left; this is well before it. */
    xidRemainingCritical: count.default(100_000_000),
    /** pghero: replication lag under 5 s is healthy. */
    replicationLag: durationMs.prefault('5s'),
    /** pghero's missing-index hint: tables of this many rows... */
    missingIndexMinRows: count.default(10_000),
    /** ...read by index less often than this share of scans. */
    missingIndexScanRatio: ratio.default(0.95),
    /** A table needs VACUUM when dead tuples are this share of its rows... */
    vacuumDeadRatio: ratio.default(0.1),
    /** ...and at least this many (small tables are vacuumed cheaply by autovacuum anyway). */
    vacuumMinDeadTuples: count.default(1_000),
  })
  .prefault({});

export type Thresholds = z.output<typeof thresholdsSchema>;
