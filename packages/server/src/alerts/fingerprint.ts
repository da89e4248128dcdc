import { hash } from 'node:crypto';
import type { Labels } from '../telemetry/series.js';

/** A stable id from the label set (sorted), 16 hex digits like Alertmanager's fingerprints. */
export function fingerprint(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let text = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    text += i === 0 ? `${name}\u0000${labels[name]}` : `\u0001${name}\u0000${labels[name]}`;
  }
  // One-shot hash: createHash().update().digest() costs about twice as much per call.
  return hash('sha256', text, 'hex').slice(0, 16);
}
