// The `databases:` config section: the PostgreSQL databases Opsbook watches, maintains and backs up.
import { z } from 'zod';
import { durationMs } from './duration.schema.js';
import { maintenanceSchema } from '../postgres/maintenance.schema.js';
import { backupPolicySchema } from '../postgres/backup.schema.js';
import { drillPolicySchema } from '../postgres/drill.schema.js';
import { pitrSchema } from '../postgres/pitr.schema.js';
import { thresholdsSchema } from '../postgres/thresholds.schema.js';

export const databaseSchema = z.strictObject({
  /** Names the database in the API, CLI, metrics (label `database`) and alerts. */
  id: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'use lowercase letters, digits and dashes')
    .max(63),
  /** postgres://user@host:port/dbname; the password comes from `password` (${ENV}) or `passwordFile`. */
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .refine((url) => URL.canParse(url), 'is not a valid URL (check the host and port)'),
  password: z.string().optional(),
  passwordFile: z.string().optional(),
  role: z.enum(['primary', 'replica']).default('primary'),
  /** The service this database belongs to: alerts about it carry service=<this>. */
  service: z.string().optional(),
  tags: z.array(z.string()).default([]),
  /** How often the collector reads the statistics views. */
  collectInterval: durationMs.prefault('1m'),
  /** Every collector query is stopped after this long, so a struggling server is not loaded further. */
  statementTimeout: durationMs.prefault('5s'),
  /** How many of the largest tables get a size series (opsbook_pg_table_size_bytes). */
  largestTables: z.number().int().min(0).max(500).default(20),
  thresholds: thresholdsSchema,
  maintenance: maintenanceSchema,
  backup: backupPolicySchema,
  drill: drillPolicySchema,
  /** Point-in-time recovery with pgBackRest (docs/pitr.md); absent means off. */
  pitr: pitrSchema,
});

export type DatabaseConfig = z.output<typeof databaseSchema>;
