// The backup API and `opsbook backup` against a running Opsbook that backs up a real database.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import { apiCaller } from '../../../../test/api-caller.js';
import { waitFor } from '../../../../test/target-server.js';
import {
  createSource,
  databaseExists,
  dropDatabase,
  rowCounts,
  urlOf,
  type SourceDatabase,
} from '../postgres/backup.testing.js';
import { Opsbook } from '../runtime/opsbook.js';

function cli(args: string[]): Promise<CliResult> {
  return runCli(args);
}

// Each CLI call starts a process through tsx: seconds apiece on a busy machine.
describe('backup API and CLI', { timeout: 60_000 }, () => {
  let dir: string;
  let source: SourceDatabase;
  let opsbook: Opsbook;
  let backupId: string;
  const created: string[] = [];
  const call = apiCaller(() => opsbook.url);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-backup-cli-'));
    source = await createSource('bk_cli', 5_000);
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
databases:
  - id: app
    url: ${source.url}
    backup: { enabled: false, jobs: 2 }
backups:
  dir: backups
  binDir: ${inject('postgresBinDir')}
  copies:
    - { name: second-disk, dir: offsite }
`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
  }, 60_000);

  afterAll(async () => {
    await opsbook?.stop();
    for (const name of created) await dropDatabase(name);
    await source?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('POST /databases/{id}/backups answers 202 with the running backup; a second one is a 409', async () => {
    const started = await call('POST', '/api/v1/databases/app/backups');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      database: 'app',
      status: 'running',
      trigger: 'manual',
      manifest: null,
    });
    backupId = started.body.id;
    const again = await call('POST', '/api/v1/databases/app/backups');
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(new RegExp(`backup ${backupId} of app is already running`));

    const done = await waitFor(
      async () => {
        const { body } = await call('GET', `/api/v1/backups/${backupId}`);
        const copying = body.copies.some((c: any) => c.status === 'pending' && !c.error);
        return body.status !== 'running' && !copying ? body : undefined;
      },
      20_000,
      'the backup and its first copy attempts to finish',
    );
    expect(done.status).toBe('succeeded');
    expect(done.manifest.tables.map((t: any) => [`${t.schema}.${t.name}`, t.rows])).toEqual([
      ['audit.Log Entries', 7],
      ['public.customers', 120],
      ['public.orders', 5_000],
    ]);
    expect(done.copies).toMatchObject([{ target: 'second-disk', status: 'copied' }]);

    const list = await call('GET', '/api/v1/backups?database=app');
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ id: backupId, tables: 3, rows: 5_127 });
    expect(list.body.items[0].manifest).toBeUndefined();
    expect((await call('GET', '/api/v1/backups/nope')).status).toBe(404);
    const unknown = await call('POST', '/api/v1/databases/nope/backups');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/configured: app/);
  });

  it('POST /backups/{id}/restore runs a job that GET /restores/{id} follows to the end', async () => {
    const to = `bk_api_${Date.now()}`;
    created.push(to);
    const started = await call('POST', `/api/v1/backups/${backupId}/restore`, { to, actor: 'alice' });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ backupId, to, status: 'running', actor: 'alice', force: false });
    const job = await waitFor(
      async () => {
        const { body } = await call('GET', `/api/v1/restores/${started.body.id}`);
        return body.status !== 'running' ? body : undefined;
      },
      20_000,
      'the restore to finish',
    );
    expect(job).toMatchObject({ status: 'succeeded', progress: { phase: 'done', fraction: 1 }, error: null });
    expect(job.result.targetUrl).toBe(urlOf(to));
    expect((await rowCounts(urlOf(to)))['public.orders']).toBe(5_000);

    const events = await call('GET', '/api/v1/events?kind=backup.*&limit=20');
    const kinds = events.body.items.map((e: any) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['backup.completed', 'backup.restore_started', 'backup.restored']),
    );
    const audit = events.body.items.find((e: any) => e.kind === 'backup.restore_started');
    expect(audit.message).toMatch(new RegExp(`alice started restoring backup ${backupId} of app into ${to}`));
  });

  it('refuses destructive restores without force and confirmation', async () => {
    const intoSource = await call('POST', `/api/v1/backups/${backupId}/restore`, {
      to: source.name,
      actor: 'alice',
    });
    expect(intoSource.status).toBe(403);
    expect(intoSource.body.error.message).toMatch(/source database/);
    const unconfirmed = await call('POST', `/api/v1/backups/${backupId}/restore`, {
      to: source.name,
      force: true,
      actor: 'alice',
    });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.error.field).toBe('confirm');
    const noTarget = await call('POST', `/api/v1/backups/${backupId}/restore`, { actor: 'alice' });
    expect(noTarget.status).toBe(400);
    expect(noTarget.body.error.field).toBe('to');
  });

  it('backup run --wait prints the finished backup', async () => {
    const ran = await cli(['backup', 'run', 'app', '--wait', '--url', opsbook.url]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^status\s+succeeded$/m);
    expect(ran.stdout).toMatch(/^public\.orders\s+5000\s/m);
    expect(ran.stdout).toMatch(/^second-disk\s+copied\s/m);
  });

  it('backup list prints a table, newest first', async () => {
    const table = await cli(['backup', 'list', '--database', 'app', '--url', opsbook.url]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+TRIGGER\s+STARTED\s+TOOK\s+SIZE\s+TABLES\s+COPIES$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(
      new RegExp(`^${backupId}\\s+succeeded\\s+manual\\s.*\\s3\\s+second-disk:copied$`),
    );
  });

  it('backup show --json, and an unknown id', async () => {
    const json = JSON.parse((await cli(['backup', 'show', backupId, '--json', '--url', opsbook.url])).stdout);
    expect(json.manifest.files.length).toBeGreaterThan(2);
    const missing = await cli(['backup', 'show', 'nope', '--url', opsbook.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no backup "nope"/);
  });

  it('backup verify reports each location', async () => {
    const verified = await cli(['backup', 'verify', backupId, '--url', opsbook.url]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^local\s+ok\s/m);
    expect(verified.stdout).toMatch(/^second-disk\s+ok\s/m);
  });

  it('backup restore prints progress lines without a terminal, and the result', async () => {
    const to = `bk_cli_${Date.now()}`;
    created.push(to);
    const restored = await cli([
      'backup',
      'restore',
      backupId,
      '--to',
      to,
      '--jobs',
      '1',
      '--url',
      opsbook.url,
    ]);
    expect(restored.code).toBe(0);
    const lines = restored.stdout.trim().split('\n');
    // A line per phase it saw (polling may skip a fast one), ending with done at 100 %.
    const phases = lines.slice(0, -1).map((l) => /^restore rs-[0-9a-f]+: ([a-z-]+) \d+% /.exec(l)?.[1]);
    expect(
      phases.every((p) => p && ['verify', 'create-database', 'restore', 'analyze', 'done'].includes(p)),
    ).toBe(true);
    expect(lines.at(-2)).toMatch(/: done 100% restored backup/);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^restored backup ${backupId} into ${to} in \\d+s \\(\\d+ checksums verified\\): postgres://`,
      ),
    );
    expect(await databaseExists(to)).toBe(true);
  });

  it('backup restore --json prints the job; a failed restore exits 1', async () => {
    const to = created.at(-1)!;
    const json = await cli(['backup', 'restore', backupId, '--to', to, '--json', '--url', opsbook.url]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/already exists/),
    });
  });

  it('backup restore --force without a terminal needs --yes', async () => {
    const refused = await cli([
      'backup',
      'restore',
      backupId,
      '--to',
      source.name,
      '--force',
      '--url',
      opsbook.url,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/confirm with --yes/);
  });

  it('backup restore --force --yes replaces the source database', async () => {
    await source.query('DELETE FROM orders WHERE id > 100');
    const forced = await cli([
      'backup',
      'restore',
      backupId,
      '--to',
      source.name,
      '--force',
      '--yes',
      '--json',
      '--url',
      opsbook.url,
    ]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ status: 'succeeded', force: true, actor: 'tester' });
    expect((await rowCounts(source.url))['public.orders']).toBe(5_000);
  });
});
