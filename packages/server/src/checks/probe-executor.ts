// Where scheduled probes run: on the main thread (InlineProbeExecutor) or on a probe thread
// (ThreadProbeExecutor in probe-thread.ts). CheckService sees only this interface and the reports.
import type { ProbeSpec } from '../config/schema.js';
import type { Cancellation } from '../lib/cancellation.js';
import { runProbe } from './probes/index.js';
import type { ProbeOutcome } from './probe.js';
import { PROBE_THREAD_MIN_CHECKS } from '../config/defaults.js';
import { Scheduler, TimeoutError } from './scheduler.js';

export interface ProbeJob {
  id: string;
  probe: ProbeSpec;
  periodMs: number;
  /** Absolute time of the first run. */
  firstDueAt: number;
  timeoutMs: number;
  /** Directory of the config file, for files the probe reads. */
  baseDir: string;
  /** Comes back with each report, so a result of a job replaced meanwhile can be told apart. */
  tag: string;
}

export interface ProbeReport {
  id: string;
  tag: string;
  startedAt: number;
  outcome: ProbeOutcome;
  /** The detail as JSON when it arrived that way (from the probe thread), so it is not encoded twice. */
  detailJson?: string;
}

export interface ProbeExecutorEvents {
  onReport(report: ProbeReport): void;
  /** Actual start minus due time of every run, in ms. */
  onLag(lagMs: number): void;
  /** `count` runs skipped because the previous run of their job was still going; `id` is one of them. */
  onSkip(id: string, count: number): void;
}

export interface ProbeExecutor {
  readonly size: number;
  has(id: string): boolean;
  start(): void;
  /** Adds or replaces a job; a replaced job's in-flight run is cancelled and not reported. */
  schedule(job: ProbeJob): void;
  unschedule(id: string): void;
  /** Cancels in-flight runs (not reported) and resolves once every report made before is delivered. */
  stop(): Promise<void>;
}

/** `scheduler.probeThread`: a thread pays off from a few hundred checks; below that it is memory for nothing. */
export function wantsProbeThread(setting: 'auto' | 'on' | 'off', checks: number): boolean {
  return setting === 'on' || (setting === 'auto' && checks >= PROBE_THREAD_MIN_CHECKS);
}

/** Runs a scheduled job's probe and reports it, unless it was cancelled for a reason other than its timeout. */
export async function runJob(
  job: ProbeJob,
  cancel: Cancellation,
  now: () => number,
  report: (report: ProbeReport) => void,
): Promise<void> {
  const startedAt = now();
  const outcome = await runProbe(job.probe, { cancel, timeoutMs: job.timeoutMs, baseDir: job.baseDir });
  // A run cancelled by shutdown or reload says nothing about the target.
  if (cancel.aborted && !(cancel.reason instanceof TimeoutError)) return;
  report({ id: job.id, tag: job.tag, startedAt, outcome });
}

/** Probes on the main thread: for a handful of checks, and wherever time is simulated (tests). */
export class InlineProbeExecutor implements ProbeExecutor {
  private readonly scheduler: Scheduler;

  constructor(
    concurrency: number,
    private readonly events: ProbeExecutorEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.scheduler = new Scheduler({
      concurrency,
      onStart: (lag) => events.onLag(lag),
      onSkip: (job) => events.onSkip(job.id, 1),
      now,
    });
  }

  get size(): number {
    return this.scheduler.size;
  }

  has(id: string): boolean {
    return this.scheduler.has(id);
  }

  start(): void {
    this.scheduler.start();
  }

  schedule(job: ProbeJob): void {
    this.scheduler.schedule({
      id: job.id,
      periodMs: job.periodMs,
      firstDueAt: job.firstDueAt,
      timeoutMs: job.timeoutMs,
      run: (cancel) => runJob(job, cancel, this.now, (report) => this.events.onReport(report)),
    });
  }

  unschedule(id: string): void {
    this.scheduler.unschedule(id);
  }

  stop(): Promise<void> {
    return this.scheduler.stop();
  }
}
