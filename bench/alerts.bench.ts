// npm run bench:alerts — Opsbook's alerting against its goals:
//   (a) one evaluation cycle of 10,000 rules over 10,000 series under 1 s;
//   (b) POST /api/v2/alerts intake at least as fast as the real Alertmanager binary on this machine,
//       same batches, same client;
//   (c) the outbox's delivery rate to a local webhook receiver, and enqueue-to-receipt latency.
// Prints one JSON object on stdout; progress goes to stderr. See docs/benchmarks.md.
//
// Scenarios (everything on loopback; helpers in bench/alerts/):
//   evaluation: MetricStore (SQLite) with N counter series sampled every 15 s over 10 minutes, M rules
//               `rate(http_requests_total{service="s<i>"}[5m]) > X` (defaultRules off), AlertService
//               in this process: a cold first cycle and warm cycles, each including the write of
//               changed alerts; split into PromQL, the SQLite write, and the rest.
//   intake:     the Alertmanager binary, then the full Opsbook process (a child: runtime/opsbook.ts,
//               SQLite, defaultRules off, no services), never both at once. Each gets warm-up batches,
//               then the measured batches ("new": every label set new), then the same batches again
//               ("resend": what Prometheus does every evaluation). undici, bounded concurrency.
//               Then, as a diagnostic (not the goal), Opsbook again with inhibitRules: [].
//   outbox:     Outbox (SQLite) with one webhook receiver in a child process answering 200; "live":
//               notifications enqueued while the worker runs (rate and enqueue-to-receipt latency);
//               "backlog": enqueued first, then the worker started (drain rate); "paced": a quarter
//               as many enqueued at a steady rate (latency below saturation).
//
// Environment: BENCH_ONLY (evaluation,intake,outbox), BENCH_RULES (10000), BENCH_SERIES (10000),
// BENCH_WARM_CYCLES (5), BENCH_FIRING_PERCENT (10), BENCH_BATCHES (200), BENCH_BATCH_SIZE (100),
// BENCH_WARMUP_BATCHES (20), BENCH_CONCURRENCY (8), BENCH_INTAKE_PASS_SECONDS (30, a bound per pass),
// BENCH_INTAKE_DIAGNOSTIC (1; 0 skips the Opsbook run without inhibit rules), BENCH_OUTBOX_PACED_RATE (200),
// BENCH_NOTIFICATIONS (2000), BENCH_GROUPS (100), BENCH_OUTBOX_SECONDS (60, a bound per run),
// BENCH_CPU_PROF (a directory: the Opsbook intake child writes a .cpuprofile there), BENCH_LOG_LEVEL
// (warn), BENCH_ALERTMANAGER (/usr/bin/prometheus-alertmanager).
// Quick run: BENCH_RULES=1000 BENCH_SERIES=1000 BENCH_BATCHES=20 BENCH_NOTIFICATIONS=200 npm run bench:alerts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, arch, cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AlertService } from '../packages/server/src/alerts/alert.service.js';
import { compileInhibitRules, computeSuppression } from '../packages/server/src/alerts/suppression.js';
import { alertingSchema } from '../packages/server/src/config/alerting.schema.js';
import { metricsSchema } from '../packages/server/src/config/metrics.schema.js';
import { receiverSchema } from '../packages/server/src/config/notifications.schema.js';
import { idempotencyKey, Outbox } from '../packages/server/src/notify/outbox.js';
import { openStore, type Store } from '../packages/server/src/storage/db.js';
import { migrate } from '../packages/server/src/storage/migrate.js';
import { OutboxRepository } from '../packages/server/src/storage/outbox.repository.js';
import { MetricStore } from '../packages/server/src/telemetry/metric-store.js';
import { countingLogger, envNumber, memory, percentiles, progress, round, sleep } from './lib/measure.js';
import {
  alertmanagerConfigYaml,
  alertmanagerVersion,
  killAlertmanagers,
  startAlertmanager,
} from './alerts/alertmanager.js';
import {
  benchRules,
  counterSamples,
  expectedHolding,
  timeSaves,
  HISTORY_MS,
  SCRAPE_MS,
} from './alerts/evaluation.js';
import {
  alertmanagerCounts,
  makeBatches,
  opsbookCounts,
  postBatches,
  type Batches,
  type PostResult,
} from './alerts/intake.js';
import { countOutboxQueries, makeNotifications } from './alerts/outbox.js';
import { forkChild, procUsage, type Child } from './alerts/process.js';

const int = (name: string, fallback: number): number => Math.round(envNumber(name, fallback));
const RULES = int('BENCH_RULES', 10_000);
const SERIES = int('BENCH_SERIES', 10_000);
const WARM_CYCLES = int('BENCH_WARM_CYCLES', 5);
const FIRING_PERCENT = Math.min(100, envNumber('BENCH_FIRING_PERCENT', 10));
const BATCHES = int('BENCH_BATCHES', 200);
const BATCH_SIZE = int('BENCH_BATCH_SIZE', 100);
const WARMUP_BATCHES = int('BENCH_WARMUP_BATCHES', 20);
const CONCURRENCY = int('BENCH_CONCURRENCY', 8);
const PASS_SECONDS = envNumber('BENCH_INTAKE_PASS_SECONDS', 30);
const DIAGNOSTIC = process.env.BENCH_INTAKE_DIAGNOSTIC !== '0';
const NOTIFICATIONS = int('BENCH_NOTIFICATIONS', 2_000);
const GROUPS = int('BENCH_GROUPS', 100);
const OUTBOX_SECONDS = envNumber('BENCH_OUTBOX_SECONDS', 60);
const PACED_RATE = envNumber('BENCH_OUTBOX_PACED_RATE', 200);
const PACED_COUNT = Math.max(1, Math.round(NOTIFICATIONS / 4));
const CPU_PROF = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;

const SCENARIOS = ['evaluation', 'intake', 'outbox'] as const;
const ONLY = new Set<string>((process.env.BENCH_ONLY ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()));
for (const name of ONLY)
  if (!(SCENARIOS as readonly string[]).includes(name))
    throw new Error(`BENCH_ONLY: unknown scenario "${name}"; use ${SCENARIOS.join(', ')}`);

const GOAL = {
  evaluation: { rules: 10_000, series: 10_000, cycleMsUnder: 1000 },
  intake: { minRatioToAlertmanager: 1 },
  outbox: { note: 'no target in the issue: the figure is recorded' },
};

/** Hard stop for the whole run: every loop below is bounded too; this catches what is not. */
const BUDGET_MS = (9 * PASS_SECONDS + 3 * OUTBOX_SECONDS) * 1000 + 300_000;

async function openBenchStore(dir: string, name: string): Promise<Store> {
  const store = await openStore({ url: `sqlite:${join(dir, `${name}.db`)}` });
  await migrate(store);
  return store;
}

async function countRows(store: Store, table: 'alerts' | 'alert_history'): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// (a) One evaluation cycle of RULES rules over SERIES series.

async function scenarioEvaluation(dir: string) {
  progress(`evaluation: ${SERIES} series, ${RULES} rules, ${FIRING_PERCENT}% holding; loading samples`);
  const store = await openBenchStore(dir, 'evaluation');
  const log = countingLogger();
  const metrics = new MetricStore({
    store,
    logger: log.logger,
    retention: metricsSchema.parse({}).retention,
  });
  const saves = timeSaves();
  let service: AlertService | undefined;
  try {
    await metrics.start();
    const loadStarted = performance.now();
    const now = Date.now();
    let accepted = 0;
    let rejected = 0;
    for (const scrape of counterSamples(SERIES, now)) {
      const result = metrics.ingest(scrape);
      accepted += result.accepted;
      rejected += result.rejected;
    }
    await metrics.flush();
    const loadMs = round(performance.now() - loadStarted, 0);
    if (rejected > 0) throw new Error(`evaluation: the metric store rejected ${rejected} samples`);
    progress(`evaluation: ${accepted} samples ingested and stored in ${loadMs} ms; parsing rules`);

    const { rules, threshold } = benchRules(RULES, SERIES, FIRING_PERCENT);
    const parseStarted = performance.now();
    const config = alertingSchema.parse({ defaultRules: false, rules });
    const parseMs = round(performance.now() - parseStarted, 0);
    service = new AlertService({ store, source: metrics, logger: log.logger });
    await service.load();
    const applyStarted = performance.now();
    await service.applyConfig(config);
    const applyMs = round(performance.now() - applyStarted, 0);
    saves.take();

    const cycles = [];
    for (let c = 0; c <= WARM_CYCLES; c++) {
      const started = performance.now();
      await service.evaluate();
      const ms = performance.now() - started;
      const save = saves.take();
      const ruleList = service.ruleList();
      const promqlMs = ruleList.reduce((sum, r) => sum + (r.evaluationMs ?? 0), 0);
      let firing = 0;
      let pending = 0;
      for (const { alert } of service.list()) {
        if (alert.state === 'firing') firing++;
        else if (alert.state === 'pending') pending++;
      }
      const cycle = {
        cycle: c === 0 ? 'cold' : `warm ${c}`,
        ms: round(ms),
        promqlMs: round(promqlMs),
        saveMs: round(save.ms),
        restMs: round(ms - promqlMs - save.ms),
        alertRowsWritten: save.alertRows,
        historyRowsWritten: save.historyRows,
        firing,
        pending,
        ruleErrors: ruleList.filter((r) => r.health === 'err').length,
      };
      cycles.push(cycle);
      progress(
        `evaluation: ${cycle.cycle} cycle ${cycle.ms} ms (PromQL ${cycle.promqlMs}, write ${cycle.saveMs}, ` +
          `rest ${cycle.restMs}); ${firing} firing, ${pending} pending`,
      );
    }
    // The suppression pass of a commit on its own, on the same alerts (default inhibit rule).
    const alerts = service.list().map((a) => a.alert);
    const inhibit = compileInhibitRules(config.inhibitRules);
    const suppressionStarted = performance.now();
    computeSuppression(alerts, [], [], inhibit, Date.now());
    const suppressionMs = round(performance.now() - suppressionStarted);
    const mem = memory();
    const storedAlerts = await countRows(store, 'alerts');
    const storedHistory = await countRows(store, 'alert_history');

    const cold = cycles[0]!;
    const warm = cycles.slice(1);
    const warmMedianMs = warm.length > 0 ? round(median(warm.map((c) => c.ms))) : null;
    const expected = expectedHolding(RULES, SERIES, threshold);
    return {
      rules: RULES,
      series: SERIES,
      samples: accepted,
      sampleEveryMs: SCRAPE_MS,
      historyMs: HISTORY_MS,
      firingPercent: FIRING_PERCENT,
      threshold,
      expected,
      coldCycleMs: cold.ms,
      warmCycles: warm.length,
      warmMedianMs,
      warmMedian: warm.length
        ? {
            promqlMs: round(median(warm.map((c) => c.promqlMs))),
            saveMs: round(median(warm.map((c) => c.saveMs))),
            restMs: round(median(warm.map((c) => c.restMs))),
          }
        : null,
      cycles,
      /** computeSuppression alone on the final alerts: part of every commit's "rest". */
      suppressionPassMs: suppressionMs,
      stored: { alerts: storedAlerts, history: storedHistory },
      setupMs: { samples: loadMs, parseRules: parseMs, applyConfig: applyMs },
      memory: mem,
      logWarnings: log.warnings(),
      firstWarning: log.firstWarning() ?? null,
    };
  } finally {
    saves.restore();
    await service?.stop().catch(() => {});
    await metrics.stop().catch(() => {});
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) Intake: the Alertmanager binary, then the Opsbook process; the same batches, one at a time.

interface PassResult extends PostResult {
  serverCpuMs: number;
  /** Server CPU per alert (µs): what the target spent, whatever the wall clock. */
  serverCpuMicrosPerAlert: number;
  serverCpuPercentOfOneCore: number;
}

interface Target {
  name: 'alertmanager' | 'opsbook';
  url: string;
  pid: number;
  child?: Child;
  counts(): Promise<{ held: number; suppressed: number }>;
  stop(): Promise<void>;
}

async function timedPass(target: Target, label: string, batches: Batches): Promise<PassResult> {
  const before = procUsage(target.pid);
  const result = await postBatches(
    target.url,
    '/api/v2/alerts',
    batches.bodies,
    BATCH_SIZE,
    CONCURRENCY,
    PASS_SECONDS * 1000,
  );
  const after = procUsage(target.pid);
  const cpuMs = after.cpuMs - before.cpuMs;
  progress(
    `intake: ${target.name} ${label}: ${result.alertsPerSecond} alerts/s, p99 ${result.latencyMs.p99} ms, ` +
      `server CPU ${round(cpuMs, 0)} ms${result.errors ? `, ${result.errors} errors (${result.firstError})` : ''}` +
      (result.timedOut ? `; stopped at the ${PASS_SECONDS} s bound` : ''),
  );
  return {
    ...result,
    serverCpuMs: round(cpuMs, 0),
    serverCpuMicrosPerAlert: round((cpuMs * 1000) / Math.max(1, result.alerts)),
    serverCpuPercentOfOneCore: round((cpuMs / result.wallMs) * 100),
  };
}

async function runIntake(target: Target, warmup: Batches, measured: Batches) {
  try {
    const started = performance.now();
    await postBatches(
      target.url,
      '/api/v2/alerts',
      warmup.bodies,
      BATCH_SIZE,
      CONCURRENCY,
      PASS_SECONDS * 1000,
    );
    progress(
      `intake: ${target.name}: ${warmup.alerts} warm-up alerts in ${round(performance.now() - started, 0)} ms`,
    );
    const fresh = await timedPass(target, 'new', measured);
    const resend = await timedPass(target, 'resend', measured);
    const usage = procUsage(target.pid);
    const held = await target.counts();
    return { new: fresh, resend, held, serverRssMB: usage.rssMB, serverPeakRssMB: usage.peakRssMB };
  } finally {
    await target.stop();
  }
}

function opsbookIntakeYaml(storageUrl: string, inhibit: boolean): string {
  return [
    '# Generated by bench/alerts.bench.ts',
    'server:',
    '  host: 127.0.0.1',
    'storage:',
    `  url: ${JSON.stringify(storageUrl)}`,
    'alerting:',
    '  defaultRules: false',
    ...(inhibit
      ? []
      : ['  # Diagnostic variant: no inhibit rules (the default has one).', '  inhibitRules: []']),
    '# As the Alertmanager side: one receiver, grouped, timers long enough that nothing is sent.',
    'notifications:',
    '  receivers:',
    '    - name: "null"',
    '      webhook:',
    '        url: "http://127.0.0.1:9/null"',
    '  route:',
    '    receiver: "null"',
    '    groupBy: [alertname, service]',
    '    groupWait: 1h',
    '    groupInterval: 1h',
    '    repeatInterval: 24h',
    '',
  ].join('\n');
}

async function startOpsbookChild(dir: string, name: string, inhibit: boolean): Promise<Target> {
  const configFile = join(dir, `${name}.yaml`);
  writeFileSync(configFile, opsbookIntakeYaml(`sqlite:${join(dir, `${name}.db`)}`, inhibit));
  const execArgv = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const { handle: child, ready: url } = await forkChild(
    './opsbook-server.ts',
    [configFile],
    (m) => (m as { url?: string }).url,
    { execArgv, startTimeoutMs: 60_000 },
  );
  return {
    name: 'opsbook',
    url,
    pid: child.pid,
    counts: () => opsbookCounts(url),
    stop: () => child.stop(),
    child,
  };
}

/** The Opsbook process with the batches; then what it left in its store after a graceful stop. */
async function opsbookIntake(
  dir: string,
  name: string,
  inhibit: boolean,
  warmup: Batches,
  measured: Batches,
) {
  progress(`intake: starting the Opsbook process (${name})`);
  const target = await startOpsbookChild(dir, name, inhibit);
  progress(`intake: opsbook pid ${target.pid} at ${target.url}`);
  let logs: unknown = null;
  const run = await runIntake(
    {
      ...target,
      stop: async () => {
        logs = await target.child
          ?.ask('logs', (m) => ((m as { lines?: number }).lines !== undefined ? m : undefined))
          .catch(() => null);
        await target.stop();
      },
    },
    warmup,
    measured,
  );
  const store = await openStore({ url: `sqlite:${join(dir, `${name}.db`)}` });
  const stored = {
    alerts: await countRows(store, 'alerts'),
    history: await countRows(store, 'alert_history'),
  };
  await store.close();
  return { inhibitRules: inhibit ? 'default (1)' : 'none', ...run, stored, logs };
}

async function scenarioIntake(dir: string) {
  const now = Date.now();
  const warmup = makeBatches({ batches: WARMUP_BATCHES, size: BATCH_SIZE, prefix: 'Warmup', now });
  const measured = makeBatches({ batches: BATCHES, size: BATCH_SIZE, prefix: 'Bench', now });
  progress(
    `intake: ${BATCHES} batches × ${BATCH_SIZE} alerts (${round(measured.bytes / 1024 / 1024)} MB of JSON), ` +
      `concurrency ${CONCURRENCY}, after ${WARMUP_BATCHES} warm-up batches; Alertmanager first`,
  );

  const am = await startAlertmanager(dir);
  progress(`intake: alertmanager ${am.version} pid ${am.pid} at ${am.url}`);
  const alertmanager = await runIntake(
    {
      name: 'alertmanager',
      url: am.url,
      pid: am.pid,
      counts: () => alertmanagerCounts(am.url),
      stop: am.stop,
    },
    warmup,
    measured,
  );
  const opsbook = await opsbookIntake(dir, 'intake', true, warmup, measured);
  const ratio = round(opsbook.new.alertsPerSecond / alertmanager.new.alertsPerSecond, 3);
  const resendRatio = round(opsbook.resend.alertsPerSecond / alertmanager.resend.alertsPerSecond, 3);
  progress(`intake: opsbook/alertmanager ${ratio} (new), ${resendRatio} (resend)`);
  const diagnostic = DIAGNOSTIC
    ? await opsbookIntake(dir, 'intake-no-inhibit', false, warmup, measured)
    : null;
  return {
    batches: BATCHES,
    batchSize: BATCH_SIZE,
    alertsPerPass: measured.alerts,
    warmupAlerts: warmup.alerts,
    severities: measured.severities,
    bodyBytes: measured.bytes,
    concurrency: CONCURRENCY,
    passSecondsBound: PASS_SECONDS,
    client: 'undici Pool per target and pass, POST /api/v2/alerts, bodies prepared in advance',
    alertmanager: { version: am.version, ...alertmanager },
    opsbook,
    ratio,
    resendRatio,
    /**
     * Not the goal: Opsbook again with inhibitRules: [] (Alertmanager keeps its inhibit rule), to show
     * how much of Opsbook's time the inhibition pass takes. Skip with BENCH_INTAKE_DIAGNOSTIC=0.
     */
    diagnosticNoInhibit: diagnostic && {
      ...diagnostic,
      ratio: round(diagnostic.new.alertsPerSecond / alertmanager.new.alertsPerSecond, 3),
      resendRatio: round(diagnostic.resend.alertsPerSecond / alertmanager.resend.alertsPerSecond, 3),
    },
    note:
      'Alertmanager keeps alerts in memory (it snapshots silences and the notification log to disk, ' +
      'never alerts); Opsbook writes every received alert (and every state change to history) to ' +
      'SQLite before it answers, so its alerts survive a restart. Both run the same route (one null ' +
      'receiver, grouped by alertname and service, group_wait 1h) and the same inhibit rule ' +
      '(critical mutes warning|info of the same service, Opsbook’s default). Each server is measured ' +
      'alone, in its own process; the client runs in the benchmark process for both. A pass that ' +
      'reached its time bound (timedOut) reports the rate of the batches it completed.',
  };
}

// ---------------------------------------------------------------------------------------------
// (c) Outbox delivery to a local webhook receiver.

interface ReceiverCount {
  count: number;
  unique: number;
  bytes: number;
}

async function waitDelivered(
  receiver: Child,
  base: number,
  count: number,
  deadline: number,
): Promise<ReceiverCount> {
  for (;;) {
    const seen = await receiver.ask('count', (m) =>
      (m as ReceiverCount).unique !== undefined ? (m as ReceiverCount) : undefined,
    );
    if (seen.unique - base >= count || performance.now() > deadline) return seen;
    await sleep(20);
  }
}

async function receiptTimes(receiver: Child): Promise<Map<string, number>> {
  const times = await receiver.ask('times', (m) => (m as { times?: [string, number][] }).times, 30_000);
  return new Map(times);
}

type OutboxMode = 'live' | 'backlog' | 'paced';

/**
 * live: enqueue as fast as enqueue() allows while the worker runs (a burst: latency includes the queue);
 * backlog: enqueue with the worker stopped, then start it (drain rate);
 * paced: enqueue at PACED_RATE per second while the worker runs (latency below saturation).
 */
async function outboxRun(dir: string, receiver: Child, url: string, mode: OutboxMode) {
  const store = await openBenchStore(dir, `outbox-${mode}`);
  const log = countingLogger();
  const receivers = [receiverSchema.parse({ name: 'bench', webhook: { url } })];
  const outbox = new Outbox({ store, logger: log.logger, receivers });
  const count = mode === 'paced' ? PACED_COUNT : NOTIFICATIONS;
  const list = makeNotifications(mode, count, Math.min(GROUPS, count));
  const keys = list.map((n) => idempotencyKey(n, 'webhook'));
  const base = (await waitDelivered(receiver, 0, 0, 0)).unique;
  const clock = () => performance.timeOrigin + performance.now();
  const enqueuedAt = new Map<string, number>();
  const queries = countOutboxQueries();
  try {
    if (mode !== 'backlog') await outbox.start();
    const enqueueStarted = clock();
    for (let i = 0; i < list.length; i++) {
      if (mode === 'paced') {
        const wait = enqueueStarted + (i * 1000) / PACED_RATE - clock();
        if (wait > 0) await sleep(wait);
      }
      enqueuedAt.set(keys[i]!, clock());
      await outbox.enqueue(list[i]!);
    }
    const enqueueMs = clock() - enqueueStarted;
    const startedAt = mode === 'backlog' ? clock() : enqueueStarted;
    if (mode === 'backlog') await outbox.start();
    const seen = await waitDelivered(receiver, base, list.length, performance.now() + OUTBOX_SECONDS * 1000);
    const delivered = seen.unique - base;
    const times = await receiptTimes(receiver);
    const receipts = keys.map((k) => times.get(k)).filter((t): t is number => t !== undefined);
    const wallMs = Math.max(...receipts) - startedAt;
    // The attempt is recorded just after the receiver answers: give the last ones a moment.
    const repository = new OutboxRepository(store.db);
    let statuses = await repository.countByStatus();
    for (let i = 0; i < 50 && (statuses.delivered ?? 0) < delivered; i++) {
      await sleep(20);
      statuses = await repository.countByStatus();
    }
    const calls = queries.take();
    const result = {
      mode,
      notifications: list.length,
      groups: Math.min(GROUPS, count),
      ...(mode === 'paced' && { enqueueRatePerSecond: PACED_RATE }),
      delivered,
      allDelivered: delivered === list.length,
      enqueueMs: round(enqueueMs, 0),
      enqueuePerSecond: round(list.length / (enqueueMs / 1000)),
      /** From the first enqueue (backlog: from start()) to the last receipt. */
      wallMs: round(wallMs, 0),
      deliveredPerSecond: round(delivered / (wallMs / 1000)),
      /** Enqueue call to receipt at the receiver (backlog: not meaningful, the worker was stopped). */
      latencyMs:
        mode === 'backlog'
          ? null
          : percentiles(keys.filter((k) => times.has(k)).map((k) => times.get(k)! - enqueuedAt.get(k)!)),
      /** OutboxRepository calls during the run and per delivered notification. */
      queries: calls,
      queriesPerDelivery: round(
        (calls.expire.calls +
          calls.due.calls +
          calls.claim.calls +
          calls.nextDueAt.calls +
          calls.recordAttempt.calls) /
          Math.max(1, delivered),
      ),
      storeStatuses: statuses,
      logWarnings: log.warnings(),
      firstWarning: log.firstWarning() ?? null,
    };
    progress(
      `outbox ${mode}: ${delivered}/${list.length} delivered in ${result.wallMs} ms, ${result.deliveredPerSecond}/s` +
        (result.latencyMs ? `; latency p50 ${result.latencyMs.p50} ms p99 ${result.latencyMs.p99} ms` : ''),
    );
    return result;
  } finally {
    await outbox.stop();
    queries.restore();
    await store.close();
  }
}

async function scenarioOutbox(dir: string) {
  const { handle: receiver, ready: port } = await forkChild('./webhook-receiver.ts', [], (m) =>
    typeof (m as { port?: number }).port === 'number' ? (m as { port: number }).port : undefined,
  );
  const url = `http://127.0.0.1:${port}/hook`;
  progress(`outbox: ${NOTIFICATIONS} notifications over ${GROUPS} groups to ${url}`);
  try {
    const live = await outboxRun(dir, receiver, url, 'live');
    const backlog = await outboxRun(dir, receiver, url, 'backlog');
    const paced = await outboxRun(dir, receiver, url, 'paced');
    const received = await waitDelivered(receiver, 0, 0, 0);
    const cpu = await receiver.ask('cpu', (m) => (m as { cpu?: NodeJS.CpuUsage }).cpu);
    return {
      receiver: url,
      outboxSettings: 'defaults: concurrency 8, poll 1 s, one delivery in flight per group (lane)',
      live,
      backlog,
      paced,
      receiverRequests: received.count,
      receiverDuplicates: received.count - received.unique,
      receiverCpuMs: round((cpu.user + cpu.system) / 1000, 0),
    };
  } finally {
    await receiver.stop();
  }
}

// ---------------------------------------------------------------------------------------------

function cpuModel(): string {
  try {
    const text = execFileSync('lscpu', { encoding: 'utf8', stdio: 'pipe' });
    const model = /^Model name:\s+(.+)$/m.exec(text)?.[1];
    if (model) return model.trim();
  } catch {
    // lscpu missing: fall back to what Node reads from /proc/cpuinfo
  }
  return cpus()[0]?.model.trim() ?? 'unknown';
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-bench-alerts-'));
  const watchdog = setTimeout(() => {
    progress(`gave up: the benchmark ran past its ${Math.round(BUDGET_MS / 1000)} s budget`);
    killAlertmanagers();
    rmSync(dir, { recursive: true, force: true });
    process.exit(2);
  }, BUDGET_MS);
  watchdog.unref();
  const started = performance.now();
  try {
    progress(`scenarios ${[...ONLY].join(', ')}; temp dir ${dir}`);
    const loadAtStart = loadavg().map((n) => round(n, 2));
    if (loadAtStart[0]! > 0.5 * availableParallelism())
      progress(`warning: load average ${loadAtStart[0]} at start; other work will skew the figures`);

    const evaluation = ONLY.has('evaluation') ? await scenarioEvaluation(dir) : null;
    const intake = ONLY.has('intake') ? await scenarioIntake(dir) : null;
    const outbox = ONLY.has('outbox') ? await scenarioOutbox(dir) : null;

    const report = {
      benchmark: 'alerts',
      machine: {
        cpus: availableParallelism(),
        model: cpuModel(),
        node: process.version,
        platform: `${platform()} ${arch()}`,
        memoryGB: round(totalmem() / 1024 ** 3),
        alertmanager: ONLY.has('intake') ? alertmanagerVersion() : null,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((n) => round(n, 2)),
      },
      date: new Date().toISOString().slice(0, 10),
      totalSeconds: round((performance.now() - started) / 1000),
      goal: GOAL,
      settings: {
        scenarios: [...ONLY],
        rules: RULES,
        series: SERIES,
        warmCycles: WARM_CYCLES,
        firingPercent: FIRING_PERCENT,
        batches: BATCHES,
        batchSize: BATCH_SIZE,
        warmupBatches: WARMUP_BATCHES,
        concurrency: CONCURRENCY,
        intakePassSecondsBound: PASS_SECONDS,
        notifications: NOTIFICATIONS,
        groups: GROUPS,
        outboxSecondsBound: OUTBOX_SECONDS,
        cpuProfileDir: CPU_PROF ?? null,
        alertmanagerConfig: ONLY.has('intake') ? alertmanagerConfigYaml() : null,
      },
      evaluation,
      intake,
      outbox,
      verdicts: {
        evaluationColdUnder1s: evaluation ? evaluation.coldCycleMs < GOAL.evaluation.cycleMsUnder : null,
        evaluationWarmUnder1s:
          evaluation && evaluation.warmMedianMs !== null
            ? evaluation.warmMedianMs < GOAL.evaluation.cycleMsUnder
            : null,
        intakeAtLeastAlertmanager: intake ? intake.ratio >= GOAL.intake.minRatioToAlertmanager : null,
        intakeResendAtLeastAlertmanager: intake
          ? intake.resendRatio >= GOAL.intake.minRatioToAlertmanager
          : null,
        outboxAllDelivered: outbox
          ? outbox.live.allDelivered && outbox.backlog.allDelivered && outbox.paced.allDelivered
          : null,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } finally {
    clearTimeout(watchdog);
    rmSync(dir, { recursive: true, force: true });
  }
}

// Forked helpers exit when this process goes away; the Alertmanager binary does not.
process.on('exit', killAlertmanagers);

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
