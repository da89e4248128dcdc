// For the query engine's tests: series held in a plain array, selected the way the metric store does.
import { compileMatcher, matchesAll } from '../labels.js';
import type { LabelMatcher, Labels, Sample, Series, SeriesSource } from '../series.js';

export interface ArraySource extends SeriesSource {
  /** Every select() call, to check what the engine fetched. */
  readonly calls: { matchers: LabelMatcher[]; from: number; to: number }[];
}

export function arraySource(series: Series[]): ArraySource {
  const calls: ArraySource['calls'] = [];
  return {
    calls,
    async select(matchers, from, to) {
      calls.push({ matchers, from, to });
      const compiled = matchers.map(compileMatcher);
      return series
        .filter((s) => matchesAll(compiled, s.labels))
        .map((s) => ({ labels: s.labels, samples: s.samples.filter((p) => p.t >= from && p.t <= to) }));
    },
  };
}

/** A series named `name`: samples as [seconds, value] pairs. */
export function series(name: string, labels: Labels, points: [seconds: number, value: number][]): Series {
  const samples: Sample[] = points.map(([s, v]) => ({ t: s * 1000, v }));
  return { labels: { __name__: name, ...labels }, samples };
}

/** Evenly spaced samples: from `startS` every `stepS` seconds, one per value. */
export function every(startS: number, stepS: number, values: number[]): [number, number][] {
  return values.map((v, i) => [startS + i * stepS, v]);
}
