import { describe, expect, it } from 'vitest';
import { decodeSketch, encodeSketch, newSketch, quantile } from './sketch.js';

describe('sketch encoding', () => {
  it('round-trips counts, sums, extremes and quantiles, and merges after decoding', () => {
    const a = newSketch();
    for (let i = 1; i <= 1000; i++) a.accept(i);
    a.accept(0);
    const decoded = decodeSketch(encodeSketch(a));
    expect(decoded.count).toBe(1001);
    expect(decoded.sum).toBe(a.sum);
    expect(decoded.min).toBe(0);
    expect(decoded.max).toBe(1000);
    for (const q of [0.5, 0.95, 0.99]) expect(quantile(decoded, q)).toBe(quantile(a, q));
    expect(Math.abs(quantile(decoded, 0.95)! - 950) / 950).toBeLessThan(0.01);

    const b = newSketch();
    for (let i = 0; i < 1000; i++) b.accept(5000);
    decoded.merge(decodeSketch(encodeSketch(b)));
    expect(decoded.count).toBe(2001);
    expect(quantile(decoded, 0.99)).toBeGreaterThan(4900);
    expect(decodeSketch(encodeSketch(newSketch())).count).toBe(0);
  });
});
