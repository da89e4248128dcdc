// Per-database disaster-recovery drill policy (guide 9.3: quarterly DR tests). Owned by the drills work.
import { Cron } from 'croner';
import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';
import { connectionOfUrl } from './backup-connection.js';

/** 04:00 on the first day of each quarter: guide 9.3 asks for quarterly DR tests. */
export const DEFAULT_DRILL_SCHEDULE = '0 4 1 1,4,7,10 *';

export const drillPolicySchema = z
  .strictObject({
    /** Scheduled drills; a drill can still be started on demand (API, CLI) when false. */
    enabled: z.boolean().default(true),
    schedule: z
      .string()
      .default(DEFAULT_DRILL_SCHEDULE)
      .superRefine((expression, ctx) => {
        try {
          new Cron(expression, { paused: true });
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            message: `"${expression}" is not a cron expression (${(error as Error).message}); e.g. "0 4 1 1,4,7,10 *" for quarterly`,
          });
        }
      }),
    timeZone: z
      .string()
      .default('UTC')
      .superRefine((zone, ctx) => {
        if (!isTimeZone(zone))
          ctx.addIssue({
            code: 'custom',
            message: `unknown time zone "${zone}"; use an IANA name like Europe/Berlin`,
          });
      }),
    // The guide states no RTO or RPO figures; 1 h RTO is a common database target, and 25 h RPO is
    // what daily backups (guide 9.1) can promise: a day between backups plus an hour for the backup.
    /** Longest acceptable time from drill start to a verified restore. */
    rtoTarget: durationMs.prefault('1h'),
    /** Oldest acceptable backup data at drill start (the data a disaster now would lose). */
    rpoTarget: durationMs.prefault('25h'),
    /** postgres:// URL of the server to restore into; the source database's server when omitted. */
    scratchUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .superRefine((url, ctx) => {
        try {
          connectionOfUrl(url, 'scratchUrl');
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .optional(),
    /** Rows per table in the sample checksum (the backup computes the same sample). */
    sampleRows: z.number().int().min(1).max(1_000_000).default(1000),
    /** A quarter plus ten days: no passed drill for longer than this fires DrillOverdue. */
    overdueAfter: durationMs.prefault('100d'),
    /** Keep the scratch database after the drill for inspection (drop it yourself later). */
    keepScratch: z.boolean().default(false),
  })
  .prefault({});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type DrillPolicy = z.output<typeof drillPolicySchema>;
