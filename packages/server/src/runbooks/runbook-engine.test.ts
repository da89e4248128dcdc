import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { NotAllowedError } from '../errors.js';
import type { Series } from '../telemetry/series.js';
import { RunbookEngine, type RunbookEngineOptions } from './runbook-engine.js';
import { loadRunbooks, loadRunbookText } from './runbook-loader.js';
import type { Runbook } from './runbook.schema.js';
import { STEP_TABLE } from './steps/index.js';
import type { StepServices } from './steps/step.js';

let server: Server;
let base: string;
let actionHits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'UP', token: 's3cr3t-value' }));
    } else if (req.url === '/fail') {
      res.writeHead(503);
      res.end('unavailable');
    } else if (req.url === '/action' && req.method === 'POST') {
      actionHits++;
      res.writeHead(204);
      res.end();
    } else if (req.url === '/hang') {
      // never answers
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function runbooks(...texts: string[]): Map<string, Runbook> {
  const map = new Map<string, Runbook>();
  for (const text of texts) {
    const result = loadRunbookText(text, 'test.yaml');
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    map.set(result.runbook.id, result.runbook);
  }
  return map;
}

const services = (overrides: Partial<StepServices> = {}): StepServices => ({
  checks: {
    runNow: async (id) => {
      if (id !== 'api-health') throw new Error(`no check ${id}`);
      return { status: 'up', latencyMs: 3 };
    },
  },
  metrics: { select: async () => [] as Series[] },
  databases: (name) => (name === 'primary' ? inject('postgresUrl') : undefined),
  allowShell: false,
  ...overrides,
});

const HTTP_RUNBOOK = () => `id: http-flow
title: HTTP flow
steps:
  - id: ok
    title: healthy
    kind: http
    url: ${base}/ok
    conditions: ['[STATUS] == 200', '[BODY].status == UP']
  - id: fail
    title: failing, allowed to fail
    kind: http
    url: ${base}/fail
    conditions: ['[STATUS] == 200']
    continueOnFailure: true
  - id: check
    title: run a check now
    kind: check
    check: api-health
`;

const STOPPING = () => `id: stopping
title: Stops at the first failure
steps:
  - id: fail
    title: failing
    kind: http
    url: ${base}/fail
  - id: after
    title: never runs
    kind: http
    url: ${base}/ok
`;

const APPROVAL = () => `id: approval-flow
title: Manual, approval, action
steps:
  - id: look
    title: look at the dashboards
    kind: manual
  - id: approve
    title: approve the restart
    kind: approval
    phase: resolution
    role: dba
    timeout: 10m
  - id: restart
    title: restart
    kind: action
    phase: resolution
    request: { url: '${base}/action', method: POST }
`;

describe.each(ENGINES)('runbook engine on %s', (engine) => {
  let db: TestStore;
  let clock: number;
  const engines: RunbookEngine[] = [];
  const make = (options: Partial<RunbookEngineOptions> & Pick<RunbookEngineOptions, 'runbooks'>) => {
    const created = new RunbookEngine({
      store: db.store,
      services: services(),
      now: () => clock,
      ...options,
    });
    engines.push(created);
    return created;
  };

  beforeEach(async () => {
    db = await openTestStore(engine);
    clock = 1_700_000_000_000;
    actionHits = 0;
  });
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
    await db.cleanup();
  });

  it('runs http and check steps; continue-on-failure goes on, and a failure without it stops the run', async () => {
    const rb = make({ runbooks: runbooks(HTTP_RUNBOOK(), STOPPING()) });
    const run = await rb.start({ runbookId: 'http-flow', actor: 'alice' });
    expect(run.status).toBe('completed_with_failures');
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ['ok', 'succeeded'],
      ['fail', 'failed'],
      ['check', 'succeeded'],
    ]);
    expect(run.steps[0]!.evidence).toMatchObject({ status: 200 });
    expect(run.steps[1]!.message).toContain('[STATUS] (503) == 200');

    const stopped = await rb.start({ runbookId: 'stopping', actor: 'alice' });
    expect(stopped.status).toBe('failed');
    expect(stopped.steps.map((s) => s.status)).toEqual(['failed', 'skipped']);
  });

  it('runs a PromQL metrics step against the metric source and fails it past the threshold', async () => {
    const at = clock;
    const metrics = {
      select: async (): Promise<Series[]> => [
        { labels: { __name__: 'cpu_busy', instance: 'a' }, samples: [{ t: at - 1_000, v: 50 }] },
        { labels: { __name__: 'cpu_busy', instance: 'b' }, samples: [{ t: at - 1_000, v: 95 }] },
      ],
    };
    const rb = make({
      services: services({ metrics }),
      runbooks: runbooks(
        `id: cpu\ntitle: CPU\nsteps:\n  - { id: cpu, title: cpu, kind: metrics, query: cpu_busy, failIf: { op: '>', value: 80 } }\n`,
      ),
    });
    const run = await rb.start({ runbookId: 'cpu', actor: 'alice' });
    expect(run.steps[0]).toMatchObject({ status: 'failed', message: '1 of 2 series > 80' });
    expect(run.steps[0]!.evidence.breaching).toEqual([
      { labels: { __name__: 'cpu_busy', instance: 'b' }, value: 95 },
    ]);
  });

  it('times a step out with its own timeout', async () => {
    const rb = make({
      runbooks: runbooks(
        `id: slow\ntitle: Slow\nsteps:\n  - { id: hang, title: hangs, kind: http, url: '${base}/hang', timeout: 200 }\n`,
      ),
    });
    const started = Date.now();
    const run = await rb.start({ runbookId: 'slow', actor: 'alice' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(run.status).toBe('failed');
    expect(run.steps[0]!.message).toMatch(/timed out|abort/i);
  });

  it('pauses for a tick and an approval with the right role, then runs the destructive action; all audited', async () => {
    const rb = make({ runbooks: runbooks(APPROVAL()) });
    let run = await rb.start({ runbookId: 'approval-flow', actor: 'alice', trigger: { incident: 'inc-1' } });
    expect(run.status).toBe('waiting');
    expect(run.steps.map((s) => s.status)).toEqual(['waiting', 'pending', 'pending']);

    clock += 1_000;
    run = await rb.tick(run.id, 'look', 'alice');
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'waiting', 'pending']);
    expect(run.steps[1]!.deadline).toBe(clock + 10 * 60_000);

    clock += 1_000;
    await expect(rb.approve(run.id, 'approve', { id: 'bob', roles: ['operator'] })).rejects.toBeInstanceOf(
      NotAllowedError,
    );
    expect(actionHits).toBe(0);

    clock += 1_000;
    run = await rb.approve(run.id, 'approve', { id: 'carol', roles: ['dba'] });
    expect(run.status).toBe('succeeded');
    expect(actionHits).toBe(1);
    expect(run.steps[2]).toMatchObject({ status: 'succeeded', destructive: true });
    expect(run.steps[1]!.actor).toBe('carol');

    const audit = await rb.auditLog(run.id);
    expect(audit.map((a) => [a.action, a.actor, a.stepId, a.at - 1_700_000_000_000])).toEqual([
      ['run.started', 'alice', null, 0],
      ['step.ticked', 'alice', 'look', 1_000],
      ['approval.refused', 'bob', 'approve', 2_000],
      ['step.approved', 'carol', 'approve', 3_000],
      ['action.executed', 'carol', 'restart', 3_000],
      ['run.finished', 'system', null, 3_000],
    ]);
    expect(audit[4]!.detail).toMatchObject({ destructive: true, status: 'succeeded' });
  });

  it('never runs the action after a rejected approval', async () => {
    const rb = make({ runbooks: runbooks(APPROVAL()) });
    let run = await rb.start({ runbookId: 'approval-flow', actor: 'alice' });
    run = await rb.tick(run.id, 'look', 'alice');
    run = await rb.reject(run.id, 'approve', { id: 'carol', roles: ['dba'] }, 'not now');
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'rejected', 'skipped']);
    expect(actionHits).toBe(0);
    expect((await rb.auditLog(run.id)).map((a) => a.action)).toContain('step.rejected');
  });

  it('times out a waiting approval', async () => {
    const rb = make({ runbooks: runbooks(APPROVAL()) });
    let run = await rb.start({ runbookId: 'approval-flow', actor: 'alice' });
    run = await rb.tick(run.id, 'look', 'alice');
    clock += 5 * 60_000;
    expect(await rb.checkTimeouts()).toBe(0);
    clock += 6 * 60_000;
    expect(await rb.checkTimeouts()).toBe(1);
    run = await rb.get(run.id);
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'timed_out', 'skipped']);
    expect(actionHits).toBe(0);
    const audit = await rb.auditLog(run.id);
    expect(audit.find((a) => a.action === 'step.timed_out')).toMatchObject({
      actor: 'system',
      stepId: 'approve',
    });
    await expect(rb.approve(run.id, 'approve', { id: 'carol', roles: ['dba'] })).rejects.toThrow(
      /not waiting/,
    );
  });

  it('a run waiting for approval is still waiting after a restart, and the new engine continues it', async () => {
    const first = make({ runbooks: runbooks(APPROVAL()) });
    let run = await first.start({ runbookId: 'approval-flow', actor: 'alice' });
    run = await first.tick(run.id, 'look', 'alice');
    await first.close();

    const second = make({ runbooks: runbooks(APPROVAL()) });
    await second.resume();
    run = await second.get(run.id);
    expect(run.status).toBe('waiting');
    expect(run.steps[1]!.status).toBe('waiting');
    expect((await second.list({ status: ['waiting'] })).map((r) => r.id)).toEqual([run.id]);
    run = await second.approve(run.id, 'approve', { id: 'carol', roles: ['admin'] });
    expect(run.status).toBe('succeeded');
    expect(actionHits).toBe(1);
  });

  it('after a restart, a step that was running is failed (not repeated) and the run goes on', async () => {
    const text = `id: interrupted\ntitle: Interrupted\nsteps:\n  - { id: stuck, title: stuck, kind: http, url: '${base}/ok', timeout: 1s, continueOnFailure: true }\n  - { id: next, title: next, kind: manual }\n`;
    let calls = 0;
    const first = make({
      runbooks: runbooks(text),
      steps: { ...STEP_TABLE, http: () => (calls++, new Promise(() => {})) },
    });
    const pending = first.start({ runbookId: 'interrupted', actor: 'alice' });
    let runId: string | undefined;
    while (!runId) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      runId = (await first.list()).find((r) => r.steps[0]!.status === 'running')?.id;
    }
    // A new process over the same database.
    const second = make({ runbooks: runbooks(text) });
    await second.resume();
    const run = await second.get(runId);
    expect(run.status).toBe('waiting');
    expect(run.steps.map((s) => [s.status, s.message])).toEqual([
      ['failed', 'interrupted by a restart'],
      ['waiting', 'waiting for a person to tick this step'],
    ]);
    expect(calls).toBe(1);
    expect((await second.auditLog(runId)).map((a) => a.action)).toContain('step.interrupted');
    await pending;
    // The old process's late timeout must not overwrite the step.
    expect((await second.get(runId)).steps[0]!.message).toBe('interrupted by a restart');
  });

  it('redacts URL passwords and known secret values from evidence', async () => {
    const url = base.replace('http://', 'http://user:pa55word@');
    const rb = make({
      runbooks: runbooks(
        `id: secret\ntitle: Secret\nsteps:\n  - { id: get, title: get, kind: http, url: '${url}/ok' }\n`,
      ),
      secrets: () => ['s3cr3t-value'],
    });
    const run = await rb.start({ runbookId: 'secret', actor: 'alice' });
    expect(run.steps[0]!.status).toBe('succeeded');
    const stored = JSON.stringify(run.steps[0]);
    expect(stored).not.toContain('pa55word');
    expect(stored).not.toContain('s3cr3t-value');
    expect(stored).toContain('user:***@127.0.0.1');
    expect(stored).toContain('***');
  });

  it('refuses shell steps unless allowed, and interpolates only validated parameters, never trigger text', async () => {
    const text = `id: shell
title: Shell
parameters:
  level: { type: enum, values: [low, high], default: low }
steps:
  - id: argv
    title: print argv
    kind: shell
    command: ['${process.execPath}', -e, 'console.log(JSON.stringify(process.argv.slice(1)))', '\${level}']
`;
    const refused = make({ runbooks: runbooks(text) });
    const denied = await refused.start({ runbookId: 'shell', actor: 'alice' });
    expect(denied.steps[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/disabled/) });

    const allowed = make({ runbooks: runbooks(text), services: services({ allowShell: true }) });
    const hostile = { alert: { labels: { level: '$(touch /tmp/pwned)', alertname: '; rm -rf /' } } };
    const run = await allowed.start({
      runbookId: 'shell',
      actor: 'alice',
      parameters: { level: 'high' },
      trigger: hostile,
    });
    expect(run.status).toBe('succeeded');
    expect(JSON.parse(String(run.steps[0]!.evidence.stdout))).toEqual(['high']);
    expect(run.trigger).toEqual(hostile);
    await expect(
      allowed.start({ runbookId: 'shell', actor: 'alice', parameters: { level: '$(touch /tmp/pwned)' } }),
    ).rejects.toThrow(/must be one of low, high/);

    const limits = make({
      services: services({ allowShell: true }),
      runbooks: runbooks(`id: limits
title: Limits
steps:
  - id: slow
    title: sleeps past its timeout
    kind: shell
    command: ['${process.execPath}', -e, 'setTimeout(() => {}, 20000)']
    timeout: 300
    continueOnFailure: true
  - id: loud
    title: prints a lot
    kind: shell
    command: ['${process.execPath}', -e, 'process.stdout.write("x".repeat(100000))']
`),
    });
    const started = Date.now();
    const capped = await limits.start({ runbookId: 'limits', actor: 'alice' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(capped.steps[0]).toMatchObject({ status: 'failed' });
    expect(capped.steps[1]!.status).toBe('succeeded');
    expect(String(capped.steps[1]!.evidence.stdout)).toHaveLength(16 * 1024);
    expect(capped.steps[1]!.evidence.truncated).toBe(true);
  });
});

describe('sql steps on the real PostgreSQL', () => {
  let db: TestStore;
  beforeAll(async () => {
    db = await openTestStore('sqlite');
  });
  afterAll(async () => {
    await db.cleanup();
  });

  it('runs the Database Issues investigation: pg_stat_activity as a table, then waits for the manual step', async () => {
    const rb = new RunbookEngine({
      store: db.store,
      runbooks: loadRunbooks().runbooks,
      services: services(),
    });
    expect(rb.runbooksFor({ alertname: 'SlowDatabaseQueries', service: 'api' }).map((r) => r.id)).toEqual([
      'database-issues',
    ]);
    const run = await rb.start({ runbookId: 'database-issues', actor: 'alice' });
    expect(run.status).toBe('waiting');
    const step = (id: string) => run.steps.find((s) => s.id === id)!;
    expect(step('database-health').status).toBe('succeeded');
    expect(step('connection-count')).toMatchObject({ status: 'succeeded' });
    expect(step('connection-count').evidence).toMatchObject({
      database: 'primary',
      columns: ['connections', 'max_connections', 'idle_in_transaction'],
      truncated: false,
    });
    const rows = step('connection-count').evidence.rows as number[][];
    expect(Number(rows[0]![0])).toBeGreaterThanOrEqual(1);
    expect(step('long-running').status).toBe('succeeded');
    expect(step('blocking')).toMatchObject({
      status: 'succeeded',
      evidence: expect.objectContaining({ rowCount: 0 }),
    });
    // pg_stat_statements may not be installed: the step may fail, and the run goes on.
    expect(['succeeded', 'failed']).toContain(step('slow-queries').status);
    expect(step('azure-status').status).toBe('waiting');
    expect(JSON.stringify(run)).not.toMatch(/postgres:\/\/[^:]+:[^*@][^@]*@/);
    await rb.close();
  });

  it('runs queries read-only and caps rows', async () => {
    const rb = new RunbookEngine({
      store: db.store,
      services: services(),
      runbooks: runbooks(`id: sql
title: SQL
steps:
  - { id: rows, title: rows, kind: sql, database: primary, query: 'SELECT g FROM generate_series(1, 50) g', maxRows: 5 }
  - { id: write, title: write, kind: sql, database: primary, query: 'CREATE TABLE should_not_exist (i int)', continueOnFailure: true }
  - { id: unknown, title: unknown, kind: sql, database: nowhere, query: 'SELECT 1', continueOnFailure: true }
`),
    });
    const run = await rb.start({ runbookId: 'sql', actor: 'alice' });
    expect(run.steps[0]!.evidence).toMatchObject({
      columns: ['g'],
      rows: [[1], [2], [3], [4], [5]],
      rowCount: 50,
      truncated: true,
    });
    expect(run.steps[1]).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/read-only transaction/),
    });
    expect(run.steps[2]).toMatchObject({
      status: 'failed',
      message: 'no database named nowhere is configured',
    });
    await rb.close();
  });
});
