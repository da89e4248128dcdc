// Scenario "evaluation" helpers: the series and rules of one evaluation cycle, and a timer around the
// cycle's SQLite write (AlertRepository.save) so a cycle splits into PromQL, the write, and the rest.
import type { RuleConfig } from '../../packages/server/src/config/alerting.schema.js';
import { AlertRepository } from '../../packages/server/src/storage/alert.repository.js';
import type { IngestSample } from '../../packages/server/src/telemetry/series.js';

export const METRIC = 'http_requests_total';
export const SCRAPE_MS = 15_000;
export const HISTORY_MS = 10 * 60_000;

/** Series i serves 1 + (i mod 100) requests per second. */
export function ratePerSecond(i: number): number {
  return 1 + (i % 100);
}

export function serviceOf(i: number): string {
  return `s${i}`;
}

/**
 * Counter samples for `series` series every 15 s over the last 10 minutes, in scrape order (every
 * series at one timestamp, then the next timestamp), as scrapes deliver them.
 */
export function* counterSamples(series: number, now: number): Generator<IngestSample[]> {
  const first = now - HISTORY_MS;
  for (let t = first; t <= now; t += SCRAPE_MS) {
    const scrape: IngestSample[] = [];
    for (let i = 0; i < series; i++)
      scrape.push({
        name: METRIC,
        labels: {
          service: serviceOf(i),
          status: i % 10 === 9 ? '500' : '200',
          instance: `10.1.${i >> 8}.${i & 255}:8080`,
          job: 'api',
        },
        value: (ratePerSecond(i) * (t - first)) / 1000,
        t,
      });
    yield scrape;
  }
}

/**
 * Rule i: rate(http_requests_total{service="s<i mod series>"}[5m]) > threshold, the threshold set so
 * `firingPercent` of the rules hold (rates run 1..100/s). One rule in 10 has `for: 10m` (it stays
 * pending); one in 7 is critical, the rest warning; each has a team label and a templated summary.
 */
export function benchRules(count: number, series: number, firingPercent: number) {
  const threshold = 100 - firingPercent + 0.5;
  const rules = [];
  for (let i = 0; i < count; i++)
    rules.push({
      alert: `HighRequestRate_${i}`,
      expr: `rate(${METRIC}{service="${serviceOf(i % series)}"}[5m]) > ${threshold}`,
      for: i % 10 === 5 ? '10m' : '0s',
      severity: i % 7 === 0 ? ('critical' as const) : ('warning' as const),
      labels: { team: `team-${i % 50}` },
      annotations: { summary: '{{ $labels.service }} serves {{ $value | humanize }} requests/s' },
    });
  return { rules, threshold };
}

/** How many of the rules hold: rule i holds when its series' rate exceeds the threshold. */
export function expectedHolding(count: number, series: number, threshold: number) {
  let firing = 0;
  let pending = 0;
  for (let i = 0; i < count; i++) {
    if (ratePerSecond(i % series) <= threshold) continue;
    if (i % 10 === 5) pending++;
    else firing++;
  }
  return { firing, pending };
}

export type BenchRule = ReturnType<typeof benchRules>['rules'][number] & Partial<RuleConfig>;

export interface SaveTimer {
  /** Time spent in AlertRepository.save since the last take(), and how many rows it wrote. */
  take(): { ms: number; calls: number; alertRows: number; historyRows: number };
  restore(): void;
}

/** Wraps AlertRepository.prototype.save (this process only) to time the cycle's database write. */
export function timeSaves(): SaveTimer {
  const original = AlertRepository.prototype.save;
  let ms = 0;
  let calls = 0;
  let alertRows = 0;
  let historyRows = 0;
  AlertRepository.prototype.save = async function (this: AlertRepository, changed, removed, history) {
    const started = performance.now();
    try {
      return await original.call(this, changed, removed, history);
    } finally {
      ms += performance.now() - started;
      calls++;
      alertRows += changed.length;
      historyRows += history.length;
    }
  };
  return {
    take() {
      const out = { ms, calls, alertRows, historyRows };
      ms = 0;
      calls = 0;
      alertRows = 0;
      historyRows = 0;
      return out;
    },
    restore() {
      AlertRepository.prototype.save = original;
    },
  };
}
