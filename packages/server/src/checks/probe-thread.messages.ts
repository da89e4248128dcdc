// What the main thread and the probe thread say to each other (structured-cloned).
import type { ProbeJob } from './probe-executor.js';

export type ToProbeThread =
  | { type: 'init'; concurrency: number }
  | { type: 'schedule'; job: ProbeJob }
  | { type: 'unschedule'; id: string }
  | { type: 'start' }
  | { type: 'stop' };

/**
 * Reports travel as one flat array of primitives per batch, REPORT_FIELDS values per report
 * (id, tag, startedAt, up 1|0, latencyMs, message, detail as JSON): far cheaper to clone than objects.
 */
export const REPORT_FIELDS = 7;

export type FromProbeThread =
  | {
      type: 'reports';
      reports: (string | number)[];
      lags: number[];
      /** Overload can skip thousands of runs a second: a count and one example, not every id. */
      skipped: { count: number; example: string };
    }
  | { type: 'stopped' };
