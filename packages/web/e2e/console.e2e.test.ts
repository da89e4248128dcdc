/// <reference lib="dom" />
// The console in real Chromium against a real Opsbook, the example service and a real PostgreSQL:
// sign in (a wrong password first), every page shows live data, a fault turns the service red without a
// reload (server-sent events), an incident is acknowledged from the keyboard, a runbook step is approved
// and an alert silenced; an expired session returns to sign-in and back; the admin page manages users
// and tokens; a viewer sees what they may not do; sign out. Screenshots of every page go to
// test-results/screenshots/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { apiCaller } from '../../../test/api-caller.js';
import { createTestDatabase } from '../../../test/databases.js';
import { waitFor } from '../../../test/target-server.js';
import { Opsbook } from '../../server/src/runtime/opsbook.js';
import { startExampleService, type ExampleService } from '../../../examples/example-service/src/service.js';
import { launchChromium } from '../../../test/chromium.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const shots = join(root, 'test-results', 'screenshots');
// The first admin, created at the first start from OPSBOOK_ADMIN_PASSWORD.
const ADMIN = { username: 'ann', password: 'correct horse battery staple' };
const VIEWER = { username: 'vic', password: 'viewer password 42' };
const LOCKED = { username: 'lou', password: 'lou password 1234' };

describe('the web console in Chromium', () => {
  let dir: string;
  let example: ExampleService;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let opsbook: Opsbook;
  let browser: Browser;
  let context: BrowserContext;
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
      // The process env keeps the test token (OPSBOOK_ADMIN_TOKEN) that `call` sends.
      env: { ...process.env, OPSBOOK_ADMIN_USER: ADMIN.username, OPSBOOK_ADMIN_PASSWORD: ADMIN.password },
    });
    await opsbook.start();
    await opsbook.ready();
    // Traffic for the application dashboard, and a backup for the overview and database pages.
    for (let i = 0; i < 20; i++) await fetch(`${example.url}/api/orders`);
    await call('POST', '/api/v1/databases/primary/backups');
    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1400, height: 1000 },
      colorScheme: 'light',
    });
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
  const nav = async (name: string, heading = name) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };
  const signInForm = (on: Page = page) => on.getByRole('form', { name: 'Sign in' });
  /** Fills and sends the sign-in form; the server's status once it has answered. */
  const signIn = async (username: string, password: string, on: Page = page) => {
    const form = signInForm(on);
    await form.getByLabel('Username').fill(username);
    await form.getByLabel('Password').fill(password);
    const answered = on.waitForResponse((r) => r.url().endsWith('/api/v1/auth/sign-in'));
    await form.getByRole('button', { name: 'Sign in' }).click();
    return (await answered).status();
  };
  const signOut = async () => {
    await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
    await signInForm().waitFor();
  };
  const pathOf = (url: string) => {
    const u = new URL(url);
    return u.pathname + u.search + u.hash;
  };

  it('signs in, after a wrong password gets one generic message', async () => {
    await page.goto(opsbook.url);
    await signInForm().waitFor();
    expect(pathOf(page.url())).toBe('/sign-in');
    await shot('sign-in');
    expect(await signIn(ADMIN.username, 'not the password')).toBe(401);
    await signInForm().getByRole('alert').getByText('wrong username or password').waitFor();
    // An unknown user gets the very same words: they must not tell which usernames exist.
    expect(await signIn('nobody-here', 'not the password')).toBe(401);
    await signInForm().getByRole('alert').getByText('wrong username or password').waitFor();
    expect(await signIn(ADMIN.username, ADMIN.password)).toBe(200);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const header = page.getByRole('banner');
    await header.getByRole('link', { name: 'Administrator' }).waitFor();
    await header.getByText('admin', { exact: true }).waitFor();
    await header.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).waitFor();
    // The session cookie is out of reach of the page's scripts.
    const cookie = (await context.cookies()).find((c) => c.name === 'opsbook_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('opsbook_session');
  });

  it('shows the overview and turns a service red live when its probe fails', async () => {
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
    });
    expect(opened.status).toBe(201);
    incidentId = opened.body.id;
    const run = await call('POST', '/api/v1/runbooks/restart-example/runs', { incident: incidentId });
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
    const pushed = await call('POST', '/api/v2/alerts', [
      {
        labels: { alertname: 'OrdersBacklog', severity: 'warning', service: 'example-service' },
        annotations: { summary: 'orders queue is growing' },
      },
    ]);
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

  it('returns to sign-in when the session expires, and signing in lands on the same address', async () => {
    const address = `/incidents/${incidentId}?view=timeline#section-timeline`;
    await page.goto(`${opsbook.url}${address}`);
    await page.getByRole('heading', { level: 1, name: new RegExp(incidentId) }).waitFor();
    // The session ends under the page (as an expired cookie would): the next call answers 401.
    await context.clearCookies();
    await page.getByRole('textbox', { name: 'Note' }).fill('written after the session ended');
    await page.getByRole('button', { name: 'Add note' }).click();
    await signInForm().waitFor();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe(address);
    await page.getByText(`You will return to ${address}.`).waitFor();
    // From the keyboard alone: the username field has focus, Tab to the password, Enter sends.
    await page.keyboard.type(ADMIN.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: new RegExp(incidentId) }).waitFor();
    expect(pathOf(page.url())).toBe(address);
    // The refused note was not written by anyone.
    const incident = (await call('GET', `/api/v1/incidents/${incidentId}`)).body;
    expect(incident.timeline.some((t: any) => t.text === 'written after the session ended')).toBe(false);
  });

  it('manages users and tokens on the admin page, with the server field errors beside the fields', async () => {
    await nav('Admin');
    const create = page.getByRole('form', { name: 'Create a user' });
    const password = create.getByLabel('Password', { exact: true });
    await create.getByLabel('Username').fill(VIEWER.username);
    await create.getByLabel('Full name').fill('Vic Viewer');
    await create.getByLabel('Role').selectOption('viewer');
    await password.fill('short');
    await create.getByRole('button', { name: 'Create user' }).click();
    const tooShort = create.getByText('use at least 12 characters');
    await tooShort.waitFor();
    // Beside the password field and tied to it, so a screen reader reads it with the field.
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    expect((await password.getAttribute('aria-describedby'))?.split(' ')).toContain(
      await tooShort.getAttribute('id'),
    );
    await password.fill(VIEWER.password);
    await create.getByRole('button', { name: 'Create user' }).click();
    await create.getByText('Created vic (viewer).').waitFor();
    expect(await tooShort.count()).toBe(0);
    const users = page.getByRole('table', { name: 'Users' });
    await users.getByRole('combobox', { name: 'Role of vic' }).waitFor();
    expect(await users.getByRole('combobox', { name: 'Role of vic' }).inputValue()).toBe('viewer');

    // A token: its secret is shown once, copies to the clipboard and works with the role chosen.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: opsbook.url });
    const tokenForm = page.getByRole('form', { name: 'Create a token' });
    await tokenForm.getByLabel('Name', { exact: true }).fill('ci-pipeline');
    await tokenForm.getByLabel('Kind').selectOption('api');
    await tokenForm.getByLabel('Role').selectOption('viewer');
    await tokenForm.getByLabel('Expires in (days)').fill('30');
    await tokenForm.getByRole('button', { name: 'Create token' }).click();
    const created = page.getByRole('group', { name: 'New token secret' });
    const secret = await created.getByLabel('Secret').inputValue();
    expect(secret.length).toBeGreaterThanOrEqual(24);
    await created.getByRole('button', { name: 'Copy' }).click();
    await created.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const asToken = () =>
      fetch(`${opsbook.url}/api/v1/auth/session`, { headers: { authorization: `Bearer ${secret}` } });
    const tokenSession = await asToken();
    expect(tokenSession.status).toBe(200);
    expect(((await tokenSession.json()) as { user: { role: string } }).user.role).toBe('viewer');
    await created.getByRole('button', { name: 'Done' }).click();
    const tokens = page.getByRole('table', { name: 'API tokens' });
    const row = tokens.getByRole('row', { name: /ci-pipeline/ });
    await row.waitFor();
    expect(await page.getByText(secret).count()).toBe(0);
    await shot('admin');
    await row.getByRole('button', { name: 'Revoke ci-pipeline' }).click();
    await row.getByRole('button', { name: 'Confirm revoking ci-pipeline' }).click();
    await waitFor(async () => (await asToken()).status === 401, 10_000, 'the revoked token to be refused');

    // Five wrong passwords lock an account; an admin unlocks it here.
    expect((await call('POST', '/api/v1/users', { ...LOCKED, role: 'responder' })).status).toBe(201);
    const other = await browser.newContext();
    try {
      const elsewhere = await other.newPage();
      await elsewhere.goto(`${opsbook.url}/sign-in`);
      const attempt = (password: string) => signIn(LOCKED.username, password, elsewhere);
      for (let i = 0; i < 4; i++) expect(await attempt('not lou password')).toBe(401);
      // The fifth failure locks the account, and the page says so instead of the generic message.
      expect(await attempt('not lou password')).toBe(429);
      await signInForm(elsewhere)
        .getByRole('alert')
        .getByText(/this account is locked for 15 minutes/)
        .waitFor();
      // Locked: even the right password is refused.
      expect(await attempt(LOCKED.password)).toBe(429);
      await page.reload();
      const lou = users.getByRole('row', { name: /^lou/ });
      await lou.getByText(/^locked/).waitFor();
      await lou.getByRole('button', { name: 'Unlock lou' }).click();
      await lou.getByText(/^locked/).waitFor({ state: 'detached' });
      expect(await attempt(LOCKED.password)).toBe(200);
      await elsewhere.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    } finally {
      await other.close();
    }
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
    await page.getByText(/No TLS checks/).waitFor();
    const audit = (await call('GET', '/api/v1/audit?limit=1')).body;
    expect(audit.failedSignIns24h).toBeGreaterThanOrEqual(8);
    await page.getByTestId('failed-sign-ins').getByText(String(audit.failedSignIns24h)).waitFor();
    await page.getByTestId('locked-users').getByText('0', { exact: true }).waitFor();
    const failed = page.getByRole('list', { name: 'Failed sign-ins' });
    // A name that is no user is shown masked: people type passwords into the username field.
    await failed.getByText('unknown user (n…, 11 characters)').waitFor();
    await failed.getByText('lou').first().waitFor();
    const log = page.getByRole('table', { name: 'Access log' });
    await log.getByText('auth.sign-in').first().waitFor();
    await log.getByText('POST /api/v1/incidents/:id/acknowledge').waitFor();
    await shot('dashboard-security');

    // Refused requests are audited too: enough of them to need a second page of the access log.
    for (let i = 0; i < 55; i++)
      expect((await fetch(`${opsbook.url}/api/v1/silences/none`, { method: 'DELETE' })).status).toBe(401);
    const filters = page.getByRole('form', { name: 'Filter the access log' });
    await filters.getByRole('searchbox', { name: 'Actor' }).fill('anonymous');
    await filters.getByRole('combobox', { name: 'Outcome' }).selectOption('denied');
    await waitFor(
      async () => (await log.locator('tbody tr').count()) === 50,
      10_000,
      'a first page of anonymous denials',
    );
    expect(await log.locator('tbody tr:not([data-outcome="denied"])').count()).toBe(0);
    await page.getByRole('button', { name: 'Load more' }).click();
    await waitFor(
      async () => (await log.locator('tbody tr').count()) >= 55,
      10_000,
      'the next page of the access log',
    );
    expect(await log.getByText('ann', { exact: true }).count()).toBe(0);
  });

  it('offers single sign-on on the sign-in page when the server has it, keeping the address', async () => {
    // The server's test drives the OpenID flow itself; here only the page's part: the button and where it goes.
    const other = await browser.newContext();
    try {
      await other.route('**/api/v1/auth/providers', (route) =>
        route.fulfill({ json: { password: true, oidc: { enabled: true, label: 'Microsoft Entra ID' } } }),
      );
      const elsewhere = await other.newPage();
      await elsewhere.goto(`${opsbook.url}/alerts?state=firing`);
      const started = elsewhere.waitForRequest((r) => r.url().includes('/api/v1/auth/oidc/start'));
      await elsewhere.getByRole('button', { name: 'Sign in with Microsoft Entra ID' }).click();
      const url = new URL((await started).url());
      expect(url.searchParams.get('next')).toBe('/alerts?state=firing');
    } finally {
      await other.close();
    }
  });

  it('shows a viewer what they may not do, and signs out', async () => {
    const opened = await call('POST', '/api/v1/incidents', {
      title: 'Billing is slow',
      severity: 'SEV3',
      services: ['billing'],
    });
    expect(opened.status).toBe(201);
    const session = (await context.cookies()).find((c) => c.name === 'opsbook_session')!;
    await signOut();
    // The ended session is gone on the server too, not only from the browser.
    const stale = await fetch(`${opsbook.url}/api/v1/auth/session`, {
      headers: { cookie: `opsbook_session=${session.value}` },
    });
    expect(stale.status).toBe(401);
    // A protected page now shows the sign-in form.
    await page.goto(`${opsbook.url}/incidents/${opened.body.id}`);
    await signInForm().waitFor();
    await signIn(VIEWER.username, VIEWER.password);
    await page.getByRole('heading', { level: 1, name: new RegExp(opened.body.id) }).waitFor();
    await page.getByRole('banner').getByText('viewer', { exact: true }).waitFor();
    expect(
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).count(),
    ).toBe(0);
    const acknowledge = page.getByRole('button', { name: 'Acknowledge' });
    expect(await acknowledge.isDisabled()).toBe(true);
    await page.getByRole('region', { name: 'Respond' }).getByText('needs the responder role').waitFor();
    expect(await page.getByRole('textbox', { name: 'Note' }).isDisabled()).toBe(true);
    await shot('incident-viewer');

    // Their own account: a password change (the server's word on a wrong current password beside that
    // field), and personal tokens never above their own role.
    await page.getByRole('banner').getByRole('link', { name: 'Vic Viewer' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    const change = page.getByRole('form', { name: 'Change your password' });
    await change.getByLabel('Current password').fill('not my password');
    await change.getByLabel('New password', { exact: true }).fill('a brand new password');
    await change.getByLabel('New password again').fill('a brand new password');
    await change.getByRole('button', { name: 'Change password' }).click();
    await change.getByText('the current password is wrong').waitFor();
    expect(await change.getByLabel('Current password').getAttribute('aria-invalid')).toBe('true');
    await change.getByLabel('Current password').fill(VIEWER.password);
    await change.getByRole('button', { name: 'Change password' }).click();
    await change.getByText('Password changed.').waitFor();
    const roles = page.getByRole('form', { name: 'Create a token' }).getByLabel('Role');
    expect(await roles.locator('option').allTextContents()).toEqual(['viewer']);

    await nav('Security');
    await page
      .getByRole('note')
      .getByText(/need the responder role/)
      .waitFor();
    expect(await page.getByRole('table', { name: 'Access log' }).count()).toBe(0);

    await signOut();
    await page.goto(`${opsbook.url}/alerts`);
    await signInForm().waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/alerts');
  });
});
