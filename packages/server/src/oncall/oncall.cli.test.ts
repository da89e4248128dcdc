// `opsbook oncall ...` run as a real process against a running Opsbook.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { waitFor } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';
import { testAuth } from '../../../../test/api-caller.js';

const BIN = resolve(import.meta.dirname, '../../bin/opsbook.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', OPSBOOK_USER: 'tester' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('opsbook oncall commands', () => {
  let dir: string;
  let opsbook: Opsbook;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-oncall-'));
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
notifications:
  receivers:
    - { name: nowhere, webhook: { url: "http://127.0.0.1:9/hook" } }
oncall:
  people:
    - { id: ann, name: Ann, notify: [nowhere] }
    - { id: ben, name: Ben, notify: [nowhere] }
  schedules:
    - id: primary
      name: Primary
      timeZone: Europe/Berlin
      rotation: { type: daily, start: "2020-01-01", participants: [ann, ben] }
  escalationPolicies:
    - id: shop
      services: [shop]
      levels: [{ notify: [{ schedule: primary }] }]
`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    url = opsbook.url;
  }, 30_000);

  afterAll(async () => {
    await opsbook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('oncall: a table of who is on call, until when and who is next; JSON with --json', async () => {
    // `oncall now` is what plain `oncall` runs.
    const json = await cli(['oncall', 'now', '--url', url, '--json']);
    expect(json.code).toBe(0);
    const now = JSON.parse(json.stdout);
    const current = now.items[0].current.personName as string;
    const next = current === 'Ann' ? 'Ben' : 'Ann';
    expect(now.items[0].next.personName).toBe(next);

    const table = await cli(['oncall', '--url', url]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SCHEDULE\s+ON CALL\s+UNTIL\s+NEXT$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^Primary \\(primary\\)\\s+${current}\\s+\\d{4}-\\d\\d-\\d\\d 09:00 Europe/Berlin \\(in \\S+\\)\\s+${next} from `,
      ),
    );
  }, 60_000);

  it('oncall shifts: a window in the schedule time zone; an unknown schedule fails clearly', async () => {
    const shifts = await cli([
      'oncall',
      'shifts',
      'primary',
      '--from',
      '2026-03-28T00:00:00Z',
      '--to',
      '2026-03-31T00:00:00Z',
      '--url',
      url,
    ]);
    expect(shifts.code).toBe(0);
    const lines = shifts.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PERSON\s+FROM \(Europe\/Berlin\)\s+TO\s+LENGTH\s+OVERRIDE$/);
    // The shift over the change to summer time is an hour short.
    expect(lines).toContainEqual(
      expect.stringMatching(/^\w+\s+2026-03-28 09:00\s+2026-03-29 09:00\s+23h\s+-$/),
    );
    const missing = await cli(['oncall', 'shifts', 'tertiary', '--url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no schedule "tertiary" in oncall.schedules \(known: primary\)/);
  }, 60_000);

  it('oncall override and remove-override', async () => {
    const noEnd = await cli(['oncall', 'override', 'primary', '--person', 'ben', '--url', url]);
    expect(noEnd.code).toBe(1);
    expect(noEnd.stderr).toMatch(/--end <time> or --duration <length>/);

    // Ann takes the next two hours, whoever had them.
    const created = await cli([
      'oncall',
      'override',
      'primary',
      '--person',
      'ann',
      '-d',
      '2h',
      '--url',
      url,
      '--json',
    ]);
    expect(created.code).toBe(0);
    const override = JSON.parse(created.stdout);
    expect(override).toMatchObject({ person: 'ann', createdBy: 'tester', deletedAt: null });
    expect(override.end - override.start).toBe(2 * 3_600_000);
    const now = (await (await fetch(`${url}/api/v1/oncall`, { headers: testAuth() })).json()) as any;
    expect(now.items[0].current).toMatchObject({ person: 'ann', override: true, overrideId: override.id });
    expect((await cli(['oncall', '--url', url])).stdout).toMatch(/Ann \(override\)/);

    const removed = await cli(['oncall', 'remove-override', override.id, '--url', url]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/removed; primary follows its rotation again/);
    const after = (await (await fetch(`${url}/api/v1/oncall`, { headers: testAuth() })).json()) as any;
    expect(after.items[0].current.override).toBe(false);
  }, 90_000);

  it('oncall escalation: the state and everyone paged for an incident', async () => {
    const response = await fetch(`${url}/api/v1/incidents`, {
      method: 'POST',
      headers: { ...testAuth(), 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Checkout down', severity: 'SEV2', services: ['shop'], actor: 'tester' }),
    });
    const incident = (await response.json()) as { id: string };
    await waitFor(async () => {
      const state = await fetch(`${url}/api/v1/incidents/${incident.id}/escalation`, { headers: testAuth() });
      return ((await state.json()) as { history: unknown[] }).history.length > 0 || undefined;
    });
    const out = await cli(['oncall', 'escalation', incident.id, '--url', url]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      new RegExp(
        `^${incident.id}: active \\(policy shop\\): paged the last level \\(loop 1 of 1\\); the escalation ends next unless someone acknowledges \\(at \\d{4}-`,
      ),
    );
    expect(out.stdout).toMatch(/^AT\s+LEVEL\s+LOOP\s+PAGED\s+VIA\s+STATUS$/m);
    expect(out.stdout).toMatch(/\s1\s+1\s+(Ann|Ben)\s+on call for Primary\s+sent$/m);
  }, 60_000);
});
