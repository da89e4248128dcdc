// A tiny hand-written Prometheus registry (text exposition format 0.0.4) for the example-service.

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface RequestLabels {
  method: string;
  route: string;
  status: string;
}

interface Series {
  labels: RequestLabels;
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; cumulated when rendered. */
  buckets: number[];
}

/** Escapes a label value per the exposition format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: RequestLabels, extra?: [string, string]): string {
  const pairs = [
    `method="${escapeLabelValue(labels.method)}"`,
    `route="${escapeLabelValue(labels.route)}"`,
    `status="${escapeLabelValue(labels.status)}"`,
  ];
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return `{${pairs.join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class MetricsRegistry {
  readonly #series = new Map<string, Series>();
  readonly #processStartSeconds: number;

  constructor(processStartSeconds = performance.timeOrigin / 1000) {
    this.#processStartSeconds = processStartSeconds;
  }

  /** Counts one request and records its duration in seconds. */
  observeRequest(labels: RequestLabels, durationSeconds: number): void {
    const key = `${labels.method}\u0000${labels.route}\u0000${labels.status}`;
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: { ...labels }, count: 0, sum: 0, buckets: DURATION_BUCKETS.map(() => 0) };
      this.#series.set(key, series);
    }
    series.count += 1;
    series.sum += durationSeconds;
    const index = DURATION_BUCKETS.findIndex((bound) => durationSeconds <= bound);
    if (index >= 0) series.buckets[index] = (series.buckets[index] ?? 0) + 1;
  }

  /** The whole registry in Prometheus text format, ending with a newline. */
  render(): string {
    const series = [...this.#series.values()].sort((a, b) =>
      formatLabels(a.labels).localeCompare(formatLabels(b.labels)),
    );
    const lines: string[] = [];

    lines.push('# HELP http_requests_total Total number of HTTP requests handled.');
    lines.push('# TYPE http_requests_total counter');
    for (const s of series) lines.push(`http_requests_total${formatLabels(s.labels)} ${s.count}`);

    lines.push('# HELP http_request_duration_seconds Duration of HTTP requests in seconds.');
    lines.push('# TYPE http_request_duration_seconds histogram');
    for (const s of series) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += s.buckets[i] ?? 0;
        lines.push(
          `http_request_duration_seconds_bucket${formatLabels(s.labels, ['le', String(bound)])} ${cumulative}`,
        );
      });
      lines.push(`http_request_duration_seconds_bucket${formatLabels(s.labels, ['le', '+Inf'])} ${s.count}`);
      lines.push(`http_request_duration_seconds_sum${formatLabels(s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`http_request_duration_seconds_count${formatLabels(s.labels)} ${s.count}`);
    }

    lines.push('# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.');
    lines.push('# TYPE process_start_time_seconds gauge');
    lines.push(
      `process_start_time_seconds ${formatNumber(Math.round(this.#processStartSeconds * 1000) / 1000)}`,
    );

    return `${lines.join('\n')}\n`;
  }
}
