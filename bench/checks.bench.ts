// npm run bench:checks — Opsbook's check scheduler against its goal:
//   10,000 HTTP checks at a 10 s period (1,000 probes/s) on this machine with p99 schedule lag under
//   100 ms and at least 0.7 of the floor's rate (the same request load from a bare undici loop);
//   GET /api/v1/checks for 10,000 checks under 200 ms.
// Prints one JSON object on stdout; progress goes to stderr. See docs/benchmarks.md.
//
// Scenarios (all on loopback; HTTP targets run in a child process, bench/lib/targets.ts):
//   A "target":     CheckService + SQLite, N checks every 10 s: rate, schedule lag, CPU, memory,
//                   persistence, and what late runs waited behind.
//   B "saturation": a bare undici closed loop vs CheckService with N, 3N and 4N checks every 1 s, same
//                   targets and concurrency: requests/s each, CPU per request, and the ratio.
//                   CheckService probes on its own thread as Opsbook does at this size
//                   (BENCH_PROBE_THREAD=0: on the main thread).
//   C "api":        the full Opsbook (runtime/opsbook.ts) with N checks; GET /api/v1/checks timings.
//   Opt-in (BENCH_ONLY): "breakdown" adds the layers between the floor and CheckService (runProbe
//   alone, Scheduler + runProbe); "hour" runs across a minute boundary and the first hour boundary
//   after a start (CheckService's clock is shifted).
//
// Environment (defaults): BENCH_CHECKS (10000), BENCH_SECONDS (30), BENCH_WARMUP_SECONDS (10, one
// period), BENCH_SAT_SECONDS (10), BENCH_SAT_CHECKS (comma list; N,3N,4N), BENCH_CONCURRENCY (64, for B),
// BENCH_API_RUNS (20), BENCH_LOG_LEVEL (warn), BENCH_ONLY (target,saturation,api), BENCH_PROBE_THREAD (1),
// BENCH_CPU_PROF (a directory: CPU profiles of the measured windows, main thread).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, arch, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { CheckService } from '../packages/server/src/checks/check.service.js';
import {
  definitionsFromConfig,
  type CheckDefinition,
} from '../packages/server/src/checks/check-definitions.js';
import { runProbe } from '../packages/server/src/checks/probes/index.js';
import { phaseOffset, Scheduler } from '../packages/server/src/checks/scheduler.js';
import { Cancellation } from '../packages/server/src/lib/cancellation.js';
import { formatDiagnostic, loadConfigText } from '../packages/server/src/config/load.js';
import type { OpsbookConfig } from '../packages/server/src/config/schema.js';
import { DEFAULT_CONCURRENCY } from '../packages/server/src/config/defaults.js';
import { openStore, type Store } from '../packages/server/src/storage/db.js';
import { migrate } from '../packages/server/src/storage/migrate.js';
import { Opsbook } from '../packages/server/src/runtime/opsbook.js';
import { checksConfigYaml } from './lib/config.js';
import {
  countingLogger,
  envNumber,
  memory,
  percentiles,
  progress,
  round,
  sleep,
  startWindow,
  type Percentiles,
  type WindowResult,
  type Interval,
  overlaps,
  recordGc,
} from './lib/measure.js';
import { startTargets, type TargetProcess } from './lib/target-process.js';
import { benchAuth, benchOpsbookEnv } from './lib/auth.js';

const CHECKS = Math.round(envNumber('BENCH_CHECKS', 10_000));
/**
 * Check counts for scenario B's Opsbook runs (every 1 s, so demand = checks per second). The ratio can
 * never exceed demand / floor: 10,000 checks (10,000/s) cap it near 0.27 on a machine whose floor is
 * ~35,000/s. So B also runs 3 × BENCH_CHECKS (near capacity) and 4 × (a demand above the floor, where
 * overload costs show); the verdict uses the best rate.
 */
const SAT_CHECK_COUNTS = (process.env.BENCH_SAT_CHECKS ?? `${CHECKS},${3 * CHECKS},${4 * CHECKS}`)
  .split(',')
  .map((value) => {
    const n = Math.round(Number(value));
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`BENCH_SAT_CHECKS must be a comma list of positive numbers, got "${value}"`);
    return n;
  });
const SECONDS = envNumber('BENCH_SECONDS', 30);
const PERIOD_SECONDS = 10;
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', PERIOD_SECONDS);
const SAT_SECONDS = envNumber('BENCH_SAT_SECONDS', 10);
const SAT_WARMUP_SECONDS = 3;
/** Probes on a worker thread, as Opsbook does from PROBE_THREAD_MIN_CHECKS checks; BENCH_PROBE_THREAD=0 keeps them inline. */
const PROBE_THREAD = process.env.BENCH_PROBE_THREAD !== '0';
const CONCURRENCY = Math.round(envNumber('BENCH_CONCURRENCY', 64));
const API_RUNS = Math.round(envNumber('BENCH_API_RUNS', 20));
const TARGET_SERVERS = 4;
const USER_AGENT = 'opsbook-probe/0.1';
/** Scenario C: every 100th check probes a path answering 503, so status=unhealthy has matches. */
const FAIL_EVERY = 100;
const SCENARIOS = ['target', 'saturation', 'api', 'breakdown', 'hour'] as const;
/** BENCH_ONLY=api (or a comma list) runs a subset, e.g. for profiling one scenario; breakdown and hour are opt-in. */
const ONLY = new Set<string>(
  (process.env.BENCH_ONLY ?? 'target,saturation,api').split(',').map((s) => s.trim()),
);
for (const name of ONLY)
  if (!(SCENARIOS as readonly string[]).includes(name))
    throw new Error(`BENCH_ONLY: unknown scenario "${name}"; use ${SCENARIOS.join(', ')}`);
if (ONLY.has('breakdown')) ONLY.add('saturation');

const GOAL = {
  checks: 10_000,
  periodSeconds: PERIOD_SECONDS,
  probesPerSecond: 10_000 / PERIOD_SECONDS,
  lagP99MsUnder: 100,
  minRatioToFloor: 0.7,
  apiMsUnder: 200,
};

/** Hard stop for the whole run: everything below is bounded, this catches what is not. */
const BUDGET_MS =
  (WARMUP_SECONDS + SECONDS + (3 + SAT_CHECK_COUNTS.length) * (SAT_SECONDS + SAT_WARMUP_SECONDS) + 100) *
    1000 +
  240_000;

async function countResults(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('check_results')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function openBenchStore(dir: string, name: string): Promise<{ store: Store; url: string }> {
  const url = `sqlite:${join(dir, `${name}.db`)}`;
  const store = await openStore({ url });
  await migrate(store);
  return { store, url };
}

function loadConfig(yaml: string, file: string): { config: OpsbookConfig; loadMs: number } {
  const started = performance.now();
  const loaded = loadConfigText(yaml, file, {});
  if (!loaded.ok)
    throw new Error(
      `generated config is invalid:\n${loaded.diagnostics.slice(0, 5).map(formatDiagnostic).join('\n')}`,
    );
  return { config: loaded.config, loadMs: round(performance.now() - started, 0) };
}

async function withTargetsCpu<T>(
  targets: TargetProcess,
  body: () => Promise<T>,
): Promise<{ result: T; targetsCpuPercent: number }> {
  const before = await targets.usage();
  const started = performance.now();
  const result = await body();
  const wallMs = performance.now() - started;
  const after = await targets.usage();
  return { result, targetsCpuPercent: round(((after.cpuMicros - before.cpuMicros) / 1000 / wallMs) * 100) };
}

// ---------------------------------------------------------------------------------------------
// Scenario A: N checks at a 10 s period through CheckService with a real SQLite store.

async function scenarioTarget(dir: string, targets: TargetProcess) {
  progress(
    `A: ${CHECKS} checks every ${PERIOD_SECONDS} s; warm-up ${WARMUP_SECONDS} s, measure ${SECONDS} s`,
  );
  const { store, url } = await openBenchStore(dir, 'target');
  const yaml = checksConfigYaml({
    checks: CHECKS,
    ports: targets.ports,
    periodSeconds: PERIOD_SECONDS,
    timeoutSeconds: 5,
    storageUrl: url,
  });
  const { config, loadMs } = loadConfig(yaml, join(dir, 'target.yaml'));
  const log = countingLogger();

  let runs = 0;
  let measuring = false;
  let measuredRuns = 0;
  let measuredDown = 0;
  const lags: number[] = [];
  /** Runs that started 20 ms or more late: when they were due and when they started. */
  const lateRuns: Interval[] = [];
  const slowFlushes: Interval[] = [];
  const concurrency = config.scheduler.concurrency;
  const service = new CheckService({
    store,
    logger: log.logger,
    concurrency,
    probeThread: PROBE_THREAD,
    onRun: (_definition, outcome) => {
      runs++;
      if (!measuring) return;
      measuredRuns++;
      if (outcome.status !== 'up') measuredDown++;
    },
    onLag: (lag) => {
      if (!measuring) return;
      lags.push(lag);
      if (lag >= 20) {
        const now = performance.now();
        lateRuns.push({ start: now - lag, end: now });
      }
    },
  });
  // Time every flush and every rollup sweep: their timers call this.flush() and
  // this.aggregator.closeDue(), so the instance properties set here are what run.
  const flushMs: number[] = [];
  const flush = service.flush.bind(service);
  service.flush = () => {
    const started = performance.now();
    const done = flush();
    void done.then(() => {
      if (!measuring) return;
      const ended = performance.now();
      flushMs.push(ended - started);
      if (ended - started >= 5) slowFlushes.push({ start: started, end: ended });
    });
    return done;
  };
  const slowSweeps: Interval[] = [];
  const aggregator = service.rollups;
  const closeDue = aggregator.closeDue.bind(aggregator);
  aggregator.closeDue = (now) => {
    const started = performance.now();
    closeDue(now);
    const ended = performance.now();
    if (measuring && ended - started >= 5) slowSweeps.push({ start: started, end: ended });
  };

  try {
    await service.loadStoredState();
    const applyStarted = performance.now();
    await service.apply(config, dir);
    const applyMs = round(performance.now() - applyStarted, 0);
    service.start();
    progress(`A: config loaded in ${loadMs} ms, applied in ${applyMs} ms; warming up`);
    await sleep(WARMUP_SECONDS * 1000);

    progress('A: measuring');
    const gc = recordGc(5);
    const { result: window, targetsCpuPercent } = await withTargetsCpu(targets, async () => {
      measuring = true;
      const w = startWindow();
      await sleep(SECONDS * 1000);
      measuring = false;
      return w.stop();
    });
    gc.stop();
    const mem = memory();
    const blockers = { flush: slowFlushes, gcPause: gc.pauses, rollupSweep: slowSweeps };
    const behind = (intervals: Interval[]): number =>
      lateRuns.filter((run) => overlaps(run, intervals)).length;
    const longest = (intervals: Interval[]): number =>
      round(Math.max(0, ...intervals.map((i) => i.end - i.start)));
    const storedBeforeStop = await countResults(store);
    const runsBeforeStop = runs;
    const stopStarted = performance.now();
    await service.stop();
    const stopMs = round(performance.now() - stopStarted, 0);
    const storedAfterStop = await countResults(store);

    const seconds = window.wallMs / 1000;
    const probesPerSecond = round(measuredRuns / seconds);
    const result = {
      checks: CHECKS,
      periodSeconds: PERIOD_SECONDS,
      concurrency,
      warmupSeconds: WARMUP_SECONDS,
      measuredSeconds: round(seconds),
      demandProbesPerSecond: round(CHECKS / PERIOD_SECONDS),
      probesPerSecond,
      demandMet: probesPerSecond >= 0.98 * (CHECKS / PERIOD_SECONDS),
      probesDown: measuredDown,
      lagMs: percentiles(lags),
      cpuPercentOfOneCore: window.cpuPercentOfOneCore,
      cores: availableParallelism(),
      targetsProcessCpuPercentOfOneCore: targetsCpuPercent,
      eventLoopUtilization: window.eventLoopUtilization,
      eventLoopDelayMs: window.eventLoopDelayMs,
      flushMs: percentiles(flushMs),
      /**
       * What the runs that started 20 ms or more late were waiting behind (blocks of 5 ms or more):
       * a results flush (SQLite write), a GC pause, or the rollup sweep (closeDue, every 10 s).
       */
      lateRuns20ms: {
        count: lateRuns.length,
        behindFlush: behind(blockers.flush),
        behindGcPause: behind(blockers.gcPause),
        behindRollupSweep: behind(blockers.rollupSweep),
        behindNone: lateRuns.filter((run) => !Object.values(blockers).some((list) => overlaps(run, list)))
          .length,
        blocks: {
          flushes: { count: slowFlushes.length, maxMs: longest(slowFlushes) },
          gcPauses: { count: gc.pauses.length, maxMs: longest(gc.pauses) },
          rollupSweeps: { count: slowSweeps.length, maxMs: longest(slowSweeps) },
        },
      },
      memory: mem,
      persistence: {
        runsBeforeStop,
        storedBeforeStop,
        backlogBeforeStop: runsBeforeStop - storedBeforeStop,
        runsTotal: runs,
        storedAfterStop,
        allStored: storedAfterStop === runs,
      },
      setupMs: { configLoad: loadMs, apply: applyMs, stop: stopMs },
      logWarnings: log.warnings(),
    };
    progress(
      `A: ${probesPerSecond} probes/s, lag p99 ${result.lagMs.p99} ms, CPU ${window.cpuPercentOfOneCore}% of a core, ` +
        `stored ${storedAfterStop}/${runs}`,
    );
    return result;
  } finally {
    await service.stop().catch(() => {});
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario B: the floor (bare undici loop) vs CheckService at saturation, same concurrency.
// The opt-in "breakdown" adds the layers in between (runProbe alone, Scheduler + runProbe).

interface Rate {
  requestsPerSecond: number;
  errors: number;
  /** CPU time of this process per completed request (µs). */
  cpuMicrosPerRequest: number;
  cpuPercentOfOneCore: number;
  eventLoopUtilization: number;
  targetsProcessCpuPercentOfOneCore: number;
}

/** BENCH_CPU_PROF=DIR writes a CPU profile of each measured window (only the window) to DIR. */
async function profiled<T>(label: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    const file = join(dir, `checks-${label}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    progress(`CPU profile of ${label}: ${file}`);
    session.disconnect();
  }
}

/** Warms up, then counts completions over SAT_SECONDS with this process's and the targets' CPU. */
async function measureRate(
  targets: TargetProcess,
  counter: { completed: number; errors: number; measuring: boolean },
  label = 'window',
): Promise<Rate & { window: WindowResult }> {
  await sleep(SAT_WARMUP_SECONDS * 1000);
  const { result: window, targetsCpuPercent } = await withTargetsCpu(targets, () =>
    profiled(label, async () => {
      counter.measuring = true;
      const w = startWindow();
      await sleep(SAT_SECONDS * 1000);
      counter.measuring = false;
      return w.stop();
    }),
  );
  const seconds = window.wallMs / 1000;
  const cpuMicros = (window.cpuPercentOfOneCore / 100) * seconds * 1e6;
  return {
    requestsPerSecond: round(counter.completed / seconds),
    errors: counter.errors,
    cpuMicrosPerRequest: round(cpuMicros / Math.max(1, counter.completed)),
    cpuPercentOfOneCore: window.cpuPercentOfOneCore,
    eventLoopUtilization: window.eventLoopUtilization,
    targetsProcessCpuPercentOfOneCore: targetsCpuPercent,
    window,
  };
}

/** Runs `once` from CONCURRENCY workers in a closed loop until stopped; index i picks check i. */
function closedLoop(once: (index: number) => Promise<boolean>) {
  const counter = { completed: 0, errors: 0, measuring: false };
  let next = 0;
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      const index = next++ % CHECKS;
      let ok = false;
      try {
        ok = await once(index);
      } catch {
        ok = false;
      }
      if (counter.measuring) {
        if (ok) counter.completed++;
        else counter.errors++;
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, () => worker());
  return {
    counter,
    async stop() {
      running = false;
      await Promise.race([Promise.allSettled(workers), sleep(10_000)]);
    },
  };
}

function checkUrl(targets: TargetProcess, index: number): string {
  return `http://127.0.0.1:${targets.ports[index % targets.ports.length]}/c/${index}`;
}

async function floorLoop(targets: TargetProcess): Promise<Rate> {
  progress(`B: floor: bare undici loop, concurrency ${CONCURRENCY}, ${SAT_SECONDS} s`);
  const agent = new Agent();
  const urls = Array.from({ length: CHECKS }, (_, i) => checkUrl(targets, i));
  const loop = closedLoop(async (index) => {
    const response = await request(urls[index]!, {
      method: 'GET',
      headers: { 'user-agent': USER_AGENT },
      dispatcher: agent,
    });
    await response.body.dump({ limit: 1024 * 1024 });
    return response.statusCode === 200;
  });
  try {
    const { window: _window, ...rate } = await measureRate(targets, loop.counter, 'floor');
    progress(`B: floor ${rate.requestsPerSecond} requests/s, ${rate.cpuMicrosPerRequest} µs CPU each`);
    return rate;
  } finally {
    await loop.stop();
    await agent.close().catch(() => {});
  }
}

/** The probe specs exactly as Opsbook runs them (generated YAML through the config loader). */
function probeSpecs(dir: string, targets: TargetProcess, periodSeconds: number): CheckDefinition[] {
  const yaml = checksConfigYaml({
    checks: CHECKS,
    ports: targets.ports,
    periodSeconds,
    timeoutSeconds: 5,
    storageUrl: 'sqlite::memory:',
  });
  return definitionsFromConfig(loadConfig(yaml, join(dir, 'layers.yaml')).config, dir);
}

/** Layer 1: Opsbook's runProbe (http probe, its shared Agent, timeouts and signals) in a closed loop. */
async function probeLoop(dir: string, targets: TargetProcess): Promise<Rate> {
  progress(`breakdown: runProbe closed loop, concurrency ${CONCURRENCY}, ${SAT_SECONDS} s`);
  const definitions = probeSpecs(dir, targets, 1);
  const loop = closedLoop(async (index) => {
    const outcome = await runProbe(definitions[index]!.probe, {
      cancel: new Cancellation(),
      timeoutMs: 5000,
      baseDir: dir,
    });
    return outcome.status === 'up';
  });
  try {
    const { window: _window, ...rate } = await measureRate(targets, loop.counter);
    progress(`breakdown: runProbe ${rate.requestsPerSecond}/s, ${rate.cpuMicrosPerRequest} µs CPU each`);
    return rate;
  } finally {
    await loop.stop();
  }
}

/**
 * Layer 2: Opsbook's Scheduler running runProbe for BENCH_CHECKS checks every 1 s (no state, no store),
 * to compare with the CheckService run of the same size.
 */
async function schedulerLoop(dir: string, targets: TargetProcess): Promise<Rate> {
  progress(
    `breakdown: Scheduler + runProbe, ${CHECKS} jobs every 1 s, concurrency ${CONCURRENCY}, ${SAT_SECONDS} s`,
  );
  const definitions = probeSpecs(dir, targets, 1);
  const counter = { completed: 0, errors: 0, measuring: false };
  const scheduler = new Scheduler({ concurrency: CONCURRENCY });
  const now = Date.now();
  for (const definition of definitions) {
    scheduler.schedule({
      id: definition.id,
      periodMs: 1000,
      firstDueAt: now + phaseOffset(definition.id, 1000),
      timeoutMs: 5000,
      run: async (cancel) => {
        const outcome = await runProbe(definition.probe, { cancel, timeoutMs: 5000, baseDir: dir });
        if (!counter.measuring) return;
        if (outcome.status === 'up') counter.completed++;
        else counter.errors++;
      },
    });
  }
  scheduler.start();
  try {
    const { window: _window, ...rate } = await measureRate(targets, counter);
    progress(`breakdown: Scheduler ${rate.requestsPerSecond}/s, ${rate.cpuMicrosPerRequest} µs CPU each`);
    return rate;
  } finally {
    await scheduler.stop();
  }
}

async function opsbookAtSaturation(dir: string, targets: TargetProcess, checks: number) {
  progress(
    `B: Opsbook: ${checks} checks every 1 s (demand ${checks}/s), concurrency ${CONCURRENCY}, ${SAT_SECONDS} s`,
  );
  const { store, url } = await openBenchStore(dir, `saturation-${checks}`);
  const yaml = checksConfigYaml({
    checks,
    ports: targets.ports,
    periodSeconds: 1,
    timeoutSeconds: 5,
    storageUrl: url,
  });
  const { config } = loadConfig(yaml, join(dir, `saturation-${checks}.yaml`));
  const log = countingLogger();
  let runs = 0;
  const counter = { completed: 0, errors: 0, measuring: false };
  const service = new CheckService({
    store,
    logger: log.logger,
    concurrency: CONCURRENCY,
    probeThread: PROBE_THREAD,
    onRun: (_definition, outcome) => {
      runs++;
      if (!counter.measuring) return;
      if (outcome.status === 'up') counter.completed++;
      else counter.errors++;
    },
  });
  try {
    await service.loadStoredState();
    await service.apply(config, dir);
    service.start();
    const warningsBefore = log.warnings();
    const { window, ...rate } = await measureRate(targets, counter, `opsbook-${checks}`);
    const skipWarnings = log.warnings() - warningsBefore;
    const mem = memory();
    await service.stop();
    const stored = await countResults(store);
    const probesPerSecond = round((counter.completed + counter.errors) / (window.wallMs / 1000));
    progress(
      `B: Opsbook ${probesPerSecond} probes/s, ${rate.cpuMicrosPerRequest} µs CPU each (stored ${stored}/${runs})`,
    );
    return {
      checks,
      probesPerSecond,
      demandProbesPerSecond: checks,
      /** Below demand: the rate is Opsbook's capacity only when it could not keep up. */
      saturated: probesPerSecond < 0.98 * checks,
      probesDown: counter.errors,
      cpuMicrosPerProbe: rate.cpuMicrosPerRequest,
      cpuPercentOfOneCore: rate.cpuPercentOfOneCore,
      eventLoopUtilization: rate.eventLoopUtilization,
      eventLoopDelayMs: window.eventLoopDelayMs,
      targetsProcessCpuPercentOfOneCore: rate.targetsProcessCpuPercentOfOneCore,
      skippedRunWarningsPerSecond: round(skipWarnings / (window.wallMs / 1000)),
      firstWarning: log.firstWarning() ?? null,
      memory: mem,
      persistence: { runsTotal: runs, storedAfterStop: stored, allStored: stored === runs },
    };
  } finally {
    await service.stop().catch(() => {});
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenario C: the full Opsbook with N checks; API timings.

interface Timed {
  ms: Percentiles;
  /** Until the response headers: the server's work before it sends (query, shaping, JSON). */
  headersMs: Percentiles;
  bytes: number;
  items: number;
  total: number | null;
}

async function timeGet(url: string, runs: number): Promise<Timed> {
  const fetchOnce = async (): Promise<{ ms: number; headersMs: number; body: ArrayBuffer }> => {
    const started = performance.now();
    const response = await fetch(url, { headers: benchAuth, signal: AbortSignal.timeout(30_000) });
    const headersMs = performance.now() - started;
    const body = await response.arrayBuffer();
    const ms = performance.now() - started;
    if (!response.ok)
      throw new Error(
        `GET ${url} answered ${response.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`,
      );
    return { ms, headersMs, body };
  };
  for (let i = 0; i < 2; i++) await fetchOnce();
  const times: number[] = [];
  const headerTimes: number[] = [];
  let last: ArrayBuffer | undefined;
  for (let i = 0; i < runs; i++) {
    const { ms, headersMs, body } = await fetchOnce();
    times.push(ms);
    headerTimes.push(headersMs);
    last = body;
  }
  const parsed = JSON.parse(Buffer.from(last!).toString('utf8')) as { items: unknown[]; total?: number };
  return {
    ms: percentiles(times),
    headersMs: percentiles(headerTimes),
    bytes: last!.byteLength,
    items: parsed.items.length,
    total: parsed.total ?? null,
  };
}

interface ServiceList {
  items: { checks: { total: number; healthy: number; unhealthy: number; unknown: number } }[];
}

async function scenarioApi(dir: string, targets: TargetProcess) {
  progress(`C: full Opsbook with ${CHECKS} checks every ${PERIOD_SECONDS} s (1 in ${FAIL_EVERY} failing)`);
  const configFile = join(dir, 'opsbook.yaml');
  writeFileSync(
    configFile,
    checksConfigYaml({
      checks: CHECKS,
      ports: targets.ports,
      periodSeconds: PERIOD_SECONDS,
      timeoutSeconds: 5,
      storageUrl: `sqlite:${join(dir, 'api.db')}`,
      failEvery: FAIL_EVERY,
    }),
  );
  const log = countingLogger();
  const opsbook = new Opsbook({
    configFile,
    port: 0,
    host: '127.0.0.1',
    logger: log.logger,
    env: benchOpsbookEnv,
  });
  try {
    const started = performance.now();
    await opsbook.start();
    await opsbook.ready();
    const readyMs = round(performance.now() - started, 0);
    progress(`C: ready in ${readyMs} ms at ${opsbook.url}; waiting for every check to have a result`);

    // Every check runs once within one period (+ flush); bounded wait.
    const deadline = performance.now() + (PERIOD_SECONDS + 50) * 1000;
    let counts = { total: 0, healthy: 0, unhealthy: 0, unknown: CHECKS };
    for (;;) {
      const response = await fetch(`${opsbook.url}/api/v1/services`, {
        headers: benchAuth,
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) {
        const list = (await response.json()) as ServiceList;
        counts = list.items.reduce(
          (sum, s) => ({
            total: sum.total + s.checks.total,
            healthy: sum.healthy + s.checks.healthy,
            unhealthy: sum.unhealthy + s.checks.unhealthy,
            unknown: sum.unknown + s.checks.unknown,
          }),
          { total: 0, healthy: 0, unhealthy: 0, unknown: 0 },
        );
        if (counts.total === CHECKS && counts.unknown === 0) break;
      } else await response.body?.cancel();
      if (performance.now() > deadline)
        throw new Error(`C: checks still without a result: ${JSON.stringify(counts)}`);
      await sleep(500);
    }
    const allResultsMs = round(performance.now() - started, 0);
    progress(
      `C: all checks have a result after ${allResultsMs} ms (${counts.unhealthy} unhealthy); timing the API, ${API_RUNS} runs each`,
    );

    const base = `${opsbook.url}/api/v1`;
    const window = startWindow();
    const firstPage = await timeGet(`${base}/checks?limit=100`, API_RUNS);
    const all = await timeGet(`${base}/checks?limit=10000`, API_RUNS);
    const unhealthy = await timeGet(`${base}/checks?status=unhealthy&limit=10000`, API_RUNS);
    const services = await timeGet(`${base}/services`, API_RUNS);
    const w = window.stop();
    const mem = memory();
    progress(
      `C: checks?limit=10000 p50 ${all.ms.p50} ms p95 ${all.ms.p95} ms (${all.items} items, ${all.bytes} bytes)`,
    );
    return {
      checks: CHECKS,
      runsPerQuery: API_RUNS,
      readyMs,
      allResultsMs,
      statusCounts: counts,
      checksFirstPage: firstPage,
      checksAll: all,
      checksUnhealthy: unhealthy,
      services,
      duringApi: { cpuPercentOfOneCore: w.cpuPercentOfOneCore, eventLoopDelayMs: w.eventLoopDelayMs },
      memory: mem,
      logWarnings: log.warnings(),
      firstWarning: log.firstWarning() ?? null,
    };
  } finally {
    await opsbook.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Opt-in scenario "hour": scenario A's setup with CheckService's clock set 75 s before an hour
// boundary, so the run crosses a minute boundary (-60 s) and the first hour boundary after a start
// (0 s), where every check's partial hour is rebuilt from stored minutes while results are written.

async function scenarioHour(dir: string, targets: TargetProcess) {
  const before = 75;
  const after = 20;
  progress(
    `hour: ${CHECKS} checks every ${PERIOD_SECONDS} s; clock ${before} s before an hour boundary, run ${before + after} s`,
  );
  const { store, url } = await openBenchStore(dir, 'hour');
  const yaml = checksConfigYaml({
    checks: CHECKS,
    ports: targets.ports,
    periodSeconds: PERIOD_SECONDS,
    timeoutSeconds: 5,
    storageUrl: url,
  });
  const { config } = loadConfig(yaml, join(dir, 'hour.yaml'));
  const HOUR = 3_600_000;
  const real = Date.now();
  const boundary = (Math.floor(real / HOUR) + 1) * HOUR;
  const offset = boundary - before * 1000 - real;
  const now = (): number => Date.now() + offset;
  /** Seconds relative to the hour boundary (negative before it). */
  const at = (): number => (now() - boundary) / 1000;
  const lags: { at: number; lag: number }[] = [];
  const flushes: { at: number; ms: number }[] = [];
  const service = new CheckService({
    store,
    logger: countingLogger().logger,
    concurrency: DEFAULT_CONCURRENCY,
    now,
    onLag: (lag) => lags.push({ at: at(), lag }),
  });
  const flush = service.flush.bind(service);
  service.flush = () => {
    const started = performance.now();
    const startedAt = at();
    const done = flush();
    void done.then(() => flushes.push({ at: round(startedAt), ms: round(performance.now() - started) }));
    return done;
  };
  try {
    await service.apply(config, dir);
    service.start();
    await sleep((before + after) * 1000);
    await service.stop();
    const phase = (from: number, to: number) => {
      const inPhase = lags.filter((l) => l.at >= from && l.at < to).map((l) => l.lag);
      const slow = flushes.filter((f) => f.at >= from && f.at < to).sort((a, b) => b.ms - a.ms);
      return { fromSeconds: from, toSeconds: to, lagMs: percentiles(inPhase), longestFlush: slow[0] ?? null };
    };
    const result = {
      checks: CHECKS,
      note: 'seconds relative to the hour boundary; the minute boundary is at -60',
      steady: phase(-before + PERIOD_SECONDS, -61),
      minuteBoundary: phase(-60, -45),
      hourBoundary: phase(0, 15),
      after: phase(15, after),
    };
    progress(
      `hour: lag p99 ${result.steady.lagMs.p99} ms steady, ${result.minuteBoundary.lagMs.p99} ms after the minute, ` +
        `${result.hourBoundary.lagMs.p99} ms after the hour (longest flush ${result.hourBoundary.longestFlush?.ms ?? '-'} ms)`,
    );
    return result;
  } finally {
    await service.stop().catch(() => {});
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-bench-'));
  let targets: TargetProcess | undefined;
  const abandon = (why: string, code: number): void => {
    progress(why);
    void targets?.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  const watchdog = setTimeout(
    () => abandon(`gave up: the benchmark ran past its ${Math.round(BUDGET_MS / 1000)} s budget`, 2),
    BUDGET_MS,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => abandon(`stopped by ${signal}`, 130));
  try {
    progress(
      `checks=${CHECKS} seconds=${SECONDS} sat=${SAT_SECONDS} satChecks=${SAT_CHECK_COUNTS.join(',')} concurrency=${CONCURRENCY}; temp dir ${dir}`,
    );
    const loadAtStart = loadavg().map((n) => round(n, 2));
    if (loadAtStart[0]! > 0.5 * availableParallelism())
      progress(
        `warning: load average ${loadAtStart[0]} at start; other work on this machine will skew the figures`,
      );
    targets = await startTargets(TARGET_SERVERS);
    progress(`targets: pid ${targets.pid}, ports ${targets.ports.join(', ')}`);

    const target = ONLY.has('target') ? await scenarioTarget(dir, targets) : null;
    const floor = ONLY.has('saturation') ? await floorLoop(targets) : null;
    const layers = ONLY.has('breakdown')
      ? { probe: await probeLoop(dir, targets), scheduler: await schedulerLoop(dir, targets) }
      : null;
    const opsbookRuns = [];
    if (ONLY.has('saturation'))
      for (const checks of SAT_CHECK_COUNTS)
        opsbookRuns.push(await opsbookAtSaturation(dir, targets, checks));
    // The floor again after the Opsbook runs; the ratio uses the faster of the two, so a floor run
    // slowed by other work on this shared machine cannot flatter Opsbook.
    const floorAfter = floor ? await floorLoop(targets) : null;
    const floorBest =
      floor && floorAfter && floorAfter.requestsPerSecond > floor.requestsPerSecond ? floorAfter : floor;
    const api = ONLY.has('api') ? await scenarioApi(dir, targets) : null;
    const hour = ONLY.has('hour') ? await scenarioHour(dir, targets) : null;

    const opsbook = opsbookRuns.reduce<(typeof opsbookRuns)[number] | null>(
      (best, run) => (best === null || run.probesPerSecond > best.probesPerSecond ? run : best),
      null,
    );
    const ratio =
      floorBest && opsbook ? round(opsbook.probesPerSecond / floorBest.requestsPerSecond, 3) : null;
    const apiP95 = api
      ? Math.max(
          api.checksFirstPage.ms.p95,
          api.checksAll.ms.p95,
          api.checksUnhealthy.ms.p95,
          api.services.ms.p95,
        )
      : null;
    const cpu0 = cpus()[0];
    const report = {
      machine: {
        cpus: availableParallelism(),
        model: cpu0?.model.trim() ?? 'unknown',
        node: process.version,
        platform: `${platform()} ${arch()}`,
        memoryGB: round(totalmem() / 1024 ** 3),
        /** 1, 5 and 15 minute load averages before the run: figures are only comparable on a quiet machine. */
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((n) => round(n, 2)),
      },
      date: new Date().toISOString().slice(0, 10),
      goal: GOAL,
      settings: {
        checks: CHECKS,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        saturationSeconds: SAT_SECONDS,
        saturationChecks: SAT_CHECK_COUNTS,
        saturationConcurrency: CONCURRENCY,
        defaultConcurrency: DEFAULT_CONCURRENCY,
        targetServers: TARGET_SERVERS,
        apiRuns: API_RUNS,
        scenarios: [...ONLY],
      },
      target,
      saturation:
        floorBest && opsbook
          ? {
              /** The faster of the floor runs before and after Opsbook's. */
              floorRps: floorBest.requestsPerSecond,
              floorRunsRps: [floor!.requestsPerSecond, floorAfter!.requestsPerSecond],
              /** The best rate over the Opsbook runs (one per check count). */
              opsbookRps: opsbook.probesPerSecond,
              ratio,
              bestRunChecks: opsbook.checks,
              concurrency: CONCURRENCY,
              floor: floorBest,
              opsbook: opsbookRuns.map((run) => ({
                ...run,
                /** The highest ratio this demand allows (demand / floor); 1 or more: no limit. */
                demandOverFloor: round(run.demandProbesPerSecond / floorBest.requestsPerSecond, 3),
                ratio: round(run.probesPerSecond / floorBest.requestsPerSecond, 3),
              })),
              breakdown: layers && {
                note: 'closed loops at the same concurrency; each layer adds to the one above it',
                layers: [
                  {
                    layer: 'undici floor',
                    rps: floorBest.requestsPerSecond,
                    cpuMicrosPerRequest: floorBest.cpuMicrosPerRequest,
                  },
                  {
                    layer: 'runProbe',
                    rps: layers.probe.requestsPerSecond,
                    cpuMicrosPerRequest: layers.probe.cpuMicrosPerRequest,
                  },
                  {
                    layer: 'Scheduler + runProbe',
                    rps: layers.scheduler.requestsPerSecond,
                    cpuMicrosPerRequest: layers.scheduler.cpuMicrosPerRequest,
                  },
                  ...opsbookRuns.map((run) => ({
                    layer: `CheckService (state, rollups, SQLite), ${run.checks} checks`,
                    rps: run.probesPerSecond,
                    cpuMicrosPerRequest: run.cpuMicrosPerProbe,
                  })),
                ],
              },
            }
          : null,
      api,
      ...(hour && { hour }),
      verdicts: {
        lagP99Under100ms: target ? target.lagMs.p99 < GOAL.lagP99MsUnder : null,
        ratioAtLeast0_7: ratio === null ? null : ratio >= GOAL.minRatioToFloor,
        /** The p95 of every timed API query (first page, all checks, filtered, services). */
        apiUnder200ms: apiP95 === null ? null : apiP95 < GOAL.apiMsUnder,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    clearTimeout(watchdog);
    await targets?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
