import { z } from 'zod';

export const EventSeverity = z.enum(['info', 'warning', 'error']);

export const EventView = z.object({
  id: z.number().int(),
  at: z.number().int(),
  kind: z.string().describe('e.g. check.transition, config.reloaded'),
  severity: EventSeverity,
  service: z.string().nullable(),
  checkId: z.string().nullable(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EventView = z.infer<typeof EventView>;

export const EventList = z.object({ items: z.array(EventView), nextCursor: z.string().nullable() });
