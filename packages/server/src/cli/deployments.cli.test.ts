// `opsbook deployments` against a running Opsbook: record from a pipeline, finish, list and show with
// the watch window and the alerts that fired in it; bad input exits 1 with the reason.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCaller } from '../../../../test/api-caller.js';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import { waitFor } from '../../../../test/target-server.js';
import type { Opsbook } from '../runtime/opsbook.js';
import { startOpsbook, type RunningOpsbook } from '../../../../test/running-opsbook.js';

describe('opsbook deployments', () => {
  let running: RunningOpsbook;
  let opsbook: Opsbook;
  const call = apiCaller(() => opsbook.url);
  const cli = (args: string[]): Promise<CliResult> => runCli([...args, '--url', opsbook.url]);

  beforeAll(async () => {
    running = await startOpsbook(
      'cli-deployments',
      (dir) =>
        `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
deployments: { watchFor: 45m }
services:
  - { name: shop, owner: team-shop }
  - { name: billing, owner: team-billing, environment: staging }
`,
    );
    opsbook = running.opsbook;
  }, 30_000);

  afterAll(() => running.stop());

  it('records a finished deployment with its link, as the tester, watched for deployments.watchFor', async () => {
    const recorded = await cli([
      'deployments',
      'record',
      '--service',
      'shop',
      '--version',
      '1.4.2',
      '--link',
      'https://ci.example.com/runs/7',
      '-d',
      'new checkout',
    ]);
    expect(recorded.stderr).toBe('');
    expect(recorded.code).toBe(0);
    expect(recorded.stdout).toMatch(
      /^deployment shop-\d{8}T\d{6}Z-[0-9a-f]{4}: shop 1\.4\.2 to production, succeeded by tester\n/,
    );
    expect(recorded.stdout).toMatch(/^ {2}watch {5}until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    expect(recorded.stdout).toContain('  url       https://ci.example.com/runs/7');
    expect(recorded.stdout).toContain('  alerts    none fired for shop in the window');
    const stored = (await call('GET', '/api/v1/deployments?service=shop')).body.items[0];
    expect(stored).toMatchObject({ version: '1.4.2', by: 'tester', description: 'new checkout' });
    expect(stored.watchUntil - stored.finishedAt).toBe(45 * 60_000);
  });

  it('refuses an unknown service and an unknown status, exit 1 with what to do', async () => {
    const unknown = await cli(['deployments', 'record', '--service', 'nope', '--version', '1']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no service "nope" in the config; .*\(shop, billing\)/);
    const status = await cli([
      'deployments',
      'record',
      '-s',
      'shop',
      '-v',
      '1',
      '--status',
      'done',
      '--json',
    ]);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout).error.message).toMatch(/--status "done" is not one of in_progress/);
  });

  it('a pipeline records the start, then the end; list and show carry the alerts fired meanwhile', async () => {
    const started = await cli([
      'deployments',
      'record',
      '--service',
      'billing',
      '--version',
      '2.0.0',
      '--status',
      'in_progress',
      '--as',
      'pipeline',
      '--json',
    ]);
    expect(started.code).toBe(0);
    const id = JSON.parse(started.stdout).id as string;
    expect(JSON.parse(started.stdout)).toMatchObject({
      status: 'in_progress',
      environment: 'staging',
      by: 'pipeline',
    });

    await call('POST', '/api/v2/alerts', [
      {
        labels: { alertname: 'InvoiceErrors', service: 'billing', severity: 'critical' },
        annotations: { summary: '7% errors' },
      },
    ]);
    await waitFor(
      async () => (await call('GET', `/api/v1/deployments/${id}`)).body.alerts.length === 1,
      5_000,
      'the alert on the deployment',
    );

    const finished = await cli(['deployments', 'update', id, '--status', 'succeeded', '--json']);
    expect(finished.code).toBe(0);
    expect(JSON.parse(finished.stdout)).toMatchObject({ id, status: 'succeeded', watching: true });

    const table = await cli(['deployments', 'list', '--service', 'billing']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SERVICE\s+VERSION\s+ENV\s+STATUS\s+BY\s+STARTED\s+WATCH\s+ALERTS$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${id}\\s+billing\\s+2\\.0\\.0\\s+staging\\s+succeeded\\s+pipeline\\s+\\d+s ago\\s+until \\d\\d:\\d\\d UTC\\s+InvoiceErrors$`,
      ),
    );
    expect(lines).toHaveLength(2);

    const shown = await cli(['deployments', 'show', id]);
    expect(shown.stdout).toContain('  alerts    1 fired for billing in the window');
    expect(shown.stdout).toMatch(/UTC {2}critical {2}InvoiceErrors {2}7% errors$/m);

    const reopen = await cli(['deployments', 'update', id, '--status', 'in_progress']);
    expect(reopen.code).toBe(1);
    expect(reopen.stderr).toMatch(/already ended \(succeeded\)/);

    const json = JSON.parse((await cli(['deployments', 'list', '--json', '--limit', '1'])).stdout);
    expect(json.items).toHaveLength(1);
    expect(json.nextCursor).toEqual(expect.any(String));
  });
});
