import { createHash } from 'node:crypto';
import type { Labels } from '../telemetry/series.js';

/** A stable id from the label set (sorted), 16 hex digits like Alertmanager's fingerprints. */
export function fingerprint(labels: Labels): string {
  const text = Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
