import { z } from 'zod';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('input, not_found, conflict, not_allowed, unavailable, integration, internal'),
    message: z.string(),
    field: z.string().optional().describe('the parameter or body field at fault'),
    issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    correlationId: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
