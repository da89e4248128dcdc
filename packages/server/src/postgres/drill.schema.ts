// Per-database disaster-recovery drill policy (guide 9.3). Owned by the drills work.
import { z } from 'zod';

export const drillPolicySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
  })
  .prefault({});

export type DrillPolicy = z.output<typeof drillPolicySchema>;
