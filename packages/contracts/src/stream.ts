import { z } from 'zod';

/**
 * One server-sent event on GET /api/v1/stream. Small on purpose: it names what changed so a client
 * knows which queries to fetch again; the API stays the one source of the data itself.
 */
export const StreamEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('check'),
    id: z.string().describe('service/check'),
    service: z.string(),
    status: z.enum(['unknown', 'healthy', 'unhealthy']),
  }),
  z.object({
    type: z.literal('alert'),
    id: z.string().describe('fingerprint'),
    status: z.string().describe('firing or resolved'),
    service: z.string().nullable(),
  }),
  z.object({
    type: z.literal('incident'),
    id: z.string().describe('INC-<n>'),
    stage: z.string(),
    opened: z.boolean(),
  }),
  z.object({
    type: z.literal('runbook'),
    id: z.string().describe('run id'),
    status: z.string(),
    incident: z.string().nullable(),
  }),
]);
export type StreamEvent = z.infer<typeof StreamEvent>;
export type StreamEventType = StreamEvent['type'];
