// Scrapes Prometheus /metrics endpoints on their interval, like Prometheus: each target at a stable phase
// within its interval, `job`/`instance` (and `service`, target labels) added to every sample, and the
// synthetic up, scrape_duration_seconds and scrape_samples_scraped series written every time.
import type { Logger } from 'pino';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import type { ScrapeTarget } from '../config/metrics.schema.js';
import type { IngestSample, Labels } from './series.js';
import { parseExposition } from './exposition-parser.js';

export const SCRAPE_ACCEPT = 'text/plain;version=0.0.4';
const USER_AGENT = 'opsbook-scraper/0.1';
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MAX_REDIRECTS = 5;

/** Where scraped samples go (the metric store). */
export interface SampleSink {
  ingest(samples: IngestSample[]): unknown;
}

export interface ScraperOptions {
  sink: SampleSink;
  logger: Logger;
  now?(): number;
  maxBodyBytes?: number;
}

export type TargetHealthState = 'up' | 'down' | 'unknown';

export interface TargetHealth {
  job: string;
  url: string;
  instance: string;
  service: string | null;
  labels: Labels;
  intervalMs: number;
  timeoutMs: number;
  health: TargetHealthState;
  /** Start of the last completed scrape, epoch ms. */
  lastScrape: number | null;
  /** Why the last scrape failed, or the malformed lines it skipped; null when clean. */
  lastError: string | null;
  durationMs: number | null;
  /** Samples the last scrape returned. */
  samples: number | null;
}

export interface ScraperApplySummary {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

interface Live {
  key: string;
  target: ScrapeTarget;
  spec: string;
  /** job, instance, service and the configured labels. */
  labels: Labels;
  health: TargetHealth;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  controller: AbortController | undefined;
  removed: boolean;
}

class ScrapeTimeout extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

export class Scraper {
  private readonly live = new Map<string, Live>();
  private readonly now: () => number;
  private readonly agent = new Agent({ keepAliveTimeout: 60_000 });
  private readonly dispatcher: Dispatcher;
  private started = false;

  constructor(private readonly options: ScraperOptions) {
    this.now = options.now ?? Date.now;
    this.dispatcher = this.agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  }

  /** Makes the scraped targets match the config; unchanged targets keep their schedule and health. */
  apply(targets: readonly ScrapeTarget[]): ScraperApplySummary {
    const summary: ScraperApplySummary = { added: [], changed: [], removed: [], unchanged: 0 };
    const next = new Map(targets.map((t) => [targetKey(t), t]));
    for (const [key, live] of this.live) {
      if (next.has(key)) continue;
      this.retire(live);
      summary.removed.push(key);
    }
    for (const [key, target] of next) {
      const spec = JSON.stringify([
        target.interval,
        target.timeout,
        target.service ?? null,
        sorted(target.labels),
      ]);
      const current = this.live.get(key);
      if (current && current.spec === spec) {
        summary.unchanged++;
        continue;
      }
      if (current) {
        this.retire(current);
        summary.changed.push(key);
      } else summary.added.push(key);
      const live = newLive(key, target, spec);
      this.live.set(key, live);
      if (this.started) this.schedule(live);
    }
    return summary;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const live of this.live.values()) this.schedule(live);
  }

  /** Stops scheduling, aborts in-flight scrapes and waits for them to return; final. */
  async stop(): Promise<void> {
    this.started = false;
    const running: Promise<void>[] = [];
    for (const live of this.live.values()) {
      clearTimeout(live.timer);
      live.timer = undefined;
      live.controller?.abort(new Error('scraper stopped'));
      if (live.running) running.push(live.running);
    }
    await Promise.allSettled(running);
    await this.agent.close().catch(() => {});
  }

  /** Health of every target, in config order. */
  targets(): TargetHealth[] {
    return [...this.live.values()].map((l) => ({ ...l.health, labels: { ...l.health.labels } }));
  }

  /** Scrapes every target once now (waits for runs already in flight instead of starting another). */
  async scrapeAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((live) => this.run(live)));
  }

  private schedule(live: Live): void {
    const interval = live.target.interval;
    // Prometheus-style: a stable offset within the interval from the target's identity, anchored to
    // the epoch, so restarts keep each target's phase and targets spread over the interval.
    const offset = phase(live.key, interval);
    const now = this.now();
    let due = Math.floor((now - offset) / interval) * interval + offset;
    if (due <= now) due += interval;
    const tick = () => {
      if (!this.started || live.removed) return;
      if (live.running)
        this.options.logger.warn(
          { job: live.target.job, url: live.target.url },
          'previous scrape still running; skipped',
        );
      else void this.run(live);
      const at = this.now();
      due += interval;
      // When far behind (a suspended laptop), skip the missed slots rather than bursting.
      if (due <= at) due += Math.ceil((at - due + 1) / interval) * interval;
      live.timer = setTimeout(tick, due - at).unref();
    };
    live.timer = setTimeout(tick, due - now).unref();
  }

  private run(live: Live): Promise<void> {
    if (live.running) return live.running;
    const running = this.scrape(live).finally(() => {
      live.running = undefined;
      live.controller = undefined;
    });
    live.running = running;
    return running;
  }

  private async scrape(live: Live): Promise<void> {
    const { target } = live;
    const controller = new AbortController();
    live.controller = controller;
    const timeoutMs = Math.min(target.timeout, target.interval);
    const timer = setTimeout(() => controller.abort(new ScrapeTimeout(timeoutMs)), timeoutMs);
    const startedAt = this.now();
    const clock = performance.now();
    let samples: IngestSample[] = [];
    let scraped = 0;
    let error: string | null = null;
    let up = false;
    try {
      const text = await this.fetch(target, timeoutMs, controller.signal);
      const parsed = parseExposition(text);
      if (parsed.samples.length === 0 && parsed.errors.length > 0) {
        const first = parsed.errors[0]!;
        throw new Error(`not the Prometheus text format: line ${first.line}: ${first.message}`);
      }
      scraped = parsed.samples.length;
      samples = parsed.samples.map((s) => ({
        name: s.name,
        labels: withTargetLabels(s.labels, live.labels),
        value: s.value,
        t: s.timestamp ?? startedAt,
      }));
      up = true;
      if (parsed.errors.length > 0) {
        const first = parsed.errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
        error = `${parsed.errors.length} malformed line${parsed.errors.length === 1 ? '' : 's'} skipped; ${first.join('; ')}`;
      }
    } catch (caught) {
      // Cancelled by stop() or a reload: says nothing about the target.
      if (controller.signal.aborted && !(controller.signal.reason instanceof ScrapeTimeout)) return;
      error =
        controller.signal.reason instanceof ScrapeTimeout
          ? controller.signal.reason.message
          : describe(caught);
    } finally {
      clearTimeout(timer);
    }
    if (live.removed) return;
    const durationMs = performance.now() - clock;
    const synthetic = (name: string, value: number): IngestSample => ({
      name,
      labels: live.labels,
      value,
      t: startedAt,
    });
    samples.push(
      synthetic('up', up ? 1 : 0),
      synthetic('scrape_duration_seconds', durationMs / 1000),
      synthetic('scrape_samples_scraped', scraped),
    );
    try {
      this.options.sink.ingest(samples);
    } catch (caught) {
      error = `could not store the samples: ${describe(caught)}`;
    }
    const health = live.health;
    const wasUp = health.health;
    health.health = up ? 'up' : 'down';
    health.lastScrape = startedAt;
    health.lastError = error;
    health.durationMs = Math.round(durationMs * 10) / 10;
    health.samples = scraped;
    if (wasUp !== health.health && !(wasUp === 'unknown' && up))
      this.options.logger[up ? 'info' : 'warn'](
        { job: target.job, url: target.url, error },
        up ? 'scrape target is up' : 'scrape target is down',
      );
  }

  private async fetch(target: ScrapeTarget, timeoutMs: number, signal: AbortSignal): Promise<string> {
    const response = await request(target.url, {
      method: 'GET',
      dispatcher: this.dispatcher,
      signal,
      headers: {
        accept: SCRAPE_ACCEPT,
        'user-agent': USER_AGENT,
        'x-prometheus-scrape-timeout-seconds': String(timeoutMs / 1000),
      },
    });
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => {});
      throw new Error(`HTTP ${response.statusCode}`);
    }
    const limit = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        response.body.destroy();
        throw new Error(`body larger than ${limit} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private retire(live: Live): void {
    live.removed = true;
    clearTimeout(live.timer);
    live.controller?.abort(new Error('target removed'));
    this.live.delete(live.key);
  }
}

function newLive(key: string, target: ScrapeTarget, spec: string): Live {
  const labels = targetLabels(target);
  return {
    key,
    target,
    spec,
    labels,
    timer: undefined,
    running: undefined,
    controller: undefined,
    removed: false,
    health: {
      job: target.job,
      url: target.url,
      instance: labels.instance!,
      service: target.service ?? null,
      labels: { ...target.labels },
      intervalMs: target.interval,
      timeoutMs: target.timeout,
      health: 'unknown',
      lastScrape: null,
      lastError: null,
      durationMs: null,
      samples: null,
    },
  };
}

/** A target is its job and URL, as Prometheus identifies targets by job and address. */
export function targetKey(target: Pick<ScrapeTarget, 'job' | 'url'>): string {
  return `${target.job} ${target.url}`;
}

/** host:port of the URL, with the scheme's default port when none is written (as Prometheus). */
export function instanceOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.port) return parsed.host;
  return `${parsed.host}:${parsed.protocol === 'https:' ? 443 : 80}`;
}

function targetLabels(target: ScrapeTarget): Labels {
  return {
    ...target.labels,
    ...(target.service !== undefined && { service: target.service }),
    job: target.job,
    instance: instanceOf(target.url),
  };
}

/**
 * Target labels win over scraped ones; a scraped label they clash with is kept as exported_<name>
 * (Prometheus' honor_labels: false). Labels starting with __ are dropped, as after relabelling.
 */
export function withTargetLabels(scraped: Labels, target: Labels): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(scraped)) {
    if (name.startsWith('__')) continue;
    if (name in target) {
      if (value !== '') out[`exported_${name}`] = value;
    } else out[name] = value;
  }
  return Object.assign(out, target);
}

/** A stable offset in [0, interval) from the target's identity (FNV-1a). */
export function phase(key: string, interval: number): number {
  let hash = 2166136261;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  return (hash >>> 0) % interval;
}

function sorted(labels: Labels): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = (error as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  const message = cause instanceof Error && cause.message ? cause.message : error.message;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
