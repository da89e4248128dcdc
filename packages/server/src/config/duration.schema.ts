import { z } from 'zod';
import { parseDuration } from './duration.js';

/** "30s", "5m", "7d" or milliseconds, parsed to milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write e.g. 30s, 5m, 7d` });
    return z.NEVER;
  }
  return ms;
});
