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
    status: z
      .string()
      .describe('pending, firing, resolved, or inactive (a pending alert that cleared without firing)'),
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
  z.object({
    type: z.literal('deployment'),
    id: z.string(),
    service: z.string(),
    status: z.string().describe('in_progress, succeeded, failed or rolled_back'),
  }),
  z.object({
    type: z.literal('backup'),
    id: z.string().describe('backup id, or restore job id'),
    database: z.string(),
    operation: z.enum(['backup', 'restore']),
    status: z.string().describe('running, succeeded, failed or cancelled'),
  }),
  z.object({
    type: z.literal('drill'),
    id: z.string(),
    database: z.string(),
    status: z.string().describe('running, passed, failed or missed-target'),
  }),
]);
export type StreamEvent = z.infer<typeof StreamEvent>;
export type StreamEventType = StreamEvent['type'];
