// Per-database maintenance tasks (guide 5.3): what runs, when, and how long VACUUM may take per table.
import { Cron } from 'croner';
import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';

export const MAINTENANCE_TASKS = [
  'vacuum-analyze',
  'size-review',
  'slow-query-review',
  'index-review',
] as const;
export type MaintenanceTask = (typeof MAINTENANCE_TASKS)[number];

const cron = z.string().superRefine((text, ctx) => {
  try {
    new Cron(text, { paused: true });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${(error as Error).message}` });
  }
});

const taskSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Cron expression in the maintenance time zone; the guide's cadence when omitted. */
    schedule: cron.optional(),
  })
  .prefault({});

export const maintenanceSchema = z
  .strictObject({
    /** Off: no scheduled runs; runs on demand still work. */
    enabled: z.boolean().default(true),
    timezone: z
      .string()
      .default('UTC')
      .refine(
        (zone) => {
          try {
            new Intl.DateTimeFormat('en', { timeZone: zone });
            return true;
          } catch {
            return false;
          }
        },
        {
          error: (issue) => `unknown time zone "${String(issue.input)}"; use an IANA name like Europe/Paris`,
        },
      ),
    /** The hour (0-23) of the weekly maintenance window VACUUM ANALYZE runs in by default. */
    windowHour: z.number().int().min(0).max(23).default(3),
    /** Each table's VACUUM (ANALYZE) is stopped after this long; the next table goes on. */
    statementTimeout: durationMs.prefault('30m'),
    tasks: z
      .strictObject({
        'vacuum-analyze': taskSchema,
        'size-review': taskSchema,
        'slow-query-review': taskSchema,
        'index-review': taskSchema,
      })
      .prefault({}),
  })
  .prefault({});

export type MaintenanceConfig = z.output<typeof maintenanceSchema>;

/** Guide 5.3 and 2.2-2.3: VACUUM weekly in the window (Sunday), reviews on Monday 09:00, indexes monthly. */
export function defaultSchedule(task: MaintenanceTask, windowHour: number): string {
  switch (task) {
    case 'vacuum-analyze':
      return `0 ${windowHour} * * 0`;
    case 'size-review':
    case 'slow-query-review':
      return '0 9 * * 1';
    case 'index-review':
      return '0 9 * * 1#1';
  }
}
