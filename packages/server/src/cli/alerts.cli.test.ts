import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import pino from 'pino';
import { Opsbook } from '../runtime/opsbook.js';
import { testAuth } from '../../../../test/api-caller.js';

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { USER: 'tester' });
}

describe('opsbook alerts, silence and maintenance commands', () => {
  let dir: string;
  let opsbook: Opsbook;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-alerts-'));
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }\nalerting: { defaultRules: false }\n`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    url = opsbook.url;
    await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { ...testAuth(), 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: { alertname: 'DiskFull', service: 'db', severity: 'critical' },
          annotations: { summary: 'disk 95% full' },
        },
        {
          labels: { alertname: 'SlowQueries', service: 'db', severity: 'warning' },
          annotations: { summary: '12 slow queries' },
        },
      ]),
    });
  }, 30_000);

  afterAll(async () => {
    await opsbook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('alerts: a table, most severe first, and JSON', async () => {
    const table = await cli(['alerts', '--url', url]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ALERT\s+SEVERITY\s+STATE\s+SERVICE/);
    expect(lines[1]).toMatch(/^DiskFull\s+critical\s+firing\s+db\s+.*disk 95% full/);
    expect(lines[2]).toMatch(/^SlowQueries\s+warning\s+firing\s+db\s+.*inhibited/);
    const json = JSON.parse((await cli(['alerts', '--url', url, '--json', '--severity', 'critical'])).stdout);
    expect(json.items.map((a: { alertname: string }) => a.alertname)).toEqual(['DiskFull']);
  });

  it('silence add, list and expire', async () => {
    const missing = await cli(['silence', 'add', 'service=db', '--url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--comment/);
    const added = JSON.parse(
      (
        await cli([
          'silence',
          'add',
          'alertname=DiskFull',
          '--duration',
          '2h',
          '-c',
          'resizing the volume',
          '--url',
          url,
          '--json',
        ])
      ).stdout,
    );
    expect(added).toMatchObject({
      status: 'active',
      createdBy: 'tester',
      matchers: ['alertname="DiskFull"'],
    });
    const list = await cli(['silence', 'list', '--url', url]);
    expect(list.stdout).toContain(added.id);
    expect(list.stdout).toMatch(/resizing the volume/);
    const alerts = await cli(['alerts', '--url', url]);
    expect(alerts.stdout).toMatch(/^DiskFull\s+.*silenced/m);
    const expired = await cli(['silence', 'expire', added.id, '--url', url]);
    expect(expired.stdout).toMatch(/expired/);
    expect((await cli(['silence', 'list', '--url', url])).stdout).toMatch(/no silences/);
    const again = await cli(['silence', 'expire', added.id, '--url', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already expired/);
  });

  it('maintenance add and list', async () => {
    const added = JSON.parse(
      (
        await cli([
          'maintenance',
          'add',
          'patching',
          '--service',
          'db',
          '--schedule',
          '0 2 * * 0',
          '--duration',
          '2h',
          '--timezone',
          'Europe/Berlin',
          '--url',
          url,
          '--json',
        ])
      ).stdout,
    );
    expect(added).toMatchObject({
      name: 'patching',
      schedule: '0 2 * * 0',
      durationSeconds: 7200,
      timezone: 'Europe/Berlin',
      services: ['db'],
    });
    const list = await cli(['maintenance', 'list', '--url', url]);
    expect(list.stdout).toMatch(/^patching\s+no\s+db\s+0 2 \* \* 0 \(Europe\/Berlin\) for 7200s/m);
    const bad = await cli([
      'maintenance',
      'add',
      'oops',
      '--service',
      'db',
      '--schedule',
      'sometimes',
      '--duration',
      '1h',
      '--url',
      url,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error:/);
  });
});
