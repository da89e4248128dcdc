// Per-database point-in-time recovery with pgBackRest (guide 9.1 "Point-in-time recovery (PITR)").
// pgBackRest is a physical tool: it reads the data directory, so this applies where Opsbook runs
// beside the PostgreSQL server (same host or pod).
import { Cron } from 'croner';
import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';
import { unsafePathProblem } from './pitr.paths.js';

/** Paths land in pgbackrest.conf, archive_command and restore_command, which run through a shell. */
const path = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = unsafePathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const absolutePath = path.regex(/^\//, 'must be an absolute path');

const cron = (fallback: string) => z.string().default(fallback);

const scheduleSchema = z
  .strictObject({
    /** Weekly full backup (Sunday 01:00). */
    full: cron('0 1 * * 0'),
    /** Daily differential backup against the last full (Monday to Saturday 01:00). */
    diff: cron('0 1 * * 1-6'),
    /** Optional incremental backups, e.g. "0 * * * *" for hourly. */
    incr: z.string().optional(),
    timezone: z.string().default('UTC'),
  })
  .superRefine((schedule, ctx) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: schedule.timezone });
    } catch {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: `"${schedule.timezone}" is not a time zone; use an IANA name such as UTC or Europe/Berlin`,
      });
    }
    for (const key of ['full', 'diff', 'incr'] as const) {
      const expression = schedule[key];
      if (expression === undefined) continue;
      try {
        new Cron(expression, { paused: true });
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `"${expression}" is not a cron expression (${(error as Error).message}); write e.g. "0 1 * * 0"`,
        });
      }
    }
  })
  .prefault({});

export const pitrSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** pgBackRest stanza name; the database id when omitted. */
    stanza: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, dots, dashes and underscores')
      .optional(),
    /** The server's data directory (pg1-path), e.g. /var/lib/postgresql/15/main. */
    pgData: absolutePath,
    /** The server's port (pg1-port); the port of `url` when omitted. */
    pgPort: z.number().int().min(1).max(65535).optional(),
    /** Where the server's Unix socket lives (pg1-socket-path); pgBackRest connects through it. */
    pgSocketPath: absolutePath.default('/var/run/postgresql'),
    /** The operating-system user that owns the cluster; pgBackRest and pg_ctl run as this user. */
    pgUser: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*$/, 'must be a Unix user name')
      .default('postgres'),
    /** Folder with pg_ctl; /usr/lib/postgresql/<major>/bin when omitted. */
    pgBinDir: absolutePath.optional(),
    /** The pgBackRest repository (repo1-path); relative paths are relative to the config file. */
    repoPath: path,
    /** The pgbackrest.conf Opsbook writes and owns; data/pgbackrest/<id>.conf when omitted. */
    configFile: path.optional(),
    /** pgBackRest's log folder (log-path); pgBackRest's default /var/log/pgbackrest when omitted. */
    logPath: path.optional(),
    schedule: scheduleSchema,
    /** Full backups kept (repo1-retention-full); WAL older than the oldest kept backup expires with it. */
    retentionFull: z.number().int().min(1).max(9999).default(2),
    processMax: z.number().int().min(1).max(64).default(2),
    compressType: z.enum(['zst', 'lz4', 'gz']).default('zst'),
    /** Checkpoint at once when a backup starts instead of waiting for the next scheduled one. */
    startFast: z.boolean().default(true),
    /** How long a restore may take from pgBackRest's copy to the promoted cluster. */
    restoreTimeout: durationMs.prefault('1h'),
  })
  .optional();

export type PitrConfig = NonNullable<z.output<typeof pitrSchema>>;
