// Runs every configured check on the scheduler with Kubernetes probe semantics, records each result,
// keeps rollups, and turns threshold crossings into events. Reload applies a new config in place.
import type { Logger } from 'pino';
import type { OpsbookConfig } from '../config/schema.js';
import type { Store } from '../storage/db.js';
import { CheckRepository, type CheckStatusRow } from '../storage/check.repository.js';
import { CheckBatchWriter, type CheckBatch } from '../storage/check-batch.writer.js';
import type { NewEvent } from '../storage/event.repository.js';
import { Cancellation } from '../lib/cancellation.js';
import { RollupAggregator, MINUTE } from '../telemetry/rollup.js';
import { definitionsFromConfig, redactSpec, type CheckDefinition } from './check-definitions.js';
import { runProbe } from './probes/index.js';
import type { ProbeOutcome } from './probe.js';
import {
  InlineProbeExecutor,
  type ProbeExecutor,
  type ProbeExecutorEvents,
  type ProbeReport,
} from './probe-executor.js';
import { ThreadProbeExecutor } from './probe-thread.js';
import { alignedDue, phaseOffset } from './scheduler.js';
import { applyOutcome, initialState, type CheckState, type Transition } from './state-machine.js';

export interface CheckServiceOptions {
  store: Store;
  logger: Logger;
  concurrency: number;
  /** Observers for metrics; kept as callbacks so the domain does not know about Prometheus. */
  onRun?(definition: CheckDefinition, outcome: ProbeOutcome, state: CheckState, at: number): void;
  onLag?(lagMs: number): void;
  onEvent?(event: NewEvent): void;
  /**
   * Probe on a worker thread, so probing never competes with the API and the store for the main
   * thread. Ignored when `now` is given (simulated time lives on the main thread).
   */
  probeThread?: boolean;
  /** How often buffered results are written (ms); 1,000 by default. */
  flushIntervalMs?: number;
  now?(): number;
}

export interface ReloadSummary {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

interface Live {
  definition: CheckDefinition;
  state: CheckState;
  /** When the check (or its gate) became active; initialDelaySeconds counts from here. */
  activatedAt: number;
  /** When its status row was last queued for writing. */
  statusQueuedAt: number;
}

/**
 * A status row whose health, gate and last outcome are unchanged is rewritten at most this often:
 * at a 1 s period that upsert was a third of the store's work. Results are stored on every run.
 */
const STATUS_REFRESH_MS = 5_000;

export class CheckService {
  private readonly scheduler: ProbeExecutor;
  private readonly writer: CheckBatchWriter;
  private readonly repository: CheckRepository;
  private readonly live = new Map<string, Live>();
  private readonly aggregator: RollupAggregator;
  private batch: CheckBatch = emptyBatch();
  private readonly dirty = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private minuteTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private baseDir = process.cwd();
  private readonly now: () => number;
  private stored = new Map<string, CheckStatusRow & { spec_hash: string }>();

  constructor(private readonly options: CheckServiceOptions) {
    this.now = options.now ?? Date.now;
    this.aggregator = new RollupAggregator(this.now());
    this.writer = new CheckBatchWriter(options.store);
    this.repository = new CheckRepository(options.store.db);
    const events: ProbeExecutorEvents = {
      onReport: (report) => this.onReport(report),
      onLag: (lag) => options.onLag?.(lag),
      onSkip: (id, count) => this.noteSkip(id, count),
    };
    this.scheduler =
      options.probeThread && !options.now
        ? new ThreadProbeExecutor(options.concurrency, events, options.logger)
        : new InlineProbeExecutor(options.concurrency, events, this.now);
  }

  private skipped = 0;
  private skipLoggedAt = 0;

  /** Overload skips can be thousands a second; log a summary at most every 10 s. */
  private noteSkip(id: string, count: number): void {
    this.skipped += count;
    const now = this.now();
    if (now - this.skipLoggedAt < 10_000) return;
    this.options.logger.warn(
      { skipped: this.skipped, example: id },
      'checks skipped a period because their previous run was still going (slow targets, or too many checks for the concurrency)',
    );
    this.skipped = 0;
    this.skipLoggedAt = now;
  }

  get checkCount(): number {
    return this.live.size;
  }

  get scheduledCount(): number {
    return this.scheduler.size;
  }

  get rollups(): RollupAggregator {
    return this.aggregator;
  }

  definition(id: string): CheckDefinition | undefined {
    return this.live.get(id)?.definition;
  }

  state(id: string): CheckState | undefined {
    return this.live.get(id)?.state;
  }

  /** Reads stored check states once, so a restart resumes where it stopped. */
  async loadStoredState(): Promise<void> {
    this.stored = await this.repository.loadStatuses();
  }

  start(): void {
    this.scheduler.start();
    // Once a second: each commit rewrites every index page its rows touch, so larger batches share them.
    const interval = this.options.flushIntervalMs ?? 1000;
    this.flushTimer = setInterval(() => void this.flush(), interval);
    this.flushTimer.unref();
    this.minuteTimer = setInterval(() => this.aggregator.closeDue(this.now()), MINUTE / 6);
    this.minuteTimer.unref();
  }

  /** Applies a config: unchanged checks keep their schedule and state, changed ones restart. */
  async apply(config: OpsbookConfig, baseDir: string): Promise<ReloadSummary> {
    this.baseDir = baseDir;
    const now = this.now();
    const definitions = definitionsFromConfig(config, baseDir);
    await this.repository.syncDefinitions(
      config.services.map((s) => ({
        id: s.name,
        owner: s.owner,
        environment: s.environment,
        description: s.description ?? null,
        tags: JSON.stringify(s.tags),
        updated_at: now,
      })),
      definitions.map((d) => ({
        id: d.id,
        service_id: d.serviceId,
        name: d.name,
        kind: d.probe.kind,
        role: d.role,
        target: d.target,
        description: d.description ?? null,
        spec: JSON.stringify(redactSpec(d.probe)),
        timing: JSON.stringify(d.timing),
        spec_hash: d.specHash,
        created_at: now,
        updated_at: now,
      })),
    );

    const summary: ReloadSummary = { added: [], changed: [], removed: [], unchanged: 0 };
    const next = new Set(definitions.map((d) => d.id));
    for (const [id] of this.live) {
      if (next.has(id)) continue;
      this.scheduler.unschedule(id);
      this.aggregator.forget(id);
      this.live.delete(id);
      summary.removed.push(id);
    }
    for (const definition of definitions) {
      const current = this.live.get(definition.id);
      if (current && current.definition.specHash === definition.specHash) {
        current.definition = definition;
        summary.unchanged++;
        continue;
      }
      const stored = this.stored.get(definition.id);
      let state: CheckState;
      if (current) {
        // A changed startup check keeps its "started" gate so running checks are not paused.
        state = { ...initialState(now), started: current.state.started };
        summary.changed.push(definition.id);
      } else if (stored && stored.spec_hash === definition.specHash) {
        state = fromRow(stored);
        summary.unchanged++;
      } else if (stored) {
        // Changed while Opsbook was stopped: fresh state, but a passed startup gate stays passed (as on reload).
        state = { ...initialState(now), started: stored.started === 1 };
        summary.changed.push(definition.id);
      } else {
        state = initialState(now);
        summary.added.push(definition.id);
      }
      this.live.set(definition.id, { definition, state, activatedAt: now, statusQueuedAt: now });
      if (current) this.scheduler.unschedule(definition.id);
      this.markDirty(definition.id);
    }
    this.stored.clear();
    this.reschedule();
    return summary;
  }

  /** Runs one check now without recording it (the CLI's `check run`, runbook steps). */
  async runNow(id: string, signal?: AbortSignal): Promise<ProbeOutcome | undefined> {
    const live = this.live.get(id);
    if (!live) return undefined;
    const timeoutMs = live.definition.timing.timeoutSeconds * 1000;
    const cancel = signal ? Cancellation.fromSignal(signal) : new Cancellation();
    return runProbe(live.definition.probe, { cancel, timeoutMs, baseDir: this.baseDir });
  }

  /**
   * Runs every check of a service at once (a runbook asks "is the service up?"): up only when all are,
   * the message naming the ones that are down. Undefined when the service has no checks.
   */
  async runService(service: string, signal?: AbortSignal): Promise<ProbeOutcome | undefined> {
    const ids = [...this.live.values()]
      .filter((l) => l.definition.serviceId === service)
      .map((l) => l.definition.id);
    if (ids.length === 0) return undefined;
    const outcomes = await Promise.all(
      ids.map(async (id) => [id, (await this.runNow(id, signal))!] as const),
    );
    const down = outcomes.filter(([, o]) => o.status === 'down');
    return {
      status: down.length === 0 ? 'up' : 'down',
      latencyMs: Math.max(...outcomes.map(([, o]) => o.latencyMs)),
      message:
        down.length === 0
          ? `all ${ids.length} checks up`
          : down.map(([id, o]) => `${id}: ${o.message}`).join('; '),
      detail: { checks: Object.fromEntries(outcomes) },
    };
  }

  /** Stops probing (in-flight probes are cancelled) and writes everything buffered. */
  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.minuteTimer);
    await this.scheduler.stop();
    // Every status goes out as it is now, including those refreshed less often while running.
    for (const id of this.live.keys()) this.markDirty(id);
    // The open minute is not stored: the next start rebuilds it from the raw results.
    await this.flush();
  }

  /** Writes buffered results, states, rollups and events; one write at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const closed = this.aggregator.takeClosed();
      const batch = this.batch;
      batch.minutes.push(...closed.minutes);
      batch.hours.push(...closed.hours);
      batch.statuses = [...this.dirty].flatMap((id) => {
        const live = this.live.get(id);
        return live ? [toRow(id, live.state)] : [];
      });
      this.dirty.clear();
      this.batch = emptyBatch();
      if (isEmpty(batch)) return;
      try {
        await this.writer.write(batch);
        this.aggregator.markSaved(batch.minutes);
      } catch (error) {
        this.options.logger.error({ err: error }, 'could not write check results; will retry');
        this.requeue(batch);
      }
    });
    return this.flushing;
  }

  private requeue(batch: CheckBatch): void {
    // Keep what failed for the next flush, but bound memory if the store stays down.
    const keep = 200_000;
    this.batch.results = [...batch.results, ...this.batch.results].slice(-keep);
    this.batch.minutes = [...batch.minutes, ...this.batch.minutes];
    this.batch.hours = [...batch.hours, ...this.batch.hours];
    this.batch.events = [...batch.events, ...this.batch.events].slice(-keep);
    for (const row of batch.statuses) this.dirty.add(row.check_id);
  }

  private markDirty(id: string): void {
    this.dirty.add(id);
  }

  /** Schedules what should run: startup checks first, the rest once their service has started. */
  private reschedule(): void {
    const gates = new Map<string, boolean>();
    for (const live of this.live.values()) {
      if (live.definition.role !== 'startup') continue;
      const open = gates.get(live.definition.serviceId) ?? true;
      gates.set(live.definition.serviceId, open && live.state.started);
    }
    for (const live of this.live.values()) {
      const { definition } = live;
      const shouldRun =
        definition.role === 'startup' ? !live.state.started : (gates.get(definition.serviceId) ?? true);
      if (shouldRun && !this.scheduler.has(definition.id)) this.scheduleLive(live);
      if (!shouldRun && this.scheduler.has(definition.id)) this.scheduler.unschedule(definition.id);
    }
  }

  private scheduleLive(live: Live): void {
    const { definition } = live;
    const periodMs = definition.timing.periodSeconds * 1000;
    const now = this.now();
    // initialDelaySeconds applies to checks with no known state; resumed ones only keep their phase.
    const delay = live.state.lastRunAt === null ? definition.timing.initialDelaySeconds * 1000 : 0;
    const firstDueAt = alignedDue(
      Math.max(now, live.activatedAt + delay),
      periodMs,
      phaseOffset(definition.id, periodMs),
    );
    this.scheduler.schedule({
      id: definition.id,
      probe: definition.probe,
      periodMs,
      firstDueAt,
      timeoutMs: definition.timing.timeoutSeconds * 1000,
      baseDir: this.baseDir,
      tag: definition.specHash,
    });
  }

  private onReport(report: ProbeReport): void {
    const live = this.live.get(report.id);
    // A result of a check changed or removed since the run started says nothing about the new one.
    if (!live || live.definition.specHash !== report.tag) return;
    this.record(live, report.startedAt, report.outcome, report.detailJson);
  }

  private record(live: Live, at: number, outcome: ProbeOutcome, detailJson?: string): void {
    const { definition } = live;
    const before = live.state;
    const { state, transition } = applyOutcome(before, outcome, definition.timing, at);
    live.state = state;
    if (
      transition ||
      state.lastStatus !== before.lastStatus ||
      state.started !== before.started ||
      at - live.statusQueuedAt >= STATUS_REFRESH_MS
    ) {
      live.statusQueuedAt = at;
      this.markDirty(definition.id);
    }
    this.batch.results.push({
      check_id: definition.id,
      started_at: at,
      status: outcome.status,
      latency_ms: outcome.latencyMs,
      message: outcome.message,
      detail: detailJson ?? JSON.stringify(outcome.detail),
    });
    this.aggregator.add(definition.id, at, outcome.status === 'up', outcome.latencyMs);
    this.options.onRun?.(definition, outcome, state, at);
    if (transition) this.onTransition(live, transition, outcome, at);
    if (this.batch.results.length >= 20000) void this.flush();
  }

  private onTransition(live: Live, transition: Transition, outcome: ProbeOutcome, at: number): void {
    const { definition } = live;
    const event: NewEvent = {
      at,
      kind: 'check.transition',
      severity: transition.to === 'unhealthy' ? 'error' : 'info',
      service_id: definition.serviceId,
      check_id: definition.id,
      message: `${definition.role} check ${definition.id} is ${transition.to} (was ${transition.from}): ${transition.reason}`,
      data: JSON.stringify({
        ...transition,
        role: definition.role,
        latencyMs: outcome.latencyMs,
        detail: outcome.detail,
      }),
    };
    this.batch.events.push(event);
    this.options.onEvent?.(event);
    const level = transition.to === 'unhealthy' ? 'warn' : 'info';
    this.options.logger[level](
      { check: definition.id, from: transition.from, to: transition.to },
      transition.reason,
    );
    if (definition.role === 'startup' && transition.to === 'healthy') {
      // Kubernetes stops a startup probe once it succeeds and starts the other probes.
      for (const other of this.live.values()) {
        if (other.definition.serviceId === definition.serviceId && other.definition.role !== 'startup')
          other.activatedAt = at;
      }
      this.reschedule();
    }
  }
}

function emptyBatch(): CheckBatch {
  return { results: [], statuses: [], minutes: [], hours: [], events: [] };
}

function isEmpty(batch: CheckBatch): boolean {
  return (
    batch.results.length +
      batch.statuses.length +
      batch.minutes.length +
      batch.hours.length +
      batch.events.length ===
    0
  );
}

function toRow(checkId: string, state: CheckState): CheckStatusRow {
  return {
    check_id: checkId,
    status: state.status,
    since: state.since,
    consecutive_successes: state.consecutiveSuccesses,
    consecutive_failures: state.consecutiveFailures,
    started: state.started ? 1 : 0,
    last_run_at: state.lastRunAt,
    last_status: state.lastStatus,
    last_latency_ms: state.lastLatencyMs,
    last_message: state.lastMessage,
  };
}

function fromRow(row: CheckStatusRow): CheckState {
  return {
    status: row.status as CheckState['status'],
    since: row.since,
    consecutiveSuccesses: row.consecutive_successes,
    consecutiveFailures: row.consecutive_failures,
    started: row.started === 1,
    lastRunAt: row.last_run_at,
    lastStatus: row.last_status as CheckState['lastStatus'],
    lastLatencyMs: row.last_latency_ms,
    lastMessage: row.last_message,
  };
}
