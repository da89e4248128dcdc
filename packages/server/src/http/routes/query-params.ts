import { z } from 'zod';

/** A time as epoch milliseconds or an ISO 8601 string. */
export const timeParam = z
  .string()
  .transform((value, ctx) => {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isNaN(ms)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is not a time; use epoch milliseconds or ISO 8601`,
      });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

export function limitParam(fallback: number, max: number) {
  return z.coerce.number().int('must be a whole number').min(1).max(max, `at most ${max}`).default(fallback);
}
