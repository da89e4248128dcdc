// The incidents CLI against a running Opsbook: declare, list with the ack timer, act, show, errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import pino from 'pino';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { waitFor } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';

// Each CLI call is a new Node process loading the whole CLI; on a busy 2-core machine that takes seconds.
const SLOW = 120_000;

describe('opsbook incidents', () => {
  let dir: string;
  let opsbook: Opsbook;
  let call: ApiCall;

  function cli(args: string[]): Promise<CliResult> {
    return runCli(args, { OPSBOOK_URL: opsbook.url });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-cli-incidents-'));
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
notifications:
  receivers:
    # Nothing listens there: a status update is queued in the outbox and retried.
    - name: status-hook
      webhook: { url: "http://127.0.0.1:9/hook" }
  route: { receiver: status-hook }
incidents:
  channels: [status-hook]
  severities:
    SEV4: { respondWithin: 1s }
`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    call = apiCaller(() => opsbook.url);
  }, 30_000);

  afterAll(async () => {
    await opsbook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'open declares incidents; list shows open ones with the time left to acknowledge, or the breach',
    async () => {
      const missing = await cli(['incidents', 'open', '--title', 'Checkout down']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/--severity SEV1/);

      const [sev1, sev4] = await Promise.all([
        cli([
          'incidents',
          'open',
          '--title',
          'Checkout down',
          '--severity',
          'sev1',
          '--service',
          'shop',
          '--service',
          'payments',
          '--json',
        ]),
        cli(['incidents', 'open', '--title', 'Search is slow', '--severity', '4', '--as', 'ann']),
      ]);
      const created = JSON.parse(sev1.stdout);
      expect(created).toMatchObject({
        severity: 'SEV1',
        stage: 'detection',
        services: ['shop', 'payments'],
        createdBy: 'tester',
      });
      expect(created.responseDueAt - created.createdAt).toBe(15 * 60_000);
      expect(sev4.code).toBe(0);
      expect(sev4.stdout).toMatch(/^opened INC-\d+ \(SEV4\): Search is slow\nacknowledge within 1s/);
      const slowId = /opened (INC-\d+)/.exec(sev4.stdout)![1]!;
      const slow = (await call('GET', `/api/v1/incidents/${slowId}`)).body;
      expect(slow.createdBy).toBe('ann');

      // The SEV4 target is 1 s: once it has passed, the timer says breached.
      await waitFor(() => Date.now() > slow.responseDueAt + 1000 || undefined, 5000, 'the SEV4 due time');
      const [table, severityJson, serviceJson] = await Promise.all([
        cli(['incidents']),
        cli(['incidents', 'list', '--severity', 'SEV1', '--json']),
        cli(['incidents', 'list', '--service', 'payments', '--json']),
      ]);
      expect(table.code).toBe(0);
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^ID\s+SEVERITY\s+STAGE\s+TITLE\s+SERVICES\s+AGE\s+ACK TIMER$/);
      expect(table.stdout).toMatch(
        new RegExp(
          `^${created.id}\\s+SEV1\\s+detection\\s+Checkout down\\s+shop,payments\\s+\\d+[sm]\\s+\\d+m left$`,
          'm',
        ),
      );
      expect(table.stdout).toMatch(
        new RegExp(`^${slowId}\\s+SEV4\\s+detection\\s+Search is slow\\s+-\\s+.*breached \\d+[sm] ago$`, 'm'),
      );
      expect(JSON.parse(severityJson.stdout).items.map((i: any) => i.id)).toEqual([created.id]);
      expect(JSON.parse(serviceJson.stdout).items.map((i: any) => i.id)).toEqual([created.id]);
    },
    SLOW,
  );

  it(
    'ack, assign, stage, note, resolve and close move an incident along; show prints its timeline',
    async () => {
      // SEV3: closing SEV1 and SEV2 incidents waits for their post-mortem (docs/postmortems.md).
      const id = (
        await call('POST', '/api/v1/incidents', { title: 'Orders failing', severity: 'SEV3', actor: 'ann' })
      ).body.id as string;

      const ack = await cli(['incidents', 'ack', id, '--as', 'bob']);
      expect(ack.code).toBe(0);
      expect(ack.stdout).toMatch(new RegExp(`^${id} acknowledged by bob .*; stage triage`));

      // "12" and "inc-12" both name INC-12.
      const number = id.replace('INC-', '');
      const [again, commander, scribe, investigation, bad, note] = await Promise.all([
        cli(['incidents', 'ack', id]),
        cli(['incidents', 'assign', number, '--person', 'carol']),
        cli(['incidents', 'assign', `inc-${number}`, '--role', 'scribe', '--person', 'dan']),
        cli(['incidents', 'stage', id, 'investigation']),
        cli(['incidents', 'stage', id, 'fixing']),
        cli(['incidents', 'note', id, 'rolled', 'back', 'release', '1.4.2']),
      ]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already acknowledged by bob/);
      expect(commander.stdout.trim()).toBe(`${id}: carol is commander`);
      expect(scribe.stdout.trim()).toBe(`${id}: dan is scribe`);
      expect(investigation.stdout.trim()).toBe(`${id} is now in investigation`);

      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/"fixing" is not a stage; use one of detection, triage/);
      expect(note.code).toBe(0);

      const [status, unknownReceiver] = await Promise.all([
        cli(['incidents', 'status', id, 'Mitigated:', 'rolled', 'back']),
        cli(['incidents', 'status', id, 'hello', '--to', 'nowhere']),
      ]);
      expect(status.stdout.trim()).toBe(`status update for ${id} queued to status-hook`);
      expect(unknownReceiver.code).toBe(1);
      expect(unknownReceiver.stderr).toMatch(/nowhere/);
      const queued = await call(
        'GET',
        `/api/v1/notifications?groupKey=${encodeURIComponent(`incident/${id}/status`)}`,
      );
      expect(queued.body.items).toHaveLength(1);

      const [show, json, early, back] = await Promise.all([
        cli(['incidents', 'show', id]),
        cli(['incidents', 'show', id, '--json']),
        cli(['incidents', 'close', id]),
        cli(['incidents', 'stage', id, 'triage']),
      ]);
      expect(back.code).toBe(1);
      expect(back.stderr).toMatch(/cannot move back from investigation to triage/);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(new RegExp(`^${id}  SEV3  investigation  Orders failing`));
      expect(show.stdout).toMatch(/^commander:\s+carol$/m);
      expect(show.stdout).toMatch(/^roles:\s+scribe: dan$/m);
      expect(show.stdout).toMatch(/^response:\s+acked in \d+[sm] by bob/m);
      expect(show.stdout).toMatch(/detection .* → triage .*\(bob\) → investigation/);
      expect(show.stdout).toMatch(/^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}ack\s+bob: Acknowledged by bob$/m);
      expect(show.stdout).toMatch(/note\s+tester: rolled back release 1.4.2$/m);
      expect(show.stdout).toMatch(/status\s+tester: Status update: Mitigated: rolled back$/m);
      expect(JSON.parse(json.stdout).timeline.map((t: any) => t.kind)).toEqual(
        expect.arrayContaining(['status', 'ack', 'stage', 'assign', 'note']),
      );
      expect(early.code).toBe(1);
      expect(early.stderr).toMatch(/resolve it \(post-incident\) before closing/);

      expect((await cli(['incidents', 'resolve', id])).stdout).toMatch(/resolved after .*now post-incident/);
      const closed = JSON.parse((await cli(['incidents', 'close', id, '--json'])).stdout);
      expect(closed).toMatchObject({ id, stage: 'closed' });

      const all = await cli(['incidents', 'list', '--all']);
      expect(all.stdout).toMatch(
        new RegExp(`^${id}\\s+SEV3\\s+closed\\s+Orders failing\\s+.*acked in \\d+[sm] by bob$`, 'm'),
      );
      // The default list holds open incidents only.
      const open = await call('GET', '/api/v1/incidents?open=true');
      expect(open.body.items.map((i: any) => i.id)).not.toContain(id);
    },
    SLOW,
  );

  it(
    'an incident opened by a critical alert shows the alert',
    async () => {
      await call('POST', '/api/v2/alerts', [
        {
          labels: { alertname: 'DiskFull', service: 'db', severity: 'critical' },
          annotations: { summary: 'disk 95% full on db-1' },
        },
      ]);
      const opened = await waitFor(async () => {
        const list = await call('GET', '/api/v1/incidents?service=db');
        return list.body.items[0] as { id: string } | undefined;
      });
      const show = await cli(['incidents', 'show', opened.id]);
      expect(show.stdout).toMatch(/SEV2  detection  disk 95% full on db-1/);
      expect(show.stdout).toMatch(/^ {2}firing\s+DiskFull\s+service=db severity=critical/m);
      expect(show.stdout).toMatch(/alert\.firing\s+opsbook: DiskFull on db firing/);
    },
    SLOW,
  );

  it(
    'an unknown or malformed id fails with a message and exit code 1',
    async () => {
      const [unknown, json, malformed, unreachable] = await Promise.all([
        cli(['incidents', 'show', 'INC-999']),
        cli(['incidents', 'ack', 'INC-999', '--json']),
        cli(['incidents', 'show', 'payments']),
        cli(['incidents', 'list', '--url', 'http://127.0.0.1:9']),
      ]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^error: no incident INC-999; see `opsbook incidents list --all`/);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).error.message).toMatch(/no incident INC-999/);
      expect(malformed.code).toBe(1);
      expect(malformed.stderr).toMatch(/"payments" is not an incident id; write e.g. INC-12/);
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(/cannot reach Opsbook at http:\/\/127.0.0.1:9/);
    },
    SLOW,
  );
});
