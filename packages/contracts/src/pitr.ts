// Point-in-time recovery with pgBackRest: the recoverable window, backups, and restores into a new
// data directory and port. Times are epoch milliseconds.
import { z } from 'zod';

export const PitrBackupType = z.enum(['full', 'diff', 'incr']);

/** A backup in the pgBackRest repository. */
export const PitrRepoBackup = z.object({
  label: z.string(),
  type: PitrBackupType,
  prior: z.string().nullable().describe('the backup a diff or incr builds on'),
  startedAt: z.number(),
  stoppedAt: z.number(),
  sizeBytes: z.number().describe('the database size at backup time'),
  repoSizeBytes: z.number().describe('the whole backup set in the repository, compressed'),
  deltaBytes: z.number().describe('what this backup copied'),
  walStart: z.string().nullable(),
  walStop: z.string().nullable(),
});

export const PitrWindow = z.object({
  earliest: z.number().describe('the end of the oldest backup: nothing earlier is consistent'),
  latest: z.number().describe('when the newest WAL segment reached the repository'),
  latestSource: z
    .enum(['archive', 'backup'])
    .describe(
      'archive: from the newest archived WAL; backup: the newest backup (the archive was not readable)',
    ),
});

export const PitrBackupStatus = z.enum(['running', 'succeeded', 'failed']);

/** A backup Opsbook ran (scheduled or asked for), with its outcome. */
export const PitrBackupRun = z.object({
  id: z.string(),
  database: z.string(),
  type: PitrBackupType,
  trigger: z.enum(['schedule', 'manual']),
  status: PitrBackupStatus,
  actor: z.string(),
  label: z.string().nullable().describe('the pgBackRest backup label once it succeeded'),
  progress: z.number().describe('0..1'),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  sizeBytes: z.number().nullable(),
  repoSizeBytes: z.number().nullable(),
  error: z.string().nullable(),
});

export const PitrInfo = z.object({
  database: z.string(),
  stanza: z.string(),
  status: z.object({ code: z.number(), message: z.string() }).describe("pgBackRest's stanza status"),
  window: PitrWindow.nullable().describe('null until the first backup'),
  archive: z.object({ min: z.string().nullable(), max: z.string().nullable() }).nullable(),
  backups: z.array(PitrRepoBackup),
  runs: z.array(PitrBackupRun).describe('the latest backups Opsbook ran, newest first'),
  lastSuccessAt: z.number().nullable(),
  schedule: z.object({
    full: z.string(),
    diff: z.string(),
    incr: z.string().nullable(),
    timezone: z.string(),
    next: z.object({ full: z.number().nullable(), diff: z.number().nullable(), incr: z.number().nullable() }),
  }),
  archiveCommand: z.string().describe('what the server must have as archive_command'),
});

export const PitrFinding = z.object({
  id: z.string(),
  status: z.enum(['ok', 'warning', 'error']),
  message: z.string(),
  fix: z.string().nullable().describe('what to change, when something is wrong'),
});

export const PitrCheck = z.object({
  database: z.string(),
  ok: z.boolean().describe('no finding is an error'),
  findings: z.array(PitrFinding),
  archiveCommand: z.string(),
});

export const PitrSetupResult = z.object({
  database: z.string(),
  stanza: z.string(),
  configFile: z.string(),
  check: PitrCheck,
});

export const PitrRestoreStatus = z.enum(['running', 'ready', 'failed', 'stopped', 'removed']);
export const PitrRestorePhase = z.enum(['archive', 'restore', 'configure', 'start', 'recover', 'done']);

export const PitrRestore = z.object({
  id: z.string(),
  database: z.string(),
  status: PitrRestoreStatus.describe(
    'running: restoring; ready: the new cluster is up and promoted; stopped: shut down, data kept; removed: data deleted',
  ),
  phase: PitrRestorePhase,
  progress: z.number().describe('0..1 over the whole restore'),
  message: z.string(),
  targetTime: z.number(),
  pgData: z.string(),
  port: z.number(),
  actor: z.string(),
  backupLabel: z.string().nullable().describe('the backup set pgBackRest restored from'),
  connectionUrl: z.string().nullable().describe('the restored cluster, with the source database credentials'),
  recoveredTo: z.string().nullable().describe('the last transaction replayed, as PostgreSQL logged it'),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  error: z.string().nullable(),
  phases: z.array(z.object({ phase: PitrRestorePhase, at: z.number(), message: z.string() })),
  clusterRunning: z.boolean().describe('whether a postmaster runs in pgData now'),
});

export const StartPitrBackupRequest = z.object({
  type: PitrBackupType.default('full'),
  actor: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
});

export const StartPitrRestoreRequest = z.object({
  targetTime: z.string().describe('ISO 8601, e.g. 2026-01-15T10:30:00Z: the data as it was then'),
  pgData: z.string().describe('a new, empty data directory (absolute path) on the database host'),
  port: z.number().int().min(1).max(65535).describe('a free port for the restored cluster'),
  confirm: z.boolean().describe('must be true: a restore starts a new PostgreSQL cluster'),
  actor: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
});

export type PitrBackupType = z.infer<typeof PitrBackupType>;
export type PitrRepoBackup = z.infer<typeof PitrRepoBackup>;
export type PitrWindow = z.infer<typeof PitrWindow>;
export type PitrBackupStatus = z.infer<typeof PitrBackupStatus>;
export type PitrBackupRun = z.infer<typeof PitrBackupRun>;
export type PitrInfo = z.infer<typeof PitrInfo>;
export type PitrFinding = z.infer<typeof PitrFinding>;
export type PitrCheck = z.infer<typeof PitrCheck>;
export type PitrSetupResult = z.infer<typeof PitrSetupResult>;
export type PitrRestoreStatus = z.infer<typeof PitrRestoreStatus>;
export type PitrRestorePhase = z.infer<typeof PitrRestorePhase>;
export type PitrRestore = z.infer<typeof PitrRestore>;
export type StartPitrBackupRequest = z.infer<typeof StartPitrBackupRequest>;
export type StartPitrRestoreRequest = z.infer<typeof StartPitrRestoreRequest>;
