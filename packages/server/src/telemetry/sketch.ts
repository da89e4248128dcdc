// DDSketch quantiles: mergeable, so p95 over any window is exact to 1% from per-minute sketches.
import { DDSketch } from '@datadog/sketches-js';

export const RELATIVE_ACCURACY = 0.01;

export function newSketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
}

export function encodeSketch(sketch: DDSketch): string {
  return Buffer.from(sketch.toProto()).toString('base64');
}

export function decodeSketch(text: string): DDSketch {
  return DDSketch.fromProto(Buffer.from(text, 'base64'));
}

export function quantile(sketch: DDSketch, q: number): number | null {
  if (sketch.count === 0) return null;
  return Math.max(0, sketch.getValueAtQuantile(q));
}

export type { DDSketch };
