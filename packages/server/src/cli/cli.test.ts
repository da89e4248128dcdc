import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/postgres-cluster.js';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import { testAuth } from '../../../../test/api-caller.js';

const BIN = resolve(import.meta.dirname, '../../bin/opsbook.js');

function opsbook(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('opsbook CLI', () => {
  let dir: string;
  let target: Target;
  let server: ChildProcess | undefined;
  let port: number;
  let configFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-'));
    target = await startTarget();
    target.status.set('/down', 503);
    port = await freePort();
    configFile = join(dir, 'opsbook.yaml');
    writeFileSync(
      configFile,
      `
server: { port: ${port}, host: 127.0.0.1 }
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
services:
  - name: web
    owner: team-web
    checks:
      - { name: ready, periodSeconds: 1, initialDelaySeconds: 0, failureThreshold: 1, http: { url: "${target.url}/ok" } }
      - { name: broken, periodSeconds: 1, initialDelaySeconds: 0, failureThreshold: 1, http: { url: "${target.url}/down" } }
`,
    );
  });

  afterAll(async () => {
    server?.kill('SIGKILL');
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('config validate: exit 0 for a valid file', async () => {
    const result = await opsbook(['config', 'validate', configFile]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/valid: .*\(1 service, 2 checks\)/);
    const json = await opsbook(['config', 'validate', configFile, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, services: 1, checks: 2 });
  });

  it('config validate: every problem with file:line:column, exit code 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'services:\n  - name: web\n    owner: t\n    checks:\n      - name: x\n        periodSeconds: 0\n        tcp: { host: h, port: 99999 }\n',
    );
    const result = await opsbook(['config', 'validate', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${bad}:6:24  services[0].checks[0].periodSeconds:`);
    expect(result.stderr).toContain(`${bad}:7:31  services[0].checks[0].tcp.port:`);
    expect(result.stderr).toMatch(/2 problems/);
    const json = await opsbook(['config', 'validate', bad, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).problems).toHaveLength(2);
  });

  it('serve refuses an invalid config with every problem and exit code 2', async () => {
    const bad = join(dir, 'bad-serve.yaml');
    writeFileSync(bad, 'services:\n  - name: web\n  - name: api\n');
    const result = await opsbook(['serve', '--config', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('services[0].owner');
    expect(result.stderr).toContain('services[1].owner');
    expect(result.stderr).toMatch(/did not start/);
  });

  it('status explains what to do when no server answers', async () => {
    const result = await opsbook(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot reach Opsbook .* is `opsbook serve` running\?/);
  });

  it('serve, status, check run, and SIGTERM', async () => {
    server = spawn(process.execPath, [BIN, 'serve', '--config', configFile], {
      env: { ...process.env, OPSBOOK_LOG_LEVEL: 'warn' },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        const response = await fetch(`${url}/api/v1/checks?status=unhealthy`, { headers: testAuth() }).catch(
          () => undefined,
        );
        return response?.ok && ((await response.json()) as { total: number }).total === 1;
      },
      20_000,
      'server with results',
    );
    await waitFor(
      async () => {
        const response = await fetch(`${url}/api/v1/checks/web/ready`, { headers: testAuth() });
        return ((await response.json()) as { status: string }).status === 'healthy';
      },
      10_000,
      'ready healthy',
    );

    const status = await opsbook(['status', '--url', url]);
    expect(status.code).toBe(1); // a service is unhealthy
    expect(status.stdout).toMatch(/^web\s+unhealthy\s+team-web/m);
    expect(status.stdout).toMatch(/^web\/broken\s+readiness\s+unhealthy/m);
    expect(status.stdout).toMatch(/^web\/ready\s+readiness\s+healthy/m);
    const json = await opsbook(['status', '--json'], { OPSBOOK_URL: url });
    const parsed = JSON.parse(json.stdout) as {
      services: unknown[];
      checks: { id: string; status: string }[];
    };
    expect(parsed.checks.map((c) => [c.id, c.status])).toEqual([
      ['web/broken', 'unhealthy'],
      ['web/ready', 'healthy'],
    ]);

    const remote = await opsbook(['check', 'run', 'web/ready', '--url', url, '--json']);
    expect(remote.code).toBe(0);
    expect(JSON.parse(remote.stdout)).toMatchObject({
      checkId: 'web/ready',
      status: 'up',
      detail: { statusCode: 200 },
    });
    const local = await opsbook(['check', 'run', 'web/broken', '--config', configFile]);
    expect(local.code).toBe(1);
    expect(local.stdout).toMatch(/web\/broken: down/);
    const unknown = await opsbook(['check', 'run', 'web/nope', '--url', url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no check "web\/nope"/);

    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = undefined;
  }, 60_000);
});
