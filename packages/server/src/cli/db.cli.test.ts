// `opsbook db` against a running Opsbook with a `databases:` section over a real PostgreSQL: the
// runtime collects into its metric store, the CLI lists, advises, cancels (asking first) and runs
// maintenance, a runbook cancels behind an approval, and a reload adds a database.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { createTestDatabase } from '../../../../test/databases.js';
import { freePort } from '../../../../test/postgres-cluster.js';
import { Opsbook } from '../runtime/opsbook.js';

const SECRET = 'hunter2-db-secret';

function cli(args: string[]): Promise<CliResult> {
  return runCli(args);
}

// Each CLI start costs a second or more, several on a loaded machine.
describe('opsbook db commands', { timeout: 90_000 }, () => {
  let dir: string;
  let file: string;
  let db: { url: string; drop(): Promise<void> };
  let opsbook: Opsbook;
  let url: string;
  let call: ApiCall;
  let logs = '';
  const sessions: pg.Client[] = [];

  /** A session running pg_sleep, visible as active before this returns. */
  async function sleeper(): Promise<{ pid: number; result: Promise<unknown> }> {
    const client = new pg.Client({ connectionString: db.url, application_name: 'cli-test' });
    client.on('error', () => {});
    await client.connect();
    sessions.push(client);
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const result = client.query('SELECT pg_sleep(60)').catch((error: Error) => error);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { body } = await call('GET', '/api/v1/databases/main/backends');
      if (body.items.some((b: { pid: number; state: string }) => b.pid === pid && b.state === 'active'))
        break;
      if (Date.now() > deadline) throw new Error('the sleeper did not show');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { pid, result };
  }

  const config = (port: number, extra = '') => `
server: { port: ${port} }
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
runbooks: { dirs: [runbooks] }
databases:
  - id: main
    url: ${db.url}
    password: \${OPSBOOK_TEST_DB_PASSWORD}
    service: shop
    thresholds: { longRunningQuery: 1s, idleInTransaction: 1s }
${extra}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-db-'));
    db = await createTestDatabase(inject('postgresUrl'), 'cli_db');
    const port = await freePort();
    mkdirSync(join(dir, 'runbooks'));
    // The runbook path to a destructive database action: an approval, then Opsbook's own API.
    writeFileSync(
      join(dir, 'runbooks', 'cancel-query.yaml'),
      `
id: cancel-query
title: Cancel a runaway query on main
parameters:
  pid: { type: number, required: true }
steps:
  - { id: look, title: The sessions of main, kind: sql, database: main, query: "SELECT current_database() AS db, '${SECRET}' AS echoed" }
  - { id: approve, title: Approve cancelling the query, kind: approval, role: dba, phase: resolution }
  - id: cancel
    title: Cancel the query
    kind: action
    phase: resolution
    request:
      url: "http://127.0.0.1:${port}/api/v1/databases/main/backends/\${pid}/cancel"
      method: POST
      headers: { content-type: application/json, x-opsbook-source: runbook }
      bearerTokenEnv: OPSBOOK_TOKEN
      body: '{"confirm": true, "actor": "runbook:cancel-query"}'
`,
    );
    file = join(dir, 'opsbook.yaml');
    writeFileSync(file, config(port));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    opsbook = new Opsbook({
      configFile: file,
      logger: pino({ level: 'debug' }, sink),
      env: { ...process.env, OPSBOOK_TEST_DB_PASSWORD: SECRET },
    });
    await opsbook.start();
    await opsbook.ready();
    url = opsbook.url;
    call = apiCaller(() => url);
    // The first collection runs at start; wait for it.
    const deadline = Date.now() + 10_000;
    while ((await call('GET', '/api/v1/databases')).body.items[0]?.up !== true) {
      if (Date.now() > deadline) throw new Error('main was never collected');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);

  afterAll(async () => {
    for (const s of sessions) await s.end().catch(() => {});
    await opsbook?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the runtime collects into its metric store, so alert rules see the database', async () => {
    const { body } = await call('GET', '/api/v1/query?query=opsbook_pg_up');
    expect(body.data.result).toEqual([
      expect.objectContaining({
        metric: expect.objectContaining({ database: 'main', service: 'shop' }),
        value: [expect.any(Number), '1'],
      }),
    ]);
  });

  it('db list: a table and JSON', async () => {
    const [table, jsonList] = await Promise.all([
      cli(['db', 'list', '--url', url]),
      cli(['db', 'list', '--url', url, '--json']),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^DATABASE\s+STATUS\s+ROLE\s+SIZE\s+CONNECTIONS\s+FINDINGS\s+COLLECTED\s+SERVICE/,
    );
    expect(lines[1]).toMatch(/^main\s+up\s+primary\s+\d+(\.\d)? MiB\s+\d+\/200\s+.*\s+shop$/);
    const json = JSON.parse(jsonList.stdout);
    expect(json.items[0]).toMatchObject({ id: 'main', up: true, url: db.url });
  });

  it('db health and db queries show a long-running query with the fix', async () => {
    const { pid } = await sleeper();
    // Seen by a fresh collection (the API polls; each CLI start costs a second or more).
    const deadline = Date.now() + 10_000;
    while (
      !(await call('GET', '/api/v1/databases/main/queries?kind=long-running&refresh=true')).body.items.some(
        (q: { pid: number }) => q.pid === pid,
      )
    ) {
      if (Date.now() > deadline) throw new Error('the long-running query was never collected');
      await new Promise((r) => setTimeout(r, 100));
    }
    const [queries, health, missing] = await Promise.all([
      cli(['db', 'queries', 'main', '--long-running', '--url', url]),
      cli(['db', 'health', 'main', '--url', url]),
      cli(['db', 'health', 'nope', '--url', url]),
    ]);
    expect(queries.stdout).toMatch(
      new RegExp(`^${pid}\\s+postgres\\s+active\\s+\\d+s\\s+cli-test\\s+SELECT pg_sleep\\(60\\)`, 'm'),
    );
    expect(health.code).toBe(0);
    expect(health.stdout).toMatch(/^main: up, 0 critical, \d+ warning/);
    expect(health.stdout).toMatch(/^WARNING \(\d+\)$/m);
    expect(health.stdout).toContain(`Query running for`);
    expect(health.stdout).toContain(`fix (destructive): SELECT pg_cancel_backend(${pid});`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no database "nope"; configured: main/);
  });

  it('db cancel refuses without a terminal or --yes (audited), and cancels with --yes', async () => {
    const { pid, result } = await sleeper();
    const refused = await cli(['db', 'cancel', 'main', String(pid), '--url', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cancel of pid \d+ refused: stdin is not a terminal.*pass --yes/);
    const done = await cli([
      'db',
      'cancel',
      'main',
      String(pid),
      '--yes',
      '--reason',
      'runaway',
      '--url',
      url,
    ]);
    expect(done.code).toBe(0);
    expect(done.stdout.trim()).toBe(`pid ${pid} cancelled`);
    expect(String(await result)).toMatch(/canceling statement/);
    const audit = await cli(['db', 'audit', 'main', '--url', url]);
    const rows = audit.stdout.trim().split('\n');
    expect(rows[1]).toMatch(
      new RegExp(`tester\\s+cancel\\s+${pid}\\s+done\\s+cli\\s+pid ${pid} cancelled \\(reason: runaway\\)`),
    );
    expect(rows[2]).toMatch(
      new RegExp(`tester\\s+cancel\\s+${pid}\\s+refused\\s+cli\\s+refused: not confirmed`),
    );
  });

  it('db terminate --json ends the session', async () => {
    const { pid, result } = await sleeper();
    const done = await cli(['db', 'terminate', 'main', String(pid), '--yes', '--json', '--url', url]);
    expect(JSON.parse(done.stdout)).toMatchObject({
      pid,
      action: 'terminate',
      signalled: true,
      stillRunning: false,
    });
    expect(String(await result)).toMatch(/terminating connection/);
  });

  it('db maintenance lists the tasks and runs one, waiting for its outcome', async () => {
    const tasks = await cli(['db', 'maintenance', 'main', '--url', url]);
    expect(tasks.stdout).toMatch(/^vacuum-analyze\s+0 3 \* \* 0 \(UTC\)\s+\d{4}-\d{2}-\d{2} 03:00\s+-\s+-/m);
    const ran = await cli(['db', 'maintenance', 'main', 'run', 'vacuum-analyze', '--url', url]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(
      /^vacuum-analyze on main: succeeded in \d+s: VACUUM \(ANALYZE\) of 0 tables \(run [0-9a-f-]+\)$/m,
    );
    const after = await cli(['db', 'maintenance', 'main', '--url', url]);
    expect(after.stdout).toMatch(/^vacuum-analyze\s+.*\s+\d+s ago\s+succeeded\s+VACUUM/m);

    const vacuum = await cli(['db', 'vacuum', 'main', '--json', '--url', url]);
    expect(vacuum.code).toBe(0);
    expect(JSON.parse(vacuum.stdout)).toMatchObject({ task: 'vacuum-analyze', status: 'succeeded' });
  });

  it('a runbook reads main by its databases: id and cancels a query only once approved', async () => {
    const { pid, result } = await sleeper();
    const started = await call('POST', '/api/v1/runbooks/cancel-query/runs', {
      parameters: { pid },
      actor: 'ann',
    });
    expect(started.status).toBe(201);
    expect(started.body.steps[0]).toMatchObject({
      status: 'succeeded',
      evidence: { rows: [[db.url.split('/').pop(), '***']] },
    });
    expect(started.body.steps[1].status).toBe('waiting');
    expect(
      (await call('GET', '/api/v1/databases/main/backends')).body.items.find(
        (b: { pid: number }) => b.pid === pid,
      )?.state,
    ).toBe('active');
    const approved = await call('POST', `/api/v1/runbook-runs/${started.body.id}/steps/approve/approve`, {
      actor: 'dana',
      roles: ['dba'],
    });
    expect(approved.body.steps[2]).toMatchObject({ status: 'succeeded', destructive: true });
    expect(String(await result)).toMatch(/canceling statement/);
    const audit = await call('GET', '/api/v1/databases/main/backends/audit');
    expect(audit.body.items[0]).toMatchObject({
      pid,
      actor: 'runbook:cancel-query',
      source: 'runbook',
      outcome: 'done',
    });
  });

  it('a reload adds a database; one that does not answer is listed down; no secret reaches the logs', async () => {
    const port = await freePort();
    writeFileSync(
      file,
      readFileSync(file, 'utf8') +
        `  - id: replica-gone\n    url: postgres://postgres@127.0.0.1:${port}/app\n    password: \${OPSBOOK_TEST_DB_PASSWORD}\n    role: replica\n`,
    );
    expect((await opsbook.reload()).applied).toBe(true);
    const deadline = Date.now() + 10_000;
    while ((await call('GET', '/api/v1/databases/replica-gone')).body.up !== false) {
      if (Date.now() > deadline) throw new Error('replica-gone was never collected');
      await new Promise((r) => setTimeout(r, 100));
    }
    const [list, health] = await Promise.all([
      cli(['db', 'list', '--url', url]),
      cli(['db', 'health', 'replica-gone', '--url', url]),
    ]);
    expect(list.stdout).toMatch(/^replica-gone\s+down\s+replica\s+-\s+-\s+1 critical/m);
    expect(health.code).toBe(2);
    expect(health.stdout).toMatch(
      /CRITICAL \(1\)\n- critical Cannot connect to the database\n {4}evidence: error=.*ECONNREFUSED/,
    );
    expect(logs).toContain('database replica-gone unreachable');
    expect(logs).not.toContain(SECRET);
  });
});
