import { z } from 'zod';

export const BackupStatus = z.enum(['running', 'succeeded', 'failed']);
export const BackupTrigger = z.enum(['schedule', 'manual', 'drill']);

export const BackupManifestTable = z.object({
  schema: z.string(),
  name: z.string(),
  rows: z.number().describe('exact count(*) inside the snapshot pg_dump read'),
  bytes: z.number().describe('pg_total_relation_size at backup time'),
  sampleChecksum: z.object({ keys: z.string(), rows: z.number(), md5: z.string() }).optional(),
});

export const BackupManifestFile = z.object({
  path: z.string().describe('relative to the backup folder, e.g. dump/toc.dat'),
  bytes: z.number(),
  sha256: z.string(),
});

export const BackupManifestView = z.object({
  id: z.string(),
  database: z.string(),
  dbname: z.string(),
  serverVersion: z.string(),
  walLsn: z.string().nullable(),
  startedAt: z.number(),
  finishedAt: z.number(),
  snapshotAt: z.number().describe('the data is consistent as of this time'),
  format: z.literal('directory'),
  jobs: z.number(),
  compression: z.number(),
  tables: z.array(BackupManifestTable),
  files: z.array(BackupManifestFile),
  sizeBytes: z.number(),
});

export const BackupCopyView = z.object({
  target: z.string(),
  status: z.enum(['pending', 'copied', 'failed']),
  location: z.string(),
  at: z.number().nullable(),
  error: z.string().nullable(),
});

export const BackupView = z.object({
  id: z.string(),
  database: z.string(),
  status: BackupStatus,
  trigger: BackupTrigger,
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  path: z.string(),
  sizeBytes: z.number().nullable(),
  error: z.string().nullable(),
  manifest: BackupManifestView.nullable(),
  copies: z.array(BackupCopyView),
});

/** A listing leaves out each manifest's table and file lists. */
export const BackupSummary = BackupView.omit({ manifest: true }).extend({
  tables: z.number().nullable(),
  rows: z.number().nullable(),
  walLsn: z.string().nullable(),
});

export const RestoreProgressView = z.object({
  phase: z.enum(['verify', 'create-database', 'restore', 'analyze', 'done']),
  fraction: z.number().min(0).max(1),
  message: z.string(),
});

export const RestoreResultView = z.object({
  backupId: z.string(),
  database: z.string(),
  targetUrl: z.string().describe('the restored database, password removed'),
  startedAt: z.number(),
  finishedAt: z.number(),
  checksumsVerified: z.number(),
});

export const RestoreJobView = z.object({
  id: z.string(),
  backupId: z.string(),
  database: z.string(),
  to: z.string(),
  force: z.boolean(),
  actor: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  progress: RestoreProgressView,
  result: RestoreResultView.nullable(),
  error: z.string().nullable(),
});

export const StartRestoreRequest = z.object({
  to: z.string().min(1).describe('name of the new database'),
  targetUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .describe("the server to restore into; the source database's server when omitted"),
  force: z.boolean().default(false).describe('replace the target database if it exists, even the source'),
  confirm: z.string().optional().describe('with force: the target database name again'),
  jobs: z.number().int().min(1).max(32).optional().describe('pg_restore --jobs (default: as the backup)'),
  actor: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
});

export const VerifyReportView = z.object({
  backupId: z.string(),
  ok: z.boolean(),
  locations: z.array(
    z.object({
      target: z.string().describe('`local` or the copy target'),
      location: z.string(),
      ok: z.boolean(),
      files: z.number(),
      error: z.string().nullable(),
    }),
  ),
});

export type BackupView = z.infer<typeof BackupView>;
export type BackupSummary = z.infer<typeof BackupSummary>;
export type BackupCopyView = z.infer<typeof BackupCopyView>;
export type RestoreJobView = z.infer<typeof RestoreJobView>;
export type RestoreProgressView = z.infer<typeof RestoreProgressView>;
export type StartRestoreRequest = z.infer<typeof StartRestoreRequest>;
export type VerifyReportView = z.infer<typeof VerifyReportView>;
