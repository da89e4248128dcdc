// Disaster-recovery drills (guide 9.3): the JSON report the API serves and the CLI prints.
import { z } from 'zod';

export const DrillStatus = z.enum(['running', 'passed', 'failed', 'missed-target']);
export const DrillPhaseName = z.enum([
  'select-backup',
  'restore',
  'row-counts',
  'sample-checksums',
  'amcheck',
  'cleanup',
]);
export const DrillPhaseStatus = z.enum(['pending', 'running', 'passed', 'warning', 'failed', 'skipped']);

export const DrillPhase = z.object({
  name: DrillPhaseName,
  status: DrillPhaseStatus,
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  message: z.string(),
});

export const DrillTarget = z.object({
  /** null until measured (RTO is known once verification ends). */
  ms: z.number().nullable(),
  targetMs: z.number(),
  met: z.boolean().nullable(),
});

export const DrillTableCount = z.object({
  schema: z.string(),
  name: z.string(),
  expected: z.number(),
  /** null when the table is missing from the restored database or could not be read. */
  actual: z.number().nullable(),
  ok: z.boolean(),
});

export const DrillSampleCheck = z.object({
  schema: z.string(),
  name: z.string(),
  status: z.enum(['match', 'mismatch', 'unavailable', 'error']),
  rows: z.number().nullable(),
  expected: z.string().nullable(),
  actual: z.string().nullable(),
});

export const DrillIndexCheck = z.object({
  schema: z.string(),
  table: z.string(),
  index: z.string(),
  status: z.enum(['ok', 'corrupt', 'error']),
  message: z.string(),
});

export const DrillHeapCheck = z.object({
  schema: z.string(),
  table: z.string(),
  status: z.enum(['ok', 'corrupt', 'error']),
  message: z.string(),
});

export const DrillAmcheck = z.object({
  available: z.boolean(),
  message: z.string(),
  indexes: z.array(DrillIndexCheck),
  heap: z.array(DrillHeapCheck),
});

export const DrillBackupUsed = z.object({
  id: z.string(),
  snapshotAt: z.number(),
  finishedAt: z.number(),
  sizeBytes: z.number(),
  serverVersion: z.string(),
  walLsn: z.string().nullable(),
  tables: z.number(),
});

export const DrillReport = z.object({
  id: z.string(),
  database: z.string(),
  status: DrillStatus,
  trigger: z.enum(['schedule', 'manual']),
  actor: z.string(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  /** When verification ended: the end of the RTO. */
  verifiedAt: z.number().nullable(),
  backup: DrillBackupUsed.nullable(),
  scratch: z.object({
    database: z.string(),
    /** postgres:// URL of the scratch server, without password. */
    server: z.string(),
    kept: z.boolean(),
    dropped: z.boolean(),
  }),
  rto: DrillTarget.describe('recovery time: drill start to verified restore'),
  rpo: DrillTarget.describe("recovery point: age of the backup's data at drill start"),
  phases: z.array(DrillPhase),
  /** The phase running now and how far it is, while status is running. */
  progress: z.object({ phase: DrillPhaseName, fraction: z.number(), message: z.string() }).nullable(),
  tables: z.array(DrillTableCount),
  samples: z.array(DrillSampleCheck),
  amcheck: DrillAmcheck.nullable(),
  /** Each one fails the drill. */
  problems: z.array(z.string()),
  /** Worth knowing, but the drill can still pass. */
  warnings: z.array(z.string()),
});

export const DrillSummary = z.object({
  id: z.string(),
  database: z.string(),
  status: DrillStatus,
  trigger: z.enum(['schedule', 'manual']),
  actor: z.string(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  backupId: z.string().nullable(),
  rtoMs: z.number().nullable(),
  rpoMs: z.number().nullable(),
  problems: z.number(),
  /** The phase running now, while status is running. */
  phase: DrillPhaseName.nullable(),
});

export const StartDrillRequest = z.object({
  actor: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
});

export type DrillStatus = z.infer<typeof DrillStatus>;
export type DrillPhaseName = z.infer<typeof DrillPhaseName>;
export type DrillPhaseStatus = z.infer<typeof DrillPhaseStatus>;
export type DrillPhase = z.infer<typeof DrillPhase>;
export type DrillTarget = z.infer<typeof DrillTarget>;
export type DrillTableCount = z.infer<typeof DrillTableCount>;
export type DrillSampleCheck = z.infer<typeof DrillSampleCheck>;
export type DrillIndexCheck = z.infer<typeof DrillIndexCheck>;
export type DrillHeapCheck = z.infer<typeof DrillHeapCheck>;
export type DrillAmcheck = z.infer<typeof DrillAmcheck>;
export type DrillBackupUsed = z.infer<typeof DrillBackupUsed>;
export type DrillReport = z.infer<typeof DrillReport>;
export type DrillSummary = z.infer<typeof DrillSummary>;
export type StartDrillRequest = z.infer<typeof StartDrillRequest>;
