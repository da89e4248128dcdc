// The runbooks CLI against a running Opsbook: list, show, run --wait, tick, approve with and without
// confirmation, reject, run details; destructive actions hit a real HTTP server only once approved.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import pino from 'pino';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { startTarget, type Target } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';
import { createAccount, type TestAccount } from '../../../../test/accounts.js';

// Each CLI call is a new Node process loading the whole CLI; on a busy 2-core machine that takes seconds.
const SLOW = 120_000;

describe('opsbook runbooks', () => {
  let dir: string;
  let opsbook: Opsbook;
  let target: Target;
  let call: ApiCall;

  function cli(args: string[], token?: string): Promise<CliResult> {
    return runCli(args, { OPSBOOK_URL: opsbook.url, ...(token && { OPSBOOK_TOKEN: token }) });
  }
  // Approvers are real accounts: tester (responder) is outside the operator group, carol in it.
  let tester: TestAccount;
  let carol: TestAccount;
  const accounts = async () => {
    tester ??= await createAccount(() => opsbook.url, { username: 'tester', role: 'responder' });
    carol ??= await createAccount(() => opsbook.url, {
      username: 'carol',
      role: 'responder',
      groups: ['operator'],
    });
  };

  const runOf = async (id: string) => (await call('GET', `/api/v1/runbook-runs/${id}`)).body;
  const stepStatus = async (id: string, step: string) =>
    (await runOf(id)).steps.find((s: any) => s.id === step).status as string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-runbooks-'));
    target = await startTarget();
    target.status.set('/broken', 500);
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(
      join(dir, 'runbooks', 'restart.yaml'),
      `
id: restart-web
title: Restart the web tier
parameters:
  tier: { type: enum, values: [web, api], default: web, description: which tier }
  replicas: { type: number, default: 2 }
steps:
  - { id: probe, title: Probe the web tier, kind: http, url: "${target.url}/health" }
  - { id: drain, title: Drain traffic, kind: manual, phase: resolution, checklist: [Load balancer drained] }
  - { id: ok, title: Approve the restart, kind: approval, role: operator, phase: resolution }
  - id: restart
    title: Restart the pods
    kind: action
    phase: resolution
    request: { url: "${target.url}/restart/\${tier}", method: POST }
`,
    );
    writeFileSync(
      join(dir, 'runbooks', 'broken.yaml'),
      `
id: broken-probe
title: Probe a broken endpoint
steps:
  - { id: first, title: Probe health, kind: http, url: "${target.url}/health" }
  - { id: broken, title: Probe the broken path, kind: http, url: "${target.url}/broken" }
  - { id: never, title: Never reached, kind: manual }
`,
    );
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }\nalerting: { defaultRules: false }\nrunbooks: { dirs: [runbooks] }\n`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    call = apiCaller(() => opsbook.url);
  }, 30_000);

  afterAll(async () => {
    await opsbook.stop();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'list and show: steps with kinds, destructive ones marked, parameters with allowed values',
    async () => {
      const [list, json, show, missing] = await Promise.all([
        cli(['runbooks', 'list']),
        cli(['runbooks', 'list', '--json']),
        cli(['runbooks', 'show', 'restart-web']),
        cli(['runbooks', 'show', 'restart']),
      ]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^ID\s+TITLE\s+STEPS\s+STARTS\s+PARAMETERS$/m);
      expect(list.stdout).toMatch(
        /^restart-web\s+Restart the web tier\s+4 \(1 destructive\)\s+by hand\s+tier, replicas$/m,
      );
      expect(list.stdout).toMatch(
        /^service-unavailable\s+Service Unavailable\s+11\s+alerts ServiceUnavailable; by hand/m,
      );
      expect(JSON.parse(json.stdout).items.map((r: any) => r.id)).toEqual(
        expect.arrayContaining(['database-issues', 'security-incident', 'restart-web', 'broken-probe']),
      );

      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/^tier\s+enum\s+web, api\s+web\s+which tier$/m);
      expect(show.stdout).toMatch(/^replicas\s+number\s+any\s+2/m);
      expect(show.stdout).toMatch(/^2\s+drain\s+manual\s+resolution\s+Drain traffic$/m);
      expect(show.stdout).toMatch(/^4\s+restart\s+action DESTRUCTIVE\s+resolution\s+Restart the pods$/m);

      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no runbook "restart"; there are: .*restart-web/);
    },
    SLOW,
  );

  it(
    'run --wait follows the run until it waits for a person, noted on the incident; tick moves it on',
    async () => {
      const incident = (
        await call('POST', '/api/v1/incidents', { title: 'Web tier stuck', severity: 'SEV3', actor: 'ann' })
      ).body.id as string;
      const [badParam, unknownParam, started] = await Promise.all([
        cli(['runbooks', 'run', 'restart-web', '--param', 'tier=db']),
        cli(['runbooks', 'run', 'restart-web', '--param', 'size=3']),
        cli([
          'runbooks',
          'run',
          'restart-web',
          '--param',
          'tier=api',
          '--param',
          'replicas=3',
          '--incident',
          incident,
          '--wait',
        ]),
      ]);
      expect(badParam.code).toBe(1);
      expect(badParam.stderr).toMatch(/--param tier: "db" is not one of web, api/);
      expect(unknownParam.code).toBe(1);
      expect(unknownParam.stderr).toMatch(
        /runbook restart-web has no parameter "size"; it takes: tier, replicas/,
      );

      expect(started.code).toBe(0);
      expect(started.stdout).toMatch(/^starting restart-web \(4 steps\)$/m);
      expect(started.stdout).toMatch(/^ {2}succeeded\s+probe \(http\): Probe the web tier — 200 in \d+ ms$/m);
      expect(started.stdout).toMatch(/^ {2}waiting\s+drain \(manual\): Drain traffic/m);
      expect(started.stdout).toMatch(/^\[#+-+\] 1\/4 steps {2}waiting: waiting on drain$/m);
      const runId = /^run (\S+) waiting$/m.exec(started.stdout)![1]!;
      expect(started.stdout).toContain(`when it is done: opsbook runbooks tick ${runId} drain`);
      const run = await runOf(runId);
      expect(run).toMatchObject({ startedBy: 'tester', parameters: { tier: 'api', replicas: 3 } });
      const timeline = (await call('GET', `/api/v1/incidents/${incident}`)).body.timeline;
      // Linked by the server, so the run's own steps land on the incident's timeline.
      expect(timeline.map((t: any) => t.text)).toEqual(
        expect.arrayContaining([
          `Runbook "Restart the web tier" started (${runId})`,
          expect.stringMatching(/^Probe the web tier: succeeded/),
        ]),
      );
      expect(run.trigger).toMatchObject({ incident });

      const [runs, runsJson, ticked] = await Promise.all([
        cli(['runbooks', 'runs']),
        cli(['runbooks', 'runs', '--status', 'succeeded', '--json']),
        cli(['runbooks', 'tick', runId, 'drain', '--note', 'LB drained', '--as', 'bob']),
      ]);
      expect(runs.stdout).toMatch(/^RUN\s+RUNBOOK\s+STATUS\s+STEPS\s+WAITING ON\s+FOR\s+BY\s+STARTED$/m);
      expect(runs.stdout).toMatch(
        new RegExp(
          `^${runId}\\s+restart-web\\s+waiting\\s+\\d/4\\s+(drain|ok)\\s+${incident}\\s+tester`,
          'm',
        ),
      );
      expect(JSON.parse(runsJson.stdout).items.map((r: any) => r.id)).not.toContain(runId);
      expect(ticked.code).toBe(0);
      expect(ticked.stdout).toMatch(/^ticked drain; run \S+ is waiting \(2\/4 steps\)$/m);
      expect(ticked.stdout).toMatch(
        /^ {2}succeeded\s+drain \(manual\): Drain traffic — ticked by bob: LB drained$/m,
      );
      expect(ticked.stdout).toMatch(
        /waiting for approval by role or group operator until .*: Approve the restart/,
      );
      expect(ticked.stdout).toMatch(/approving lets 1 destructive step run: restart/);
    },
    SLOW,
  );

  it(
    'approving a step that lets a destructive action run needs --yes without a terminal, and the role',
    async () => {
      const runId = (await call('POST', '/api/v1/runbooks/restart-web/runs', { actor: 'ann' })).body
        .id as string;
      await call('POST', `/api/v1/runbook-runs/${runId}/steps/drain/tick`, { actor: 'ann' });

      await accounts();
      const refused = await cli(['runbooks', 'approve', runId, 'ok'], carol.token);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /approving ok lets destructive step run: restart \(Restart the pods\); there is no terminal to confirm on, so pass --yes/,
      );
      expect(await stepStatus(runId, 'ok')).toBe('waiting');

      const [noRole, json] = await Promise.all([
        cli(['runbooks', 'approve', runId, 'ok', '--yes'], tester.token),
        cli(['runbooks', 'approve', runId, 'ok', '--json'], tester.token),
      ]);
      expect(noRole.code).toBe(1);
      expect(noRole.stderr).toMatch(
        /approving ok needs role operator; your account needs that role or group: an admin adds it with `opsbook users set-groups <you> <group>`/,
      );
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).error.message).toMatch(/pass --yes/);
      expect(target.hits.get('/restart/web') ?? 0).toBe(0);

      const approved = await cli(['runbooks', 'approve', runId, 'ok', '--yes'], carol.token);
      expect(approved.code).toBe(0);
      expect(approved.stdout).toMatch(/^approved ok; run \S+ is succeeded \(4\/4 steps\)$/m);
      expect(approved.stdout).toMatch(
        /^ {2}succeeded\s+restart \(action DESTRUCTIVE\): Restart the pods — 200 in \d+ ms$/m,
      );
      expect(target.hits.get('/restart/web')).toBe(1);

      const [show, showJson] = await Promise.all([
        cli(['runbooks', 'runs', 'show', runId]),
        cli(['runbooks', 'runs', 'show', runId, '--json']),
      ]);
      expect(show.stdout).toMatch(/^Restart the web tier \(restart-web\) {2}run \S+ {2}succeeded$/m);
      expect(show.stdout).toMatch(/^ 1\. succeeded\s+probe {2}\(http, investigation\)/m);
      expect(show.stdout).toMatch(/^ {6}GET http:\/\/127\.0\.0\.1:\d+\/health → 200 in \d+ ms$/m);
      expect(show.stdout).toMatch(/^ {6}\[x\] Load balancer drained$/m);
      expect(show.stdout).toMatch(/^ 3\. succeeded\s+ok {2}\(approval, resolution\).* by carol$/m);
      expect(show.stdout).toMatch(/^ 4\. succeeded\s+restart {2}\(action DESTRUCTIVE, resolution\)/m);
      expect(show.stdout).toMatch(/^ {6}POST http:\/\/127\.0\.0\.1:\d+\/restart\/web → 200/m);
      expect(show.stdout).toMatch(/^ {2}\S+ \S+ {2}tester {2}approval\.refused ok$/m);
      expect(show.stdout).toMatch(/^ {2}\S+ \S+ {2}carol {2}action\.executed restart$/m);
      expect(JSON.parse(showJson.stdout).audit.map((a: any) => a.action)).toEqual(
        expect.arrayContaining(['run.started', 'step.ticked', 'step.approved', 'action.executed']),
      );
    },
    SLOW,
  );

  it(
    'reject needs a comment and skips the destructive step; --wait exits 1 when the run fails',
    async () => {
      const runId = (await call('POST', '/api/v1/runbooks/restart-web/runs', { actor: 'ann' })).body
        .id as string;
      await call('POST', `/api/v1/runbook-runs/${runId}/steps/drain/tick`, { actor: 'ann' });

      await accounts();
      const [uncommented, failedRun, unknownRun] = await Promise.all([
        cli(['runbooks', 'reject', runId, 'ok'], carol.token),
        cli(['runbooks', 'run', 'broken-probe', '--wait']),
        cli(['runbooks', 'runs', 'show', 'no-such-run']),
      ]);
      expect(uncommented.code).toBe(1);
      expect(uncommented.stderr).toMatch(/--comment/);
      expect(failedRun.code).toBe(1);
      expect(failedRun.stdout).toMatch(
        /^ {2}failed\s+broken \(http\): Probe the broken path — \[STATUS\] \(500\) < 400$/m,
      );
      expect(failedRun.stdout).toMatch(/^ {2}skipped\s+never \(manual\)/m);
      expect(failedRun.stdout).toMatch(/^run \S+ failed in \d+s \(failed: broken\)$/m);
      expect(unknownRun.code).toBe(1);
      expect(unknownRun.stderr).toMatch(/no runbook run no-such-run; see `opsbook runbooks runs`/);

      const rejected = await cli(
        ['runbooks', 'reject', runId, 'ok', '--comment', 'traffic peak, not now'],
        carol.token,
      );
      expect(rejected.code).toBe(0);
      expect(rejected.stdout).toMatch(
        /^ {2}rejected\s+ok \(approval\): .*rejected by carol: traffic peak, not now$/m,
      );
      expect(rejected.stdout).toMatch(/^ {2}skipped\s+restart \(action DESTRUCTIVE\)/m);
      expect(rejected.stdout).toMatch(/^run \S+ failed/m);
      expect(target.hits.get('/restart/web') ?? 0).toBe(1);
    },
    SLOW,
  );
});
