// Per-database backup policy and the global `backups:` section (guide 9.1). Owned by the backups work.
import { z } from 'zod';

export const backupPolicySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
  })
  .prefault({});

export const backupsSchema = z
  .strictObject({
    /** Where backups are written, relative to the config file. */
    dir: z.string().default('data/backups'),
  })
  .prefault({});

export type BackupPolicy = z.output<typeof backupPolicySchema>;
export type BackupsConfig = z.output<typeof backupsSchema>;
