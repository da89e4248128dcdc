import { z } from 'zod';
import { durationMs } from './duration.schema.js';

const jobName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_-]*$/, 'letters, digits, _ and -; starting with a letter or _');

export const scrapeTargetSchema = z.strictObject({
  /** Becomes the `job` label, as in Prometheus. */
  job: jobName,
  /** The target's /metrics URL; `instance` is its host:port. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  interval: durationMs.prefault('15s'),
  timeout: durationMs.prefault('5s'),
  /** The service these metrics belong to: added as the `service` label so rules apply per service. */
  service: z.string().optional(),
  labels: z.record(z.string(), z.string()).default({}),
});

export const metricsSchema = z
  .strictObject({
    scrape: z.array(scrapeTargetSchema).default([]),
    retention: z
      .strictObject({
        samples: durationMs.prefault('2d'),
        minuteRollups: durationMs.prefault('35d'),
        hourRollups: durationMs.prefault('400d'),
      })
      .prefault({}),
  })
  .prefault({});

export type MetricsConfig = z.output<typeof metricsSchema>;
export type ScrapeTarget = MetricsConfig['scrape'][number];
