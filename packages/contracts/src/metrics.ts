import { z } from 'zod';

export const MAX_PUSH_SAMPLES = 10_000;

export const MetricName = z
  .string()
  .regex(
    /^[a-zA-Z_:][a-zA-Z0-9_:]*$/,
    'not a metric name: letters, digits, _ and :, not starting with a digit',
  );

export const LabelName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a label name: letters, digits and _, not starting with a digit')
  .refine((name) => !name.startsWith('__'), 'label names starting with __ are reserved');

/** JSON has no NaN or infinities; they are written as strings, as in Prometheus' APIs. */
export const MetricValue = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf', 'Inf'])]);

export const MetricSampleInput = z.object({
  metric: MetricName.describe('e.g. orders_total'),
  labels: z.record(LabelName, z.string()).default({}),
  value: MetricValue,
  timestamp: z
    .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })])
    .optional()
    .describe('epoch milliseconds or ISO 8601; the time of receipt when left out'),
});
export type MetricSampleInput = z.input<typeof MetricSampleInput>;

export const MetricsPushBody = z.object({
  samples: z
    .array(MetricSampleInput)
    .max(MAX_PUSH_SAMPLES, `at most ${MAX_PUSH_SAMPLES} samples per request`),
});
export type MetricsPushBody = z.input<typeof MetricsPushBody>;

export const MetricsPushResult = z.object({
  accepted: z.number().int(),
  rejected: z.number().int().describe('samples out of order, too old or too far in the future'),
  errors: z
    .array(z.object({ index: z.number().int(), reason: z.string() }))
    .describe('the first few rejections, by index into samples'),
});
export type MetricsPushResult = z.infer<typeof MetricsPushResult>;

export const ScrapeTargetHealth = z.object({
  job: z.string(),
  url: z.string(),
  instance: z.string().describe('host:port'),
  service: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  intervalMs: z.number(),
  timeoutMs: z.number(),
  health: z.enum(['up', 'down', 'unknown']).describe('unknown until the first scrape'),
  up: z.boolean().nullable().describe('the last scrape succeeded; null until the first scrape'),
  lastScrape: z.number().int().nullable().describe('start of the last scrape, epoch ms'),
  lastError: z.string().nullable(),
  durationMs: z.number().nullable(),
  samples: z.number().int().nullable().describe('samples returned by the last scrape'),
});
export type ScrapeTargetHealth = z.infer<typeof ScrapeTargetHealth>;

export const ScrapeTargetList = z.object({ items: z.array(ScrapeTargetHealth) });
export type ScrapeTargetList = z.infer<typeof ScrapeTargetList>;

export const MetricSeriesList = z.object({
  items: z.array(z.record(z.string(), z.string())).describe('label sets, __name__ included'),
  total: z.number().int().describe('series matched, before the limit'),
});
export type MetricSeriesList = z.infer<typeof MetricSeriesList>;
