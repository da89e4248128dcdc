// The shapes shared by the metric store (which holds series) and the query engine (which reads them).

/** Labels of one series; `__name__` holds the metric name, as in Prometheus. */
export type Labels = Record<string, string>;

export interface Sample {
  /** Epoch milliseconds. */
  t: number;
  v: number;
}

export interface Series {
  labels: Labels;
  /** Oldest first. */
  samples: Sample[];
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** Where queries read series from: the metric store implements it. */
export interface SeriesSource {
  /** Series matching every matcher, with their samples in [from, to] (inclusive). */
  select(matchers: LabelMatcher[], from: number, to: number): Promise<Series[]>;
}

/** One sample to ingest (from a scrape, the push API or a probe). */
export interface IngestSample {
  name: string;
  labels: Labels;
  value: number;
  /** Epoch ms; now when omitted. */
  t?: number;
}
