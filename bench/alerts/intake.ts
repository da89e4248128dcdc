// Scenario "intake" helpers: the alert batches (prepared once, the same bytes for every target), a
// bounded-concurrency POST loop with undici, and how each target is counted afterwards.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { percentiles, round, type Percentiles } from '../lib/measure.js';
import { benchAuth } from '../lib/auth.js';

export interface BatchOptions {
  batches: number;
  size: number;
  /** Distinguishes label sets of separate batch families (warm-up vs measured). */
  prefix: string;
  now: number;
}

export interface Batches {
  bodies: Buffer[];
  alerts: number;
  bytes: number;
  /** Label sets per severity, to compare what each target says is suppressed. */
  severities: Record<string, number>;
}

/** How many services the alerts spread over, and how often an alert is critical (1 in N). */
const SERVICES = 1_000;
const CRITICAL_EVERY = 50;
const ALERTNAMES = 20;

/**
 * Prometheus-shaped alerts (what Prometheus POSTs to Alertmanager's /api/v2/alerts), each with a distinct
 * label set: alertname (20 names), service (1,000), instance (unique), job, severity (1 in 50 critical,
 * 1 in 5 info, the rest warning), two annotations, startsAt now, endsAt now + 15 min (Prometheus always
 * sends an endsAt; 15 min outlasts the run), and a generator URL.
 */
export function makeBatches(options: BatchOptions): Batches {
  const startsAt = new Date(options.now).toISOString();
  const endsAt = new Date(options.now + 15 * 60_000).toISOString();
  const bodies: Buffer[] = [];
  const severities: Record<string, number> = {};
  let bytes = 0;
  for (let b = 0; b < options.batches; b++) {
    const alerts = [];
    for (let k = 0; k < options.size; k++) {
      const g = b * options.size + k;
      const alertname = `${options.prefix}Alert${g % ALERTNAMES}`;
      const service = `svc-${Math.floor(g / 20) % SERVICES}`;
      const severity = g % CRITICAL_EVERY === 0 ? 'critical' : g % 5 === 1 ? 'info' : 'warning';
      severities[severity] = (severities[severity] ?? 0) + 1;
      const instance = `${options.prefix.toLowerCase()}-host-${g}:9100`;
      alerts.push({
        labels: { alertname, service, instance, job: 'node', severity },
        annotations: {
          summary: `${alertname} on ${instance}`,
          description: `Generated alert ${g} of service ${service} for the intake benchmark.`,
        },
        startsAt,
        endsAt,
        generatorURL: `http://prometheus.bench:9090/graph?g0.expr=up%7Binstance%3D%22${g}%22%7D&g0.tab=1`,
      });
    }
    const body = Buffer.from(JSON.stringify(alerts));
    bytes += body.length;
    bodies.push(body);
  }
  return { bodies, alerts: options.batches * options.size, bytes, severities };
}

export interface PostResult {
  batches: number;
  alerts: number;
  wallMs: number;
  alertsPerSecond: number;
  requestsPerSecond: number;
  latencyMs: Percentiles;
  errors: number;
  /** The first error (status and body, or the exception). */
  firstError: string | null;
  /** The deadline passed before every batch was sent: the rate counts what completed. */
  timedOut: boolean;
}

/** POSTs every body to url + path with `concurrency` workers on one connection pool; bounded by deadlineMs. */
export async function postBatches(
  origin: string,
  path: string,
  bodies: readonly Buffer[],
  alertsPerBatch: number,
  concurrency: number,
  deadlineMs: number,
): Promise<PostResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | null = null;
  let timedOut = false;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      if (performance.now() - started > deadlineMs) {
        timedOut = true;
        return;
      }
      const body = bodies[next++]!;
      const sent = performance.now();
      try {
        const response = await pool.request({
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', ...benchAuth },
          body,
          headersTimeout: 60_000,
          bodyTimeout: 60_000,
        });
        const text = await response.body.text();
        latencies.push(performance.now() - sent);
        if (response.statusCode === 200) ok++;
        else {
          errors++;
          firstError ??= `HTTP ${response.statusCode}: ${text.slice(0, 200)}`;
        }
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, () => worker()));
  } finally {
    await pool.close().catch(() => {});
  }
  const wallMs = performance.now() - started;
  return {
    batches: ok,
    alerts: ok * alertsPerBatch,
    wallMs: round(wallMs, 0),
    alertsPerSecond: round((ok * alertsPerBatch) / (wallMs / 1000)),
    requestsPerSecond: round(ok / (wallMs / 1000)),
    latencyMs: percentiles(latencies),
    errors,
    firstError,
    timedOut,
  };
}

interface AmAlert {
  status: { state: string };
}

/** Alertmanager's own view: alerts held and how many it reports suppressed (inhibited). */
export async function alertmanagerCounts(url: string): Promise<{ held: number; suppressed: number }> {
  const response = await fetch(`${url}/api/v2/alerts`, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new Error(`GET /api/v2/alerts answered ${response.status}`);
  const alerts = (await response.json()) as AmAlert[];
  return { held: alerts.length, suppressed: alerts.filter((a) => a.status.state === 'suppressed').length };
}

/** Opsbook's own view: alerts held and how many it reports suppressed. */
export async function opsbookCounts(url: string): Promise<{ held: number; suppressed: number }> {
  const total = async (query: string): Promise<number> => {
    const response = await fetch(`${url}/api/v1/alerts?limit=1${query}`, {
      headers: benchAuth,
      signal: AbortSignal.timeout(60_000),
    });
    if (!response.ok) throw new Error(`GET /api/v1/alerts answered ${response.status}`);
    return ((await response.json()) as { total: number }).total;
  };
  return { held: await total(''), suppressed: await total('&silenced=true') };
}
