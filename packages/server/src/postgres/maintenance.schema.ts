// Per-database maintenance tasks (guide 5.3). Owned by the postgres maintenance work; extend freely.
import { z } from 'zod';

export const maintenanceSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
  })
  .prefault({});

export type MaintenanceConfig = z.output<typeof maintenanceSchema>;
