// One timer for every check: a min-heap of due times. Runs at a fixed rate (due + period, like the
// kubelet's ticker), bounded concurrency, never two runs of one job at once, and measures lag.

import { Cancellation } from '../lib/cancellation.js';
import { MinHeap } from '../lib/min-heap.js';

export interface Job {
  id: string;
  periodMs: number;
  /** Absolute time of the first run. */
  firstDueAt: number;
  timeoutMs: number;
  /** `cancel` aborts with a TimeoutError at timeoutMs, or on unschedule and stop. */
  run(cancel: Cancellation, dueAt: number): Promise<void>;
}

export interface SchedulerOptions {
  concurrency: number;
  /** Called with the lag (actual start minus due time) of every run, in ms. */
  onStart?(lagMs: number, job: Job): void;
  /** Called when a run is skipped because the previous run of the same job is still going. */
  onSkip?(job: Job): void;
  now?(): number;
}

interface Entry {
  due: number;
  job: Job;
  generation: number;
}

export class Scheduler {
  private readonly heap = new MinHeap<Entry>((e) => e.due);
  private readonly jobs = new Map<string, { job: Job; generation: number }>();
  private readonly running = new Map<string, Cancellation>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private generation = 0;
  private stopped = true;
  private readonly now: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.jobs.size;
  }

  get activeRuns(): number {
    return this.running.size;
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Adds or replaces a job; a replaced job's in-flight run is aborted. */
  schedule(job: Job): void {
    this.unschedule(job.id);
    const generation = ++this.generation;
    this.jobs.set(job.id, { job, generation });
    this.heap.push({ due: job.firstDueAt, job, generation });
    this.arm();
  }

  unschedule(id: string): void {
    if (!this.jobs.delete(id)) return;
    this.running.get(id)?.abort(new Error('cancelled'));
    // Heap entries of removed jobs are dropped lazily when they surface (generation mismatch).
  }

  /** Stops scheduling and aborts every in-flight run; resolves when they have all returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const cancel of this.running.values()) cancel.abort(new Error('cancelled: shutting down'));
    await Promise.allSettled([...this.inFlight]);
  }

  /** Wakes at the next due time, unless every slot is taken: then the next finishing run drains. */
  private arm(): void {
    if (this.stopped || this.running.size >= this.options.concurrency) return;
    const next = this.heap.peek();
    if (!next) return;
    if (this.timer && next.due >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next.due;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next.due - this.now()));
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.drain();
  }

  /**
   * Starts due runs, earliest due first, while slots are free. Runs that are due but have no slot stay
   * in the heap (no queue beside it), so under overload each run still costs one pop and one push.
   */
  private drain(): void {
    const now = this.now();
    while (!this.stopped && this.running.size < this.options.concurrency) {
      const entry = this.heap.peek();
      if (!entry || entry.due > now) break;
      this.heap.pop();
      const current = this.jobs.get(entry.job.id);
      if (!current || current.generation !== entry.generation) continue;
      const { job } = current;
      // Fixed rate; when far behind, skip the missed slots rather than bursting to catch up.
      let nextDue = entry.due + job.periodMs;
      if (nextDue <= now) {
        const missed = Math.ceil((now - nextDue + 1) / job.periodMs);
        nextDue += missed * job.periodMs;
        for (let i = 0; i < missed; i++) this.options.onSkip?.(job);
      }
      this.heap.push({ due: nextDue, job, generation: entry.generation });
      if (this.running.has(job.id)) {
        this.options.onSkip?.(job);
        continue;
      }
      this.launch(entry);
    }
    this.arm();
  }

  private launch(entry: Entry): void {
    const { job } = entry;
    const cancel = new Cancellation();
    this.running.set(job.id, cancel);
    const timeout = setTimeout(() => cancel.abort(new TimeoutError(job.timeoutMs)), job.timeoutMs);
    this.options.onStart?.(this.now() - entry.due, job);
    const run = this.execute(job, entry.due, cancel, timeout);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async execute(job: Job, due: number, cancel: Cancellation, timeout: NodeJS.Timeout): Promise<void> {
    try {
      await job.run(cancel, due);
    } catch {
      // A job reports its own failures; nothing may escape into the scheduler loop.
    } finally {
      clearTimeout(timeout);
      if (this.running.get(job.id) === cancel) this.running.delete(job.id);
      this.drain();
    }
  }
}

export class TimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Spreads first runs over the period by a stable hash of the id. */
export function phaseOffset(id: string, periodMs: number): number {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619);
  return (hash >>> 0) % periodMs;
}

/** The first time at or after `base` in the check's phase, so a restart keeps each check's slot in the period. */
export function alignedDue(base: number, periodMs: number, offset: number): number {
  const slot = Math.ceil((base - offset) / periodMs) * periodMs + offset;
  return slot < base ? slot + periodMs : slot;
}
