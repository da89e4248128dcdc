// What the HTTP routes need from the metrics domain; the composition root builds it from the store and
// the scraper.
import type { IngestSample, LabelMatcher, Labels } from './series.js';
import type { IngestResult, MetricStore } from './metric-store.js';
import type { Scraper, TargetHealth } from './scraper.js';

export interface MetricsApi {
  /** Throws InputError for a malformed sample (nothing stored), UnavailableError before start. */
  ingest(samples: IngestSample[]): IngestResult;
  targets(): TargetHealth[];
  series(matchers: LabelMatcher[], limit: number): { items: Labels[]; total: number };
}

export function metricsApi(store: MetricStore, scraper?: Scraper): MetricsApi {
  return {
    ingest: (samples) => store.ingest(samples),
    targets: () => scraper?.targets() ?? [],
    series: (matchers, limit) => store.series(matchers, limit),
  };
}
