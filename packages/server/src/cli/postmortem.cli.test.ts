// Post-mortems, action items and the incident report through the CLI, against a running Opsbook.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import pino from 'pino';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { Opsbook } from '../runtime/opsbook.js';

// Each command is a new Node process compiling TypeScript: seconds apiece on a busy machine.

describe('opsbook incidents postmortem, incidents report and action-items', () => {
  let dir: string;
  let opsbook: Opsbook;
  let call: ApiCall;

  function cli(args: string[]): Promise<CliResult> {
    return runCli(args, { OPSBOOK_URL: opsbook.url });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-postmortem-'));
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }\nalerting: { defaultRules: false }\n`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    call = apiCaller(() => opsbook.url);
    await call('POST', '/api/v1/incidents', {
      title: 'Checkout down',
      severity: 'SEV1',
      services: ['shop'],
      actor: 'ann',
    });
    await call('POST', '/api/v1/incidents/INC-1/acknowledge', { actor: 'bob' });
    await call('POST', '/api/v1/incidents/INC-1/notes', { text: 'pool | exhausted', actor: 'bob' });
    await call('POST', '/api/v1/incidents/INC-1/resolve', { actor: 'bob' });
    await call('POST', '/api/v1/incidents', { title: 'Search slow', severity: 'SEV3', actor: 'ann' });
  }, 30_000);

  afterAll(async () => {
    await opsbook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows, writes and prints the post-mortem as Markdown; closing waits for it to be published', async () => {
    const [shown, refused, early] = await Promise.all([
      cli(['incidents', 'postmortem', 'INC-1']),
      call('POST', '/api/v1/incidents/INC-1/close', { actor: 'bob' }),
      cli(['incidents', 'postmortem', '2']),
    ]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^INC-1 post-mortem: draft, required, due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m,
    );
    expect(shown.stdout).toMatch(/^Root cause\n {2}\(not written yet\)$/m);
    expect(refused.status).toBe(409);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/INC-2 has no post-mortem yet/);

    // Writes the fields, then prints the document.
    const md = await cli([
      'incidents',
      'postmortem',
      'inc-1',
      '--root-cause',
      'The pool was too small.',
      '--lucky',
      'Traffic was low.',
      '--status',
      'published',
      '--markdown',
    ]);
    expect(md.code).toBe(0);
    const lines = md.stdout.split('\n');
    expect(lines[0]).toBe('# Post-mortem: INC-1 Checkout down');
    expect(lines).toContain('| Status | published |');
    expect(md.stdout).toContain('## Root cause\n\nThe pool was too small.\n');
    expect(md.stdout).toContain('### Where we got lucky\n\nTraffic was low.\n');
    expect(md.stdout).toMatch(
      /^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| note \| bob \| pool \\\| exhausted \|$/m,
    );
    expect((await call('GET', '/api/v1/incidents/INC-1/postmortem')).body).toMatchObject({
      status: 'published',
      publishedBy: 'tester',
    });
    expect((await call('POST', '/api/v1/incidents/INC-1/close', { actor: 'bob' })).status).toBe(200);
  }, 90_000);

  it('adds, lists and completes action items', async () => {
    await call('POST', '/api/v1/incidents/INC-2/action-items', {
      title: 'Add the index',
      owner: 'carol',
      actor: 'ann',
    });
    const [missing, added] = await Promise.all([
      cli(['action-items', 'add', 'INC-1', 'Alert on pool saturation']),
      cli([
        'action-items',
        'add',
        'INC-1',
        'Alert on pool saturation',
        '--owner',
        'bob',
        '--due',
        '2020-01-01',
      ]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--owner/);
    expect(added.stdout).toBe('added AI-2 to INC-1 for bob, due 2020-01-01\n');

    const rows = (await cli(['action-items'])).stdout.trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^ID\s+INCIDENT\s+STATUS\s+PRIORITY\s+OWNER\s+DUE\s+TITLE$/);
    // Soonest due first: the overdue one leads, the undated one follows.
    expect(rows[1]).toMatch(
      /^AI-2\s+INC-1\s+open\s+medium\s+bob\s+2020-01-01 overdue\s+Alert on pool saturation$/,
    );
    expect(rows[2]).toMatch(/^AI-1\s+INC-2\s+open\s+medium\s+carol\s+-\s+Add the index$/);

    expect((await cli(['action-items', 'done', 'ai-2'])).stdout).toBe(
      'AI-2 done: Alert on pool saturation\n',
    );
    const again = await cli(['action-items', 'done', '2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/AI-2 is already done/);
    const overdue = await call('GET', '/api/v1/action-items?overdue=true');
    expect(overdue.body.total).toBe(0);
    const done = await call('GET', '/api/v1/action-items?status=done');
    expect(done.body.items).toMatchObject([{ id: 'AI-2', doneBy: 'tester' }]);
  }, 90_000);

  it('reports MTTA and MTTR per severity and service as a table and as JSON', async () => {
    const [table, json, bad] = await Promise.all([
      cli(['incidents', 'report', '--from', '1d']),
      cli(['incidents', 'report', '--json', '--severity', 'sev1']),
      cli(['incidents', 'report', '--from', 'last tuesday']),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^Incidents opened .* UTC: 2$/);
    expect(table.stdout).toMatch(
      /^SEVERITY\s+COUNT\s+MTTA mean\/median\/p90\s+MTTR mean\/median\/p90\s+RESPONSE MET/m,
    );
    expect(table.stdout).toMatch(
      /^SEV1\s+1\s+\d+s \/ \d+s \/ \d+s\s+\d+s \/ \d+s \/ \d+s\s+100% \(1\/1\)\s+-$/m,
    );
    expect(table.stdout).toMatch(/^SEV3\s+1\s+-\s+-\s+-\s+-$/m);
    expect(table.stdout).toMatch(/^all\s+2\s+/m);
    expect(table.stdout).toMatch(/^shop\s+1\s+/m);
    expect(table.stdout).toMatch(/^\(none\)\s+1\s+/m);
    expect(table.stdout).toMatch(/^post-mortems: 1 of 1 required published, 0 overdue$/m);

    const report = JSON.parse(json.stdout);
    expect(report.filters).toEqual({ severity: 'SEV1', service: null });
    expect(report.total).toMatchObject({ count: 1, acknowledged: 1, resolved: 1 });
    expect(report.incidents[0]).toMatchObject({ id: 'INC-1', response: 'met', postmortem: 'published' });

    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/from: "last tuesday" is not a time/);
  }, 90_000);
});
