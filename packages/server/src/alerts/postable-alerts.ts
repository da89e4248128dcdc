// A fast check of Prometheus's POST body (PostableAlerts): validating a 100-alert batch with zod cost
// about as much as storing it. It only says "valid" when zod would; anything else goes to zod, whose
// issues make the 400, so the answer to a bad body is the same as before.
import { PostableAlerts } from '@opsbook/contracts';
import type { z } from 'zod';

export type PostableAlert = z.infer<typeof PostableAlerts>[number];

const Time = PostableAlerts.element.shape.startsAt.unwrap();

/** The body as alerts when it is certainly valid; undefined when zod has to look at it. */
export function fastPostableAlerts(body: unknown): PostableAlert[] | undefined {
  if (!Array.isArray(body)) return undefined;
  // Prometheus stamps a batch with few distinct times: each is checked once.
  const times = new Set<string>();
  const time = (value: unknown): boolean => {
    if (typeof value !== 'string') return false;
    if (times.has(value)) return true;
    if (!Time.safeParse(value).success) return false;
    times.add(value);
    return true;
  };
  for (const alert of body as unknown[]) {
    if (!isPlainObject(alert)) return undefined;
    const { labels, annotations, startsAt, endsAt, generatorURL } = alert;
    if (!isStringRecord(labels) || typeof labels.alertname !== 'string' || labels.alertname === '')
      return undefined;
    if (annotations !== undefined && !isStringRecord(annotations)) return undefined;
    if (startsAt !== undefined && !time(startsAt)) return undefined;
    if (endsAt !== undefined && !time(endsAt)) return undefined;
    if (generatorURL !== undefined && typeof generatorURL !== 'string') return undefined;
    if (startsAt && endsAt && Date.parse(startsAt as string) > Date.parse(endsAt as string)) return undefined;
  }
  return body as PostableAlert[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (!isPlainObject(value)) return false;
  for (const key in value) {
    // zod drops a "__proto__" key from what it returns: leave that case to zod.
    if (typeof value[key] !== 'string' || key === '__proto__') return false;
  }
  return true;
}
