// Small measurement helpers: percentiles, CPU and event-loop windows, memory, progress, logging sink.
import {
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type EventLoopUtilization,
} from 'node:perf_hooks';
import pino, { type Logger } from 'pino';

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a sample (sorted in place). */
export function percentiles(values: number[], digits = 1): Percentiles {
  if (values.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  values.sort((a, b) => a - b);
  const at = (p: number): number =>
    values[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))]!;
  const sum = values.reduce((s, v) => s + v, 0);
  return {
    count: values.length,
    p50: round(at(50), digits),
    p95: round(at(95), digits),
    p99: round(at(99), digits),
    max: round(values[values.length - 1]!, digits),
    mean: round(sum / values.length, digits),
  };
}

export interface WindowResult {
  wallMs: number;
  /** CPU of this process as % of one core (can exceed 100 with GC and libuv threads). */
  cpuPercentOfOneCore: number;
  /** Main-thread busy share (event-loop utilization), 0..1. */
  eventLoopUtilization: number;
  /** Event-loop delay: how late a 1 ms sampling timer fired (its interval minus 1 ms), ms. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

const DELAY_RESOLUTION_MS = 1;

/** The histogram holds sampling intervals (ns); what exceeds the resolution is the delay. */
function lateMs(intervalNs: number): number {
  return round(Math.max(0, intervalNs / 1e6 - DELAY_RESOLUTION_MS));
}

/** Measures this process between start and stop(): wall time, CPU, event-loop utilization and delay. */
export function startWindow(): { stop(): WindowResult } {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const elu: EventLoopUtilization = performance.eventLoopUtilization();
  const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  return {
    stop() {
      delay.disable();
      const wallMs = performance.now() - wall;
      const used = process.cpuUsage(cpu);
      const loop = performance.eventLoopUtilization(elu);
      return {
        wallMs: round(wallMs, 0),
        cpuPercentOfOneCore: round(((used.user + used.system) / 1000 / wallMs) * 100),
        eventLoopUtilization: round(loop.utilization, 3),
        eventLoopDelayMs: {
          p50: lateMs(delay.percentile(50)),
          p99: lateMs(delay.percentile(99)),
          max: lateMs(delay.max),
        },
      };
    },
  };
}

export function memory(): { rssMB: number; heapUsedMB: number; heapTotalMB: number } {
  const m = process.memoryUsage();
  const mb = (n: number): number => round(n / 1024 / 1024);
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal) };
}

export interface CountingLogger {
  logger: Logger;
  lines(): number;
  warnings(): number;
  /** The first warning or error message seen, to say what was logged. */
  firstWarning(): string | undefined;
}

/**
 * A real pino logger (serialization cost included) whose output is counted and dropped, so the
 * benchmark's stdout stays one JSON object. Level from BENCH_LOG_LEVEL (default warn).
 */
export function countingLogger(level = process.env.BENCH_LOG_LEVEL ?? 'warn'): CountingLogger {
  let lines = 0;
  let warnings = 0;
  let first: string | undefined;
  const logger = pino(
    { level },
    {
      write(line: string) {
        lines++;
        if (/"level":(40|50|60)/.test(line)) {
          warnings++;
          first ??= (JSON.parse(line) as { msg?: string }).msg;
        }
      },
    },
  );
  return { logger, lines: () => lines, warnings: () => warnings, firstWarning: () => first };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

export interface Interval {
  start: number;
  end: number;
}

/** Records garbage-collection pauses (performance.now() times) until stop(). */
export function recordGc(minMs = 0): { pauses: Interval[]; stop(): void } {
  const pauses: Interval[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if (entry.duration >= minMs)
        pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return { pauses, stop: () => observer.disconnect() };
}

export function overlaps(a: Interval, list: readonly Interval[]): boolean {
  return list.some((b) => a.start < b.end && b.start < a.end);
}
