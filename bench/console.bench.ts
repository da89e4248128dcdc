// bench:console — the console at the scale: 10,000 checks (500 services) and 1,000 firing
// alerts, against a baseline instance with 10 checks and no alerts, in the same run and browser.
// Goal (issue 6): the overview usable within 1 s of navigation. Prints JSON; progress on stderr.
//
// "Usable" is measured as in packages/web/e2e/scale.e2e.test.ts: from the click on "Overview" until
// the service count, both firing-alert counters and the unhealthy-checks count are on screen. The
// Alerts page is measured until its first rows show, and the two list APIs the pages use are timed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Opsbook } from '../packages/server/src/runtime/opsbook.js';
import { benchAuth, BENCH_TOKEN } from './lib/auth.js';
import { envNumber, percentiles, progress, round } from './lib/measure.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Math.round(envNumber('BENCH_RUNS', 7));
const PASSWORD = 'console bench admin password';
const GOAL_MS = 1000;

interface Scale {
  services: number;
  checksPerService: number;
  failingServices: number;
  alerts: number;
}
const BASELINE: Scale = { services: 2, checksPerService: 5, failingServices: 1, alerts: 0 };
const TARGET: Scale = { services: 500, checksPerService: 20, failingServices: 10, alerts: 1000 };

async function start(scale: Scale, dir: string, open: number): Promise<Opsbook> {
  const lines = [
    `storage: { url: "sqlite:${join(dir, 'ops.db')}" }`,
    'alerting: { defaultRules: false }',
    'services:',
  ];
  for (let s = 0; s < scale.services; s++) {
    const failing = s < scale.failingServices;
    lines.push(`  - name: svc-${String(s).padStart(3, '0')}`, `    owner: team-${s % 20}`, '    checks:');
    for (let c = 0; c < scale.checksPerService; c++)
      // Port 9 (discard) is closed on loopback; the healthy majority probes rarely to keep the machine free.
      lines.push(
        `      - { name: c${c}, role: liveness, periodSeconds: ${failing ? 60 : 600}, initialDelaySeconds: 0, failureThreshold: 1, tcp: { host: 127.0.0.1, port: ${failing ? 9 : open} } }`,
      );
  }
  writeFileSync(join(dir, 'opsbook.yaml'), `${lines.join('\n')}\n`);
  const opsbook = new Opsbook({
    configFile: join(dir, 'opsbook.yaml'),
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    env: { OPSBOOK_ADMIN_PASSWORD: PASSWORD, OPSBOOK_ADMIN_TOKEN: BENCH_TOKEN },
  });
  await opsbook.start();
  await opsbook.ready();
  if (scale.alerts > 0) {
    const alerts = Array.from({ length: scale.alerts }, (_, i) => ({
      labels: {
        alertname: `Load${i % 50}`,
        severity: i % 10 === 0 ? 'critical' : 'warning',
        service: `svc-${String(i % scale.services).padStart(3, '0')}`,
        instance: `i-${i}`,
      },
      annotations: { summary: `alert ${i}` },
    }));
    const pushed = await fetch(`${opsbook.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...benchAuth },
      body: JSON.stringify(alerts),
    });
    if (!pushed.ok) throw new Error(`pushing alerts answered ${pushed.status}`);
  }
  // Every failing check has failed once, so the overview shows real counts.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const answer = await fetch(`${opsbook.url}/api/v1/checks?status=unhealthy&limit=1`, {
      headers: benchAuth,
    });
    if (((await answer.json()) as { total: number }).total >= scale.failingServices * scale.checksPerService)
      break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return opsbook;
}

async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/runbooks`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Username').fill('admin');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Runbooks' }).waitFor();
}

async function overviewMs(page: Page, scale: Scale): Promise<number> {
  await page.getByRole('link', { name: 'Runbooks', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Runbooks' }).waitFor();
  const started = performance.now();
  await page.getByRole('link', { name: 'Overview', exact: true }).click();
  await page.getByText(`${scale.services} services:`).waitFor();
  const critical = scale.alerts / 10;
  if (scale.alerts > 0) {
    await page.getByTestId('firing-critical').getByText(String(critical)).waitFor();
    await page
      .getByTestId('firing-warning')
      .getByText(String(scale.alerts - critical))
      .waitFor();
  }
  await page
    .getByRole('region', { name: 'Unhealthy checks' })
    .getByText(/^\d+ unhealthy$/)
    .waitFor();
  return performance.now() - started;
}

async function alertsPageMs(page: Page, scale: Scale): Promise<number> {
  await page.getByRole('link', { name: 'Runbooks', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Runbooks' }).waitFor();
  const started = performance.now();
  await page.getByRole('link', { name: 'Alerts', exact: true }).click();
  if (scale.alerts > 0)
    await page.getByRole('list', { name: 'Alerts' }).getByRole('listitem').first().waitFor();
  else await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
  return performance.now() - started;
}

async function apiMs(url: string, path: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, { headers: benchAuth });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return performance.now() - started;
}

async function measure(browser: Browser, opsbook: Opsbook, scale: Scale, label: string) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30_000);
  await signIn(page, opsbook.url);
  await overviewMs(page, scale); // warm-up: assets cached, as for a returning user
  const overview: number[] = [];
  const alerts: number[] = [];
  const checksApi: number[] = [];
  const alertsApi: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    overview.push(await overviewMs(page, scale));
    alerts.push(await alertsPageMs(page, scale));
    checksApi.push(await apiMs(opsbook.url, '/api/v1/checks?limit=100'));
    alertsApi.push(await apiMs(opsbook.url, '/api/v1/alerts?limit=100'));
    progress(`${label}: run ${run + 1}/${RUNS} overview ${round(overview.at(-1)!, 0)} ms`);
  }
  await page.close();
  return {
    overviewMs: percentiles(overview),
    alertsPageMs: percentiles(alerts),
    checksApiMs: percentiles(checksApi),
    alertsApiMs: percentiles(alertsApi),
  };
}

const dirs: string[] = [];
const target: Server = createServer((socket) => socket.end());
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const open = (target.address() as { port: number }).port;
let browser: Browser | undefined;
const instances: Opsbook[] = [];
try {
  progress('building the console if it changed');
  execFileSync('node', [join(root, 'packages/web/scripts/build-if-changed.js')], { stdio: 'ignore' });
  const load = loadavg();
  const dirFor = () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-bench-console-'));
    dirs.push(dir);
    return dir;
  };
  progress('starting the baseline instance (10 checks, no alerts)');
  const baseline = await start(BASELINE, dirFor(), open);
  instances.push(baseline);
  progress('starting the scale instance (10,000 checks, 1,000 alerts)');
  const scaled = await start(TARGET, dirFor(), open);
  instances.push(scaled);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const base = await measure(browser, baseline, BASELINE, 'baseline');
  const scale = await measure(browser, scaled, TARGET, 'scale');
  const ratio = (a: { p50: number }, b: { p50: number }) => round(a.p50 / b.p50, 2);
  process.stdout.write(
    `${JSON.stringify(
      {
        machine: {
          cpus: cpus().length,
          model: cpus()[0]?.model.trim(),
          node: process.version,
          loadAverageAtStart: load.map((l) => round(l, 2)),
        },
        date: new Date().toISOString().slice(0, 10),
        runs: RUNS,
        baseline: { checks: BASELINE.services * BASELINE.checksPerService, alerts: BASELINE.alerts, ...base },
        scale: { checks: TARGET.services * TARGET.checksPerService, alerts: TARGET.alerts, ...scale },
        ratioScaleToBaseline: {
          overview: ratio(scale.overviewMs, base.overviewMs),
          alertsPage: ratio(scale.alertsPageMs, base.alertsPageMs),
          checksApi: ratio(scale.checksApiMs, base.checksApiMs),
          alertsApi: ratio(scale.alertsApiMs, base.alertsApiMs),
        },
        goal: { overviewMsUnder: GOAL_MS, met: scale.overviewMs.p95 < GOAL_MS },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await browser?.close();
  for (const opsbook of instances) await opsbook.stop();
  await new Promise((resolve) => target.close(resolve));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
