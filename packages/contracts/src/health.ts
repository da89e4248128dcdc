import { z } from 'zod';

export const HealthStatus = z.enum(['UP', 'DOWN']);

/** Spring Boot Actuator's shape: 200 for UP, 503 for DOWN. */
export const HealthComponent = z.object({
  status: HealthStatus,
  details: z.record(z.string(), z.unknown()).optional(),
});

export const HealthResponse = z.object({
  status: HealthStatus,
  components: z.record(z.string(), HealthComponent),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
