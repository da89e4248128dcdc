// Issue 4's "done means", through what `npm start` runs (examples/start.ts as a child process: the example
// service, the demo receiver and Opsbook with examples/quickstart.yaml): a slow orders API opens an incident
// by itself, the Service Unavailable runbook's evidence is on its timeline within a minute, the on-call
// person is paged at the demo receiver, acknowledging stops the escalation, and the post-mortem of the
// resolved incident holds the real timeline.
//
// Time is compressed only in a copy of the YAML: probe and scrape periods of 1 s, rule evaluation every
// second and ServiceUnavailable's `for` 3 s instead of 1 m. escalateAfter stays at the schema's minimum of
// 1 m, so the test waits that long once to show that no second page follows an acknowledgement.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { YAMLMap, YAMLSeq } from 'yaml';
import { parseDocument } from 'yaml';
import { apiCaller, type ApiCall } from '../test/api-caller.js';
import { freePort } from '../test/postgres-cluster.js';
import { waitFor } from '../test/target-server.js';
import { defaultRules } from '../packages/server/src/alerts/default-rules.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'packages/server/bin/opsbook.js');
const FAULT = { latencyMs: 2000 };
/** oncall.schema.ts refuses anything shorter. */
const ESCALATE_AFTER_MS = 60_000;

interface Entry {
  at: number;
  kind: string;
  actor: string;
  text: string;
  data: Record<string, any>;
}

/** The quick start's YAML with shorter periods; everything else (on call, receivers, channels) as shipped. */
function compressedConfig(): string {
  const doc = parseDocument(readFileSync(join(ROOT, 'examples/quickstart.yaml'), 'utf8'));
  const services = doc.get('services') as YAMLSeq<YAMLMap>;
  const example = services.items.find((s) => s.get('name') === 'example-service')!;
  for (const check of (example.get('checks') as YAMLSeq<YAMLMap>).items)
    if (['startup', 'orders-api'].includes(check.get('name') as string)) check.set('periodSeconds', 1);
  doc.setIn(['metrics', 'scrape', 0, 'interval'], '1s');
  doc.setIn(['alerting', 'evaluationInterval'], '1s');
  // The shipped rule with a shorter `for`: same expression, window, labels and annotations.
  const rule = defaultRules(true).find((r) => r.alert === 'ServiceUnavailable')!;
  doc.setIn(['alerting', 'defaultRules'], { disable: ['ServiceUnavailable'] });
  doc.setIn(
    ['alerting', 'rules'],
    [{ ...rule, window: `${rule.window / 1000}s`, for: '3s', keepFiringFor: '0s' }],
  );
  doc.setIn(['notifications', 'route', 'groupWait'], '1s');
  doc.setIn(
    ['oncall', 'escalationPolicies', 0, 'levels', 0, 'escalateAfter'],
    `${ESCALATE_AFTER_MS / 1000}s`,
  );
  return doc.toString();
}

describe('the quick start incident flow (npm start)', () => {
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let call: ApiCall;
  let env: NodeJS.ProcessEnv;
  let exampleUrl: string;
  let receiverUrl: string;

  const cli = (args: string[], stdin?: Buffer) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const run = spawn(process.execPath, [CLI, ...args], { env: { ...env, NO_COLOR: '1' } });
      run.stdin.end(stdin);
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      run.on('close', (code) => done({ code, stdout, stderr }));
    });

  const received = async (): Promise<any[]> => (await (await fetch(receiverUrl)).json()) as any[];
  const timeline = async (): Promise<Entry[]> => (await call('GET', '/api/v1/incidents/INC-1')).body.timeline;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-quickstart-'));
    const config = join(dir, 'quickstart.yaml');
    writeFileSync(config, compressedConfig());
    const [opsbookPort, examplePort, receiverPort] = [await freePort(), await freePort(), await freePort()];
    env = {
      ...process.env,
      OPSBOOK_CONFIG: config,
      OPSBOOK_PORT: String(opsbookPort),
      EXAMPLE_PORT: String(examplePort),
      RECEIVER_PORT: String(receiverPort),
      OPSBOOK_DB: join(dir, 'opsbook.db'),
      OPSBOOK_URL: `http://127.0.0.1:${opsbookPort}`,
      // A new user has no token: they sign the CLI in with the generated admin password (README).
      OPSBOOK_ADMIN_TOKEN: '',
      OPSBOOK_TOKEN: '',
      XDG_CONFIG_HOME: join(dir, 'config'),
    };
    exampleUrl = `http://127.0.0.1:${examplePort}`;
    receiverUrl = `http://127.0.0.1:${receiverPort}`;
    // One process, as `npm start` (tsx examples/start.ts) runs it, so SIGTERM reaches start.ts itself.
    child = spawn(process.execPath, ['--import', 'tsx', 'examples/start.ts'], { cwd: ROOT, env });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((done) => child.once('exit', (code) => done(code)));
    // The banner comes once Opsbook is ready (it says how to sign in); at the start of a CI run, with
    // every other test file compiling and starting beside it on two cores, that can take a while.
    await waitFor(
      () => output.includes('npx opsbook incidents show INC-1') || undefined,
      90_000,
      'the banner',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; npm start printed:\n${output.slice(-2000)}`);
    });
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${opsbookPort}/actuator/health/readiness`)).ok || undefined,
      30_000,
      'Opsbook ready',
    );
    // As the banner says: npx opsbook login --username admin --password-stdin < data/initial-admin-password
    const passwordFile = join(dir, 'initial-admin-password');
    expect(output).toContain(`Sign in to the console as admin; the password is in ${passwordFile}`);
    const login = await cli(['login', '--username', 'admin', '--password-stdin'], readFileSync(passwordFile));
    expect(login.stdout).toContain('as admin (admin)');
    const saved = JSON.parse(readFileSync(join(dir, 'config', 'opsbook', 'credentials.json'), 'utf8'));
    call = apiCaller(
      () => `http://127.0.0.1:${opsbookPort}`,
      Object.values<{ token: string }>(saved)[0]!.token,
    );
  }, 150_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('late'), 15_000))]);
      if (stopped === 'late') child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a slow service opens a SEV1 with runbook evidence, pages on call; ack stops escalation; the post-mortem has the timeline', async () => {
    // The banner tells a new user what to do, on the ports actually used.
    expect(output).toContain(`curl -X PUT ${exampleUrl}/admin/faults -d '{"latencyMs":2000}'`);
    expect(output).toContain(`export OPSBOOK_URL=http://localhost:${env.OPSBOOK_PORT}`);
    const oncall = await cli(['oncall']);
    expect(oncall.stdout).toMatch(/^Primary \(primary\)\s+On-call engineer\s/m);

    const injected = await fetch(`${exampleUrl}/admin/faults`, {
      method: 'PUT',
      body: JSON.stringify(FAULT),
    });
    expect(injected.status).toBe(200);
    // Users keep calling the orders API meanwhile; their slow answers are what the latency histogram sees.
    const users = Array.from({ length: 30 }, () => fetch(`${exampleUrl}/api/orders`).then((r) => r.text()));

    // Nobody declares it: the alert opens it.
    const incident = await waitFor(
      async () => (await call('GET', '/api/v1/incidents')).body.items?.[0],
      45_000,
      'an incident opened by ServiceUnavailable',
    );
    expect(incident).toMatchObject({ id: 'INC-1', severity: 'SEV1', services: ['example-service'] });
    expect(incident.title).toMatch(/^example-service availability is [\d.]+% \(below 99%\)$/);

    // The runbook's automated steps, each with what it saw, within a minute of the incident opening.
    const steps = await waitFor(
      async () => {
        const entries = await timeline();
        const byStep = new Map(
          entries.filter((e) => e.kind === 'runbook.step' && e.data.evidence).map((e) => [e.data.stepId, e]),
        );
        return ['probe-service', 'availability', 'error-rate', 'latency'].every((s) => byStep.has(s))
          ? byStep
          : undefined;
      },
      30_000,
      'the Service Unavailable runbook evidence on the timeline',
    );
    for (const entry of steps.values()) expect(entry.at - incident.createdAt).toBeLessThan(60_000);
    const probe = steps.get('probe-service')!;
    expect(probe.data).toMatchObject({ runbookId: 'service-unavailable', status: 'failed' });
    const orders = probe.data.evidence.detail.checks['example-service/orders-api'];
    expect(orders.status).toBe('down');
    expect(orders.latencyMs).toBeGreaterThanOrEqual(1900);
    expect(orders.message).toContain('[RESPONSE_TIME]');
    const series = (stepId: string) =>
      steps.get(stepId)!.data.evidence.samples.find((s: any) => s.labels.service === 'example-service')
        ?.value;
    expect(series('availability')).toBeLessThan(99);
    expect(steps.get('availability')!.data.status).toBe('failed');
    // Slow, not failing: no 5xx, and p95 over the guide's 1 s.
    expect(series('error-rate')).toBe(0);
    expect(steps.get('error-rate')!.data.status).toBe('succeeded');
    expect(series('latency')).toBeGreaterThan(1);
    expect(steps.get('latency')!.data.status).toBe('failed');
    await Promise.all(users);

    // The person on call is paged at the demo receiver, on the pager receiver, and the page is printed.
    const page = await waitFor(
      async () => (await received()).find((b) => b.incident?.kind === 'page'),
      15_000,
      'the page at the demo receiver',
    );
    expect(page.receiver).toBe('demo-pager');
    expect(page.incident).toMatchObject({
      id: 'INC-1',
      severity: 'SEV1',
      page: { target: 'On-call engineer (on call for Primary)', level: 1, loop: 1 },
    });
    await waitFor(
      () =>
        /PAGE\s+\[SEV1\] INC-1 .* — paged: On-call engineer \(level 1, on call for Primary\)\n/.test(
          output,
        ) || undefined,
      10_000,
      'the page printed by the demo receiver',
    );
    const escalation = (await call('GET', '/api/v1/incidents/INC-1/escalation')).body;
    expect(escalation).toMatchObject({ status: 'active', level: 1, next: { level: 2 } });
    const level2Due = escalation.nextAt as number;

    // Acknowledging with the CLI, as the README says, stops the escalation.
    const ack = await cli(['incidents', 'ack', 'INC-1']);
    expect(ack.code).toBe(0);
    expect(ack.stdout).toMatch(/^INC-1 acknowledged by admin .*; stage triage$/m);
    expect((await call('GET', '/api/v1/incidents/INC-1/escalation')).body).toMatchObject({
      status: 'acknowledged',
      nextAt: null,
    });
    // A status update reaches the incident channel (the demo receiver's webhook) meanwhile.
    const update = await call('POST', '/api/v1/incidents/INC-1/status-updates', {
      text: 'Orders API answers in 2 s; looking at it.',
    });
    expect(update.status).toBe(202);
    await waitFor(
      async () =>
        (await received()).find((b) => b.incident?.kind === 'status-update' && b.receiver === 'demo-webhook'),
      15_000,
      'the status update at the demo receiver',
    );
    expect(await fetch(`${exampleUrl}/admin/faults`, { method: 'DELETE' })).toHaveProperty('status', 200);

    // Past the moment level 2 was due (plus the escalator's 5 s tick): still one page, nobody else paged.
    const quiet = level2Due + 8_000;
    await new Promise((r) => setTimeout(r, Math.max(0, quiet - Date.now())));
    const pages = (await received()).filter((b) => b.incident?.kind === 'page');
    expect(pages.map((b) => b.incident.page.target)).toEqual(['On-call engineer (on call for Primary)']);
    expect((await call('GET', '/api/v1/incidents/INC-1/escalation')).body.history).toHaveLength(1);

    const resolved = await cli(['incidents', 'resolve', 'INC-1']);
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toContain('now post-incident');
    await waitFor(
      async () => (await received()).find((b) => b.incident?.kind === 'resolved'),
      15_000,
      'the resolve follow-up to the pager',
    );

    // The draft post-mortem's timeline is the incident's own, from the alert to the resolve.
    const markdown = await waitFor(
      async () => {
        const run = await cli(['incidents', 'postmortem', 'INC-1', '--markdown']);
        return run.code === 0 && run.stdout.includes('resolved by admin') ? run.stdout : undefined;
      },
      20_000,
      'the post-mortem with the resolve notification',
    );
    expect(markdown).toMatch(/^# Post-mortem: INC-1 example-service availability is/m);
    const rows = markdown.split('\n').filter((l) => /^\| \d{4}-\d\d-\d\d /.test(l));
    const row = (kind: string, text: RegExp) =>
      expect(
        rows.some((r) => r.includes(`| ${kind} |`) && text.test(r)),
        `${kind} ${text}`,
      ).toBe(true);
    row('alert.firing', /ServiceUnavailable on example-service firing/);
    row('runbook.step', /Runbook "Service Unavailable" started/);
    row('runbook.step', /Probe the service's checks now: failed .*RESPONSE_TIME/);
    row('runbook.step', /p95 latency per service over 5 minutes \(above 1 s fails\): failed/);
    row('escalation', /Paged On-call engineer \(level 1, loop 1, on call for Primary\)/);
    row(
      'notification',
      /Notified demo-pager \(webhook\): \[SEV1\] INC-1 .* paged: On-call engineer \(level 1, on/,
    );
    row('ack', /Acknowledged by admin/);
    row('escalation', /Escalation stopped at level 1: acknowledged by admin/);
    row('status', /Status update: Orders API answers in 2 s; looking at it\./);
    row('stage', /triage → post-incident/);
    row('notification', /resolved by admin/);
    expect(rows.some((r) => r.includes('Team lead'))).toBe(false);

    // One fault, one incident.
    expect((await call('GET', '/api/v1/incidents')).body.items).toHaveLength(1);
  }, 150_000);
});
