/// <reference lib="dom" />
// The console in real Chromium against a real Opsbook, the example service and a real PostgreSQL:
// every page shows live data, a fault turns the service red without a reload (server-sent events),
// an incident is acknowledged from the keyboard, a runbook step is approved and an alert silenced.
// Screenshots of every page go to test-results/screenshots/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { apiCaller } from '../../../test/api-caller.js';
import { createTestDatabase } from '../../../test/databases.js';
import { waitFor } from '../../../test/target-server.js';
import { Opsbook } from '../../server/src/runtime/opsbook.js';
import { startExampleService, type ExampleService } from '../../../examples/example-service/src/service.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const shots = join(root, 'test-results', 'screenshots');

describe('the web console in Chromium', () => {
  let dir: string;
  let example: ExampleService;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let opsbook: Opsbook;
  let browser: Browser;
  let page: Page;
  const call = apiCaller(() => opsbook.url);
  let incidentId: string;

  beforeAll(async () => {
    // Builds only when a source is newer than the last build (a few seconds when it is not).
    execFileSync('node', [join(root, 'packages/web/scripts/build-if-changed.js')], { stdio: 'inherit' });
    mkdirSync(shots, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'opsbook-console-'));
    example = await startExampleService({ port: 0 });
    database = await createTestDatabase(inject('postgresUrl'), 'console');
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    await sql.query(
      `CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 500) g`,
    );
    await sql.end();
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(
      join(dir, 'runbooks', 'restart.yaml'),
      `
id: restart-example
title: Restart the example service
description: Drain it, get approval, then restart.
triggers: { manual: true }
parameters:
  reason: { type: string, description: why, required: false }
steps:
  - { id: probe, title: Probe the service, kind: http, url: "${example.url}/actuator/health/liveness", phase: investigation }
  - { id: drain, title: Drain traffic, kind: manual, phase: resolution }
  - { id: ok, title: Approve the restart, kind: approval, role: responder, phase: resolution }
`,
    );
    // The guide's probe timings, shortened so the test sees a transition within seconds.
    const fast = 'periodSeconds: 1, initialDelaySeconds: 0, failureThreshold: 1';
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
services:
  - name: example-service
    owner: team-orders
    environment: local
    tags: [api]
    checks:
      - { name: readiness, role: readiness, ${fast}, http: { url: "${example.url}/actuator/health/readiness", conditions: ["[STATUS] == 200"] } }
      - { name: orders-api, role: readiness, ${fast}, http: { url: "${example.url}/api/orders" } }
      - { name: port, role: liveness, ${fast}, tcp: { host: 127.0.0.1, port: ${example.port} } }
  - name: billing
    owner: team-billing
    checks:
      - { name: port, role: liveness, ${fast}, tcp: { host: 127.0.0.1, port: ${example.port} } }
metrics:
  scrape:
    - { job: example-service, url: "${example.url}/metrics", interval: 2s, service: example-service }
databases:
  - { id: primary, url: "${database.url}", service: billing, collectInterval: 5s }
runbooks: { dirs: [runbooks] }
`,
    );
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await opsbook.start();
    await opsbook.ready();
    // Traffic for the application dashboard, and a backup for the overview and database pages.
    for (let i = 0; i < 20; i++) await fetch(`${example.url}/api/orders`);
    await call('POST', '/api/v1/databases/primary/backups');
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
    const context = await browser.newContext({
      viewport: { width: 1400, height: 1000 },
      colorScheme: 'light',
    });
    // Until sign-in exists, the console acts under the name kept in localStorage.
    await context.addInitScript(() =>
      localStorage.setItem('opsbook.actor', JSON.stringify({ name: 'ann', roles: ['responder'] })),
    );
    page = await context.newPage();
    // Well under the test's own timeout, so a failure names the element it was waiting for.
    page.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await opsbook?.stop();
    await example?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const nav = async (name: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };

  it('shows the overview and turns a service red live when its probe fails', async () => {
    await page.goto(opsbook.url);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByRole('status').getByText('● live').waitFor();
    const tile = (status: string) =>
      page.getByRole('listitem', { name: new RegExp(`^example-service: ${status}`) });
    await tile('healthy').waitFor({ timeout: 15_000 });
    await page.getByRole('listitem', { name: /^billing: healthy/ }).waitFor();
    await page
      .getByText(/succeeded/)
      .first()
      .waitFor({ timeout: 20_000 }); // the backup
    await shot('overview');

    // A marker that a reload would wipe: the change must arrive over the stream.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const faulted = await fetch(`${example.url}/admin/faults`, {
      method: 'PUT',
      body: JSON.stringify({ readiness: 'DOWN' }),
    });
    expect(faulted.status).toBe(200);
    await tile('unhealthy').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await page
      .getByRole('region', { name: 'Unhealthy checks' })
      .getByText('example-service/readiness')
      .waitFor();
    await shot('overview-unhealthy');
  });

  it('lists services with a filter and shows a service with its checks and charts', async () => {
    await nav('Services');
    await page.getByRole('searchbox', { name: 'Filter' }).fill('bill');
    // Filtered by the server: the earlier, unfiltered answer stays on screen until it arrives.
    await page
      .getByRole('list', { name: 'Services' })
      .getByRole('link', { name: 'example-service' })
      .waitFor({ state: 'detached' });
    await page.getByText('1 service', { exact: true }).waitFor();
    expect(await page.getByRole('list', { name: 'Services' }).getByRole('link').count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Filter' }).fill('');
    await shot('services');
    await page.getByRole('list', { name: 'Services' }).getByRole('link', { name: 'example-service' }).click();
    await page.getByRole('heading', { level: 1, name: /example-service/ }).waitFor();
    const readiness = page.locator('tr[data-check="example-service/readiness"]');
    expect(await readiness.getAttribute('data-status')).toBe('unhealthy');
    await page
      .getByRole('img', { name: /Probe latency p50 \/ p95 \/ p99 chart/ })
      .waitFor({ timeout: 15_000 });
    await page.getByRole('img', { name: /Availability chart/ }).waitFor();
    await page.getByRole('group', { name: 'Time range' }).getByRole('button', { name: '24h' }).click();
    expect(
      await page
        .getByRole('group', { name: 'Time range' })
        .getByRole('button', { name: '24h' })
        .getAttribute('aria-pressed'),
    ).toBe('true');
    await shot('service-detail');
  });

  it('acknowledges an incident from the keyboard, adds a note and approves its runbook step', async () => {
    const opened = await call('POST', '/api/v1/incidents', {
      title: 'Example service not ready',
      severity: 'SEV1',
      services: ['example-service'],
      actor: 'opsbook-test',
    });
    expect(opened.status).toBe(201);
    incidentId = opened.body.id;
    const run = await call('POST', '/api/v1/runbooks/restart-example/runs', {
      actor: 'opsbook-test',
      incident: incidentId,
    });
    expect(run.status).toBe(201);

    await nav('Incidents');
    await page.getByRole('link', { name: incidentId }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(incidentId) }).waitFor();
    await page.getByText(/acknowledge in \d+m/).waitFor();

    // Keyboard only: tab to Acknowledge and press Enter.
    const acknowledge = page.getByRole('button', { name: 'Acknowledge' });
    await page.getByRole('link', { name: '← Incidents' }).focus();
    for (let i = 0; i < 10 && !(await acknowledge.evaluate((el) => el === document.activeElement)); i++)
      await page.keyboard.press('Tab');
    expect(await acknowledge.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Timeline' }).getByText('ack', { exact: true }).waitFor();
    expect(await acknowledge.isDisabled()).toBe(true);
    expect((await call('GET', `/api/v1/incidents/${incidentId}`)).body.acknowledgedBy).toBe('ann');

    await page.getByRole('textbox', { name: 'Note' }).fill('Readiness is DOWN; draining first.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page
      .getByRole('list', { name: 'Timeline' })
      .getByText('Readiness is DOWN; draining first.')
      .waitFor();

    await page.getByRole('button', { name: 'Tick Drain traffic' }).click();
    await page.getByRole('button', { name: 'Approve Approve the restart' }).click();
    await waitFor(
      async () => (await call('GET', `/api/v1/runbook-runs/${run.body.id}`)).body.status === 'succeeded',
      10_000,
      'the run to succeed',
    );
    // The approval reaches the incident's timeline, and the page, over the stream.
    await page
      .getByRole('list', { name: 'Timeline' })
      .getByText(/Approve the restart: succeeded/)
      .waitFor();
    const detail = await call('GET', `/api/v1/runbook-runs/${run.body.id}`);
    expect(detail.body.steps.find((s: any) => s.id === 'ok')).toMatchObject({
      status: 'succeeded',
      actor: 'ann',
    });
    await shot('incident');
    await nav('Incidents');
    await shot('incidents');
  });

  it('silences an alert from the alerts page', async () => {
    // Through the Alertmanager-compatible intake: the default rules need minutes of data to fire.
    const pushed = await fetch(`${opsbook.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'OrdersBacklog', severity: 'warning', service: 'example-service' },
          annotations: { summary: 'orders queue is growing' },
        },
      ]),
    });
    expect(pushed.status).toBe(200);
    await nav('Alerts');
    await page.getByRole('button', { name: 'Silence OrdersBacklog on example-service' }).click();
    const form = page.getByRole('form', { name: 'Silence OrdersBacklog' });
    await form.getByRole('textbox', { name: 'Comment' }).fill('known backlog, fix deploying');
    // The server's message for a bad field shows next to it.
    await form.getByRole('textbox', { name: 'Duration' }).fill('soon');
    await form.getByRole('button', { name: 'Create silence' }).click();
    await form.getByText('write a duration like 30m, 2h or 1d').waitFor();
    await form.getByRole('textbox', { name: 'Duration' }).fill('90m');
    await form.getByRole('button', { name: 'Create silence' }).click();
    await page
      .getByRole('list', { name: 'Silences' })
      .getByText(/alertname="OrdersBacklog"/)
      .waitFor();
    const silences = (await call('GET', '/api/v1/silences')).body.items;
    expect(silences[0]).toMatchObject({
      matchers: ['alertname="OrdersBacklog"', 'service="example-service"'],
      createdBy: 'ann',
      comment: 'known backlog, fix deploying',
    });
    await page.getByRole('list', { name: 'Alerts' }).getByText('silenced').waitFor();

    const maintenance = page.getByRole('form', { name: 'Put a service into maintenance' });
    await maintenance.getByRole('combobox', { name: 'Service' }).selectOption('billing');
    await maintenance.getByRole('textbox', { name: 'For' }).fill('45m');
    await maintenance.getByRole('textbox', { name: 'Comment' }).fill('disk swap');
    await maintenance.getByRole('button', { name: 'Start maintenance' }).click();
    await page.getByRole('list', { name: 'Maintenance windows' }).getByText('billing maintenance').waitFor();
    const windows = (await call('GET', '/api/v1/maintenance')).body.items;
    expect(windows.find((w: any) => w.name === 'billing maintenance')).toMatchObject({
      services: ['billing'],
      active: true,
      createdBy: 'ann',
    });
    await shot('alerts');
  });

  it('shows runbooks with their steps and starts one with parameters', async () => {
    await nav('Runbooks');
    await page.getByRole('button', { name: 'Service Unavailable' }).waitFor();
    await page.getByRole('button', { name: 'Restart the example service' }).click();
    const form = page.getByRole('form', { name: 'Start Restart the example service' });
    await form.getByRole('textbox', { name: 'reason' }).fill('stuck workers');
    await form.getByRole('button', { name: 'Start run' }).click();
    await page.getByRole('heading', { level: 1, name: /^Run / }).waitFor();
    await page.getByRole('button', { name: 'Tick Drain traffic' }).waitFor();
    const runs = (await call('GET', '/api/v1/runbook-runs?limit=1')).body.items;
    expect(runs[0]).toMatchObject({
      runbookId: 'restart-example',
      parameters: { reason: 'stuck workers' },
      startedBy: 'ann',
    });
    await nav('Runbooks');
    await page
      .getByRole('region', { name: 'Recent runs' })
      .getByText(/by ann/)
      .waitFor();
    await shot('runbooks');
  });

  it('shows the four dashboards with real data or a clear note of what is missing', async () => {
    // Half the orders fail, so the error-rate chart has something to draw once the next scrape lands.
    await fetch(`${example.url}/admin/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 0.5 }) });
    for (let i = 0; i < 20; i++) await fetch(`${example.url}/api/orders`);
    await waitFor(
      async () => {
        // A rate needs two scrapes of the 5xx counter within the chart's 30 s step.
        const q = encodeURIComponent('sum(rate(http_requests_total{status=~"5.."}[30s])) > 0');
        return (await call('GET', `/api/v1/query?query=${q}`)).body.data.result.length > 0;
      },
      15_000,
      'a 5xx rate',
    );
    await nav('Application');
    await page.getByRole('img', { name: /Request rate chart/ }).waitFor({ timeout: 20_000 });
    await page.getByRole('img', { name: /Error rate \(5xx\) chart/ }).waitFor();
    await page.getByRole('img', { name: /Availability \(checks up\) chart/ }).waitFor();
    await shot('dashboard-application');

    await nav('Infrastructure');
    await page.getByText('No node-exporter data').waitFor();
    await page.getByRole('img', { name: /Probe latency p95 by service chart/ }).waitFor();
    await shot('dashboard-infrastructure');

    await nav('Database');
    const databases = page.getByRole('region', { name: 'Databases' });
    await databases.getByRole('rowheader', { name: 'primary' }).waitFor();
    await databases.getByText('up', { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByRole('img', { name: /Connections chart/ }).waitFor({ timeout: 15_000 });
    await page.getByRole('region', { name: 'Backups' }).getByText('succeeded').waitFor();
    await page.getByRole('region', { name: 'Advisor: primary' }).waitFor();
    await shot('dashboard-database');

    await nav('Security');
    await page.getByText(/Not recorded yet: Opsbook has no sign-in/).waitFor();
    await page.getByText(/No TLS checks/).waitFor();
    await shot('dashboard-security');
  });
});
