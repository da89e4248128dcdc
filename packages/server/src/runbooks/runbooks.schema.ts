// The `runbooks:` config section, for config/schema.ts.
import { z } from 'zod';

export const runbooksSchema = z
  .object({
    /** Folders of runbook YAML files, relative to the config file. */
    dirs: z.array(z.string()).default([]),
    /** Load the guide's five built-in runbooks. */
    builtin: z.boolean().default(true),
    /** Shell steps and command actions run only when this is true. */
    allowShell: z.boolean().default(false),
    /** PostgreSQL databases sql steps may query (read-only), by name; the URL's password via ${ENV}. */
    databases: z.record(z.string(), z.object({ url: z.string() }).strict()).default({}),
  })
  .strict()
  .default({ dirs: [], builtin: true, allowShell: false, databases: {} });

export type RunbooksConfig = z.infer<typeof runbooksSchema>;
