// Per-database backup policy and the global `backups:` section (guide 9.1). Owned by the backups work.
import { Cron } from 'croner';
import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';

/** 02:00 every day: guide 9.1 asks for automated daily backups. */
export const DEFAULT_BACKUP_SCHEDULE = '0 2 * * *';

const cron = z.string().superRefine((expression, ctx) => {
  try {
    new Cron(expression, { paused: true });
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `"${expression}" is not a cron expression (${(error as Error).message}); e.g. "0 2 * * *" for 02:00 daily`,
    });
  }
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const backupPolicySchema = z
  .strictObject({
    /** Scheduled backups; `opsbook backup run` still works when false. */
    enabled: z.boolean().default(true),
    schedule: cron.default(DEFAULT_BACKUP_SCHEDULE),
    timeZone: z
      .string()
      .default('UTC')
      .refine(isTimeZone, {
        error: (issue) => `unknown time zone "${String(issue.input)}"; use an IANA name like Europe/Berlin`,
      }),
    /** pg_dump --jobs: tables dumped in parallel (each job is one more connection). */
    jobs: z.number().int().min(1).max(32).default(2),
    /** pg_dump --compress for the directory format (gzip level; 0 stores uncompressed). */
    compression: z.number().int().min(0).max(9).default(6),
    /** Guide 9.1: retention 35 days. */
    retention: durationMs.prefault('35d'),
    /** Good backups kept whatever their age, so retention never deletes the only restorable copy. */
    keepLast: z.number().int().min(1).default(1),
    /** A daily backup plus two hours of slack: older than this, the backup counts as missed (Barman's last_backup_maximum_age). */
    maxAge: durationMs.prefault('26h'),
  })
  .prefault({});

const slug = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'use lowercase letters, digits and dashes')
  .max(63);

export const azureBlobTargetSchema = z.strictObject({
  /** Secret: must be a ${ENV} or ${file:PATH} reference (the account key is in it). */
  connectionString: z.string().min(1),
  /** Azure's container rules: 3-63 lowercase letters, digits and single dashes. */
  container: z
    .string()
    .regex(
      /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
      'an Azure container name is 3-63 lowercase letters, digits and single dashes',
    ),
  /** Blob name prefix; copies land under <prefix>/<database>/<backupId>/. */
  prefix: z
    .string()
    .default('')
    .transform((prefix) => prefix.replace(/^\/+|\/+$/g, '')),
});

export const copyTargetSchema = z
  .strictObject({
    name: slug,
    /** A second directory (another disk or a mounted share), relative to the config file. */
    dir: z.string().min(1).optional(),
    azureBlob: azureBlobTargetSchema.optional(),
  })
  .superRefine((target, ctx) => {
    if ((target.dir === undefined) === (target.azureBlob === undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'a copy target has exactly one of dir or azureBlob',
      });
  });

export const backupsSchema = z
  .strictObject({
    /** Where backups are written, relative to the config file. */
    dir: z.string().default('data/backups'),
    /**
     * Where pg_dump and pg_restore live when they are not in /usr/lib/postgresql/<major>/bin or on
     * the PATH. They must be at least the server's major version.
     */
    binDir: z.string().optional(),
    /** Guide 9.1, geo-redundant backups: every good backup is copied to each of these. */
    copies: z.array(copyTargetSchema).default([]),
  })
  .superRefine((section, ctx) => {
    const seen = new Set<string>();
    section.copies.forEach((copy, index) => {
      if (seen.has(copy.name))
        ctx.addIssue({
          code: 'custom',
          path: ['copies', index, 'name'],
          message: `duplicate copy target name "${copy.name}"`,
        });
      seen.add(copy.name);
    });
  })
  .prefault({});

export type BackupPolicy = z.output<typeof backupPolicySchema>;
export type BackupsConfig = z.output<typeof backupsSchema>;
export type CopyTargetConfig = z.output<typeof copyTargetSchema>;
