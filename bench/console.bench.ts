/// <reference lib="dom" />
// npm run bench:console — the web console at issue 6's scale: 10,000 checks (500 services, 10 of
// them failing) and 1,000 firing alerts, against a baseline Opsbook with 10 checks and no alerts,
// both in this process and measured in alternation in the same headless Chromium.
// Goal: the overview usable within 1 s of navigation. Prints one JSON object; progress on stderr.
//
// "Usable" is timed inside the page (bench-side waits would add their own latency): from navigation
// start, or from the click on the link for in-app navigation, until the page's sections show data
// rather than "Loading…" (see `watcher`). Each in-app navigation starts from a freshly loaded page, so
// nothing the measured page shows comes from the console's query cache; the browser's HTTP cache holds
// the assets, as for a returning user.
//
// Environment (defaults): BENCH_RUNS (7, per page and instance), BENCH_API_RUNS (20, per API call),
// BENCH_BUDGET_SECONDS (300, a hard stop).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { arch, availableParallelism, cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Opsbook } from '../packages/server/src/runtime/opsbook.js';
import { benchAuth, BENCH_TOKEN } from './lib/auth.js';
import { envNumber, percentiles, progress, round, sleep } from './lib/measure.js';
import { launchChromium } from '../test/chromium.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Math.round(envNumber('BENCH_RUNS', 7));
const API_RUNS = Math.round(envNumber('BENCH_API_RUNS', 20));
const BUDGET_MS = envNumber('BENCH_BUDGET_SECONDS', 300) * 1000;
const PASSWORD = 'console bench admin password';
const GOAL_MS = 1000;
/** Failing checks run often so the overview has its unhealthy list soon; the healthy majority rarely. */
const FAILING_PERIOD_SECONDS = 10;
const HEALTHY_PERIOD_SECONDS = 60;

interface Scale {
  services: number;
  checksPerService: number;
  failingServices: number;
  alerts: number;
}
const BASELINE: Scale = { services: 2, checksPerService: 5, failingServices: 1, alerts: 0 };
const TARGET: Scale = { services: 500, checksPerService: 20, failingServices: 10, alerts: 1000 };

/** What the pages show once usable; the watcher compares the screen with these. */
interface Expected {
  services: number;
  unhealthyChecks: number;
  critical: number;
  warning: number;
  alerts: number;
}

function expected(scale: Scale): Expected {
  const critical = Math.ceil(scale.alerts / 10);
  return {
    services: scale.services,
    unhealthyChecks: scale.failingServices * scale.checksPerService,
    critical,
    warning: scale.alerts - critical,
    alerts: scale.alerts,
  };
}

type PageName = 'overview' | 'services' | 'alerts';
interface BenchWindow {
  __bench?: { watch(name: PageName, from?: number): void; done?: number };
}

/**
 * Runs in every document of the page (an init script, so it must be self-contained). Watches one page
 * at a time and, at the first animation frame where that page shows its data, stores the elapsed
 * milliseconds in window.__bench.done. A full load of /, /services or /alerts is watched from
 * navigation start (performance.now() is relative to it).
 */
function watcher(expect: Expected): void {
  const section = (id: string) => document.querySelector(`section[aria-labelledby="section-${id}"]`);
  const loaded = (el: Element | null): el is Element => !!el && !el.textContent!.includes('Loading');
  const textOf = (selector: string) => document.querySelector(selector)?.textContent ?? null;
  const ready: Record<PageName, () => boolean> = {
    overview: () => {
      const incidents = section('open-incidents');
      const health = section('service-health');
      const unhealthy = section('unhealthy-checks');
      return (
        loaded(incidents) &&
        !!incidents.querySelector('.empty, ul.rows') &&
        textOf('[data-testid="firing-critical"]') === String(expect.critical) &&
        textOf('[data-testid="firing-warning"]') === String(expect.warning) &&
        loaded(health) &&
        !!health.querySelector('p')?.textContent?.startsWith(`${expect.services} services:`) &&
        !!health.querySelector('[aria-label="Services by health"] [role="listitem"]') &&
        loaded(unhealthy) &&
        Array.from(unhealthy.querySelectorAll('p')).some(
          (p) => p.textContent === `${expect.unhealthyChecks} unhealthy`,
        )
      );
    },
    services: () =>
      textOf('form.filters [aria-live]') === `${expect.services} services` &&
      !!document.querySelector('ul[aria-label="Services"] li'),
    alerts: () =>
      Array.from(document.querySelectorAll('form.filters .muted')).some(
        (el) => el.textContent === `${expect.alerts} alerts`,
      ) &&
      (expect.alerts === 0
        ? !!section('active-alerts')?.querySelector('.empty')
        : !!document.querySelector('ul[aria-label="Alerts"] li')),
  };
  let watching: { name: PageName; from: number } | undefined;
  const tick = (): void => {
    if (!watching) return;
    let ok = false;
    try {
      ok = ready[watching.name]();
    } catch {
      // A half-rendered tree: not ready yet.
    }
    if (ok) {
      state.done = performance.now() - watching.from;
      watching = undefined;
    } else requestAnimationFrame(tick);
  };
  const state: NonNullable<BenchWindow['__bench']> = {
    watch(name, from = performance.now()) {
      state.done = undefined;
      watching = { name, from };
      requestAnimationFrame(tick);
    },
  };
  (window as BenchWindow).__bench = state;
  const onLoad: Record<string, PageName> = { '/': 'overview', '/services': 'services', '/alerts': 'alerts' };
  const name = onLoad[location.pathname];
  if (name) state.watch(name, 0);
}

function configYaml(scale: Scale, database: string, open: number, closed: number): string {
  const lines = [`storage: { url: "sqlite:${database}" }`, 'alerting: { defaultRules: false }', 'services:'];
  for (let s = 0; s < scale.services; s++) {
    const failing = s < scale.failingServices;
    const period = failing ? FAILING_PERIOD_SECONDS : HEALTHY_PERIOD_SECONDS;
    lines.push(`  - name: svc-${String(s).padStart(3, '0')}`, `    owner: team-${s % 20}`, '    checks:');
    for (let c = 0; c < scale.checksPerService; c++)
      lines.push(
        `      - { name: c${c}, role: liveness, periodSeconds: ${period}, initialDelaySeconds: 0, failureThreshold: 1, tcp: { host: 127.0.0.1, port: ${failing ? closed : open} } }`,
      );
  }
  return `${lines.join('\n')}\n`;
}

async function startOpsbook(scale: Scale, dir: string, open: number, closed: number): Promise<Opsbook> {
  const configFile = join(dir, 'opsbook.yaml');
  writeFileSync(configFile, configYaml(scale, join(dir, 'ops.db'), open, closed));
  const opsbook = new Opsbook({
    configFile,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    env: { OPSBOOK_ADMIN_PASSWORD: PASSWORD, OPSBOOK_ADMIN_TOKEN: BENCH_TOKEN },
  });
  await opsbook.start();
  await opsbook.ready();
  if (scale.alerts === 0) return opsbook;
  // An hour's endsAt keeps them firing for the whole run (the default resolve timeout is 5 minutes).
  const endsAt = new Date(Date.now() + 3_600_000).toISOString();
  const alerts = Array.from({ length: scale.alerts }, (_, i) => ({
    labels: {
      alertname: `Load${i % 50}`,
      severity: i % 10 === 0 ? 'critical' : 'warning',
      service: `svc-${String(i % scale.services).padStart(3, '0')}`,
      instance: `i-${i}`,
    },
    annotations: { summary: `alert ${i}` },
    endsAt,
  }));
  const pushed = await fetch(`${opsbook.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...benchAuth },
    body: JSON.stringify(alerts),
  });
  if (!pushed.ok) throw new Error(`POST /api/v2/alerts answered ${pushed.status}: ${await pushed.text()}`);
  return opsbook;
}

interface ServiceList {
  items: { checks: { total: number; unhealthy: number; unknown: number } }[];
}

/** Until every check has a result (and the failing ones have failed), so no state changes during the runs. */
async function waitSteady(opsbook: Opsbook, scale: Scale, label: string): Promise<void> {
  const want = expected(scale).unhealthyChecks;
  const deadline = performance.now() + (HEALTHY_PERIOD_SECONDS + 60) * 1000;
  for (;;) {
    const answer = await fetch(`${opsbook.url}/api/v1/services`, { headers: benchAuth });
    if (!answer.ok) throw new Error(`GET /api/v1/services answered ${answer.status}`);
    const { items } = (await answer.json()) as ServiceList;
    const unknown = items.reduce((n, s) => n + s.checks.unknown, 0);
    const unhealthy = items.reduce((n, s) => n + s.checks.unhealthy, 0);
    if (unknown === 0 && unhealthy === want) return;
    if (performance.now() > deadline)
      throw new Error(`${label}: checks not settled: ${unknown} unknown, ${unhealthy} of ${want} unhealthy`);
    await sleep(1000);
  }
}

async function signIn(context: BrowserContext, opsbook: Opsbook): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${opsbook.url}/runbooks`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Username').fill('admin');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Runbooks' }).waitFor();
  return page;
}

async function watched(page: Page): Promise<number> {
  const handle = await page.waitForFunction(() => (window as BenchWindow).__bench?.done);
  return (await handle.jsonValue()) as number;
}

/** A full load of the overview (a bookmark, a reload): from navigation start. */
async function overviewLoadMs(page: Page, opsbook: Opsbook): Promise<number> {
  await page.goto(`${opsbook.url}/`, { waitUntil: 'commit' });
  return watched(page);
}

/** In-app navigation from a freshly loaded, settled Runbooks page: from the click on the link. */
async function navigationMs(page: Page, opsbook: Opsbook, name: PageName): Promise<number> {
  await page.goto(`${opsbook.url}/runbooks`);
  await page.getByRole('heading', { level: 1, name: 'Runbooks' }).waitFor();
  // Once live, the console refetches everything once; wait for that, so it does not land in the run.
  await page.getByText('● live', { exact: true }).waitFor();
  await page.evaluate(
    ([pageName, href]) => {
      (window as BenchWindow).__bench!.watch(pageName);
      document.querySelector<HTMLAnchorElement>(`nav[aria-label="Main"] a[href="${href}"]`)!.click();
    },
    [name, name === 'overview' ? '/' : `/${name}`] as const,
  );
  return watched(page);
}

async function apiMs(opsbook: Opsbook, path: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${opsbook.url}${path}`, { headers: benchAuth });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return performance.now() - started;
}

const PAGES = {
  overviewLoad: (page: Page, opsbook: Opsbook) => overviewLoadMs(page, opsbook),
  overviewNavigation: (page: Page, opsbook: Opsbook) => navigationMs(page, opsbook, 'overview'),
  servicesNavigation: (page: Page, opsbook: Opsbook) => navigationMs(page, opsbook, 'services'),
  alertsNavigation: (page: Page, opsbook: Opsbook) => navigationMs(page, opsbook, 'alerts'),
};
type PageMeasure = keyof typeof PAGES;

/** The two list calls of the issue, and the three the overview makes. */
const API_PATHS = [
  '/api/v1/checks?limit=100',
  '/api/v1/alerts?limit=100',
  '/api/v1/services',
  '/api/v1/alerts?state=firing&limit=1000',
  '/api/v1/checks?status=unhealthy&limit=100',
];

interface Instance {
  label: 'baseline' | 'scale';
  scale: Scale;
  opsbook: Opsbook;
  page?: Page;
  times: Record<string, number[]>;
}

function summary(values: number[]) {
  const p = percentiles(values);
  return { p50: p.p50, p95: p.p95, max: p.max, runs: p.count };
}

function compare(base: Instance, scaled: Instance, key: string) {
  const b = summary(base.times[key]!);
  const s = summary(scaled.times[key]!);
  return { baseline: b, scale: s, ratioP50: round(s.p50 / b.p50, 2) };
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  const instances: Instance[] = [];
  let browser: Browser | undefined;
  const target: Server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const open = (target.address() as { port: number }).port;
  // A port that was free a moment ago: connections to it are refused, so those checks fail.
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const stopAll = async () => {
    await browser?.close().catch(() => {});
    for (const { opsbook } of instances) await opsbook.stop().catch(() => {});
    await new Promise((resolve) => target.close(resolve));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const abandon = (why: string, code: number): void => {
    progress(why);
    void stopAll().finally(() => process.exit(code));
    setTimeout(() => process.exit(code), 10_000).unref();
  };
  const watchdog = setTimeout(
    () => abandon(`gave up: the benchmark ran past its ${BUDGET_MS / 1000} s budget`, 2),
    BUDGET_MS,
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => abandon(`stopped by ${signal}`, 130));
  try {
    const loadAtStart = loadavg().map((n) => round(n, 2));
    if (loadAtStart[0]! > 0.5 * availableParallelism())
      progress(`warning: load average ${loadAtStart[0]} at start; other work will skew the figures`);
    progress('building the console if its sources changed');
    execFileSync('node', [join(root, 'packages/web/scripts/build-if-changed.js')], { stdio: 'ignore' });
    const start = async (label: Instance['label'], scale: Scale) => {
      const dir = mkdtempSync(join(tmpdir(), `opsbook-bench-console-${label}-`));
      dirs.push(dir);
      const checks = scale.services * scale.checksPerService;
      progress(`starting the ${label} instance: ${checks} checks, ${scale.alerts} alerts`);
      const started = performance.now();
      const opsbook = await startOpsbook(scale, dir, open, closed);
      progress(`${label}: ready at ${opsbook.url} in ${round(performance.now() - started, 0)} ms`);
      const instance: Instance = { label, scale, opsbook, times: {} };
      instances.push(instance);
      return instance;
    };
    // The scale instance first: its checks settle (up to one period) while the rest starts.
    const scaled = await start('scale', TARGET);
    const base = await start('baseline', BASELINE);
    browser = await launchChromium();
    for (const instance of [base, scaled]) {
      // One context each: both listen on 127.0.0.1, and cookies do not tell ports apart.
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      // tsx keeps function names by wrapping them in __name(), which the page lacks.
      await context.addInitScript({
        content: `var __name = (fn) => fn; (${watcher.toString()})(${JSON.stringify(expected(instance.scale))});`,
      });
      instance.page = await signIn(context, instance.opsbook);
    }
    progress('waiting until every check has a result');
    await waitSteady(base.opsbook, BASELINE, 'baseline');
    await waitSteady(scaled.opsbook, TARGET, 'scale');

    // One untimed pass fills the HTTP cache with the assets; then baseline and scale alternate, so
    // a burst of other work on the machine falls on both.
    for (let run = -1; run < RUNS; run++) {
      for (const instance of [base, scaled])
        for (const [key, measure] of Object.entries(PAGES)) {
          const ms = await measure(instance.page!, instance.opsbook);
          if (run >= 0) (instance.times[key] ??= []).push(ms);
        }
      if (run >= 0)
        progress(
          `run ${run + 1}/${RUNS}: overview load ${round(base.times.overviewLoad!.at(-1)!, 0)} ms baseline, ` +
            `${round(scaled.times.overviewLoad!.at(-1)!, 0)} ms scale`,
        );
    }
    progress(`timing ${API_PATHS.length} API calls, ${API_RUNS} runs each`);
    for (let run = -2; run < API_RUNS; run++)
      for (const instance of [base, scaled])
        for (const path of API_PATHS) {
          const ms = await apiMs(instance.opsbook, path);
          if (run >= 0) (instance.times[path] ??= []).push(ms);
        }

    const pages = Object.fromEntries(
      (Object.keys(PAGES) as PageMeasure[]).map((key) => [key, compare(base, scaled, key)]),
    ) as Record<PageMeasure, ReturnType<typeof compare>>;
    const api = Object.fromEntries(API_PATHS.map((path) => [`GET ${path}`, compare(base, scaled, path)]));
    const overviewP95 = Math.max(pages.overviewLoad.scale.p95, pages.overviewNavigation.scale.p95);
    const describe = (scale: Scale) => ({
      services: scale.services,
      checks: scale.services * scale.checksPerService,
      unhealthyChecks: expected(scale).unhealthyChecks,
      firingAlerts: scale.alerts,
    });
    const cpu0 = cpus()[0];
    const report = {
      machine: {
        cpus: availableParallelism(),
        model: cpu0?.model.trim() ?? 'unknown',
        node: process.version,
        platform: `${platform()} ${arch()}`,
        memoryGB: round(totalmem() / 1024 ** 3),
        chromium: browser.version(),
        /** 1, 5 and 15 minute load averages: figures are only comparable on a quiet machine. */
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((n) => round(n, 2)),
      },
      date: new Date().toISOString().slice(0, 10),
      runs: RUNS,
      apiRuns: API_RUNS,
      setup: {
        baseline: describe(BASELINE),
        scale: describe(TARGET),
        periodSeconds: { failing: FAILING_PERIOD_SECONDS, healthy: HEALTHY_PERIOD_SECONDS },
        viewport: '1400x1000',
      },
      /** Milliseconds until the page shows its data: full load from navigation start, or from the click. */
      pages,
      /** Milliseconds per request from this process, with the admin token. */
      api,
      goal: {
        overviewMsAtMost: GOAL_MS,
        /** The worse p95 of the two ways to reach the overview, at scale. */
        overviewP95Ms: overviewP95,
        met: overviewP95 <= GOAL_MS,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    clearTimeout(watchdog);
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
