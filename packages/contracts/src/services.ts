import { z } from 'zod';
import { CheckHealth } from './checks.js';

export const ServiceView = z.object({
  name: z.string(),
  owner: z.string(),
  environment: z.string(),
  description: z.string().nullable(),
  tags: z.array(z.string()),
  status: CheckHealth.describe('unhealthy if any check is, unknown while any is unknown, else healthy'),
  checks: z.object({
    total: z.number().int(),
    healthy: z.number().int(),
    unhealthy: z.number().int(),
    unknown: z.number().int(),
  }),
});
export type ServiceView = z.infer<typeof ServiceView>;

export const ServiceList = z.object({ items: z.array(ServiceView) });
