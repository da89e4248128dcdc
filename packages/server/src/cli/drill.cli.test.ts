// The drill CLI against the drills API on a real HTTP server, over real backups and restores:
// run --wait phase by phase with its exit codes, list, show, --markdown and --json.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliResult } from '../../../../test/cli-runner.js';
import pg from 'pg';
import pino from 'pino';
import { createTestDatabase } from '../../../../test/databases.js';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { newRouter } from '../http/app.js';
import { errorResponse } from '../http/errors.js';
import { drillRoutes } from '../http/routes/drills.routes.js';
import type { BackupService } from '../postgres/backup.service.js';
import { drillPolicySchema } from '../postgres/drill.schema.js';
import { DrillService } from '../postgres/drill.service.js';
import { backupServiceFor } from '../postgres/drill.testing.js';

describe('opsbook drill', () => {
  let source: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestStore;
  let dir: string;
  let backups: BackupService;
  let drills: DrillService;
  let server: ServerType;
  let url: string;

  beforeAll(async () => {
    source = await createTestDatabase(inject('postgresUrl'), 'drill_cli');
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    await client.query(
      `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'i' || g FROM generate_series(1, 40) g`,
    );
    await client.end();
    t = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-drills-cli-'));
    // Two ids for one source: `slow` has an RTO target no restore can meet.
    const databases = [
      { id: 'items', url: source.url, drill: drillPolicySchema.parse({}) },
      { id: 'slow', url: source.url, drill: drillPolicySchema.parse({ rtoTarget: '1ms' }) },
    ];
    backups = backupServiceFor({ store: t.store, dir, databases });
    await backups.run('items');
    await backups.run('slow');
    drills = new DrillService({
      store: t.store,
      backups,
      databases,
      baseDir: dir,
      reportDir: join(dir, 'backups', 'drills'),
      logger: pino({ level: 'silent' }),
    });
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, pino({ level: 'silent' })));
    router.route('/api/v1', drillRoutes({ drills: () => drills }));
    await new Promise<void>((done) => {
      server = serve({ fetch: router.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
        url = `http://127.0.0.1:${info.port}`;
        done();
      });
    });
  }, 60_000);

  afterAll(async () => {
    await new Promise((done) => server.close(done));
    await drills.stop();
    await backups.stop();
    await t.cleanup();
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function cli(args: string[]): Promise<CliResult> {
    return runCli(args, { OPSBOOK_URL: url });
  }

  it('run --wait prints each phase and the verdict; list and show find it', async () => {
    const result = await cli(['drill', 'run', 'items', '--wait']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const id = /^drill (drill-\S+) of items started$/.exec(lines[0]!)![1]!;
    expect(lines.slice(1, 7).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'ok select-backup',
      'ok restore',
      'ok row-counts',
      'ok sample-checksums',
      'ok amcheck',
      'ok cleanup',
    ]);
    expect(result.stdout).toContain(`drill ${id} of items: passed`);
    expect(result.stdout).toMatch(/RTO\s+\S+.* \(target 1h, met\)/);
    expect(result.stdout).toMatch(/RPO\s+\S+.* \(target 25h, met\)/);

    expect((await drills.get(id)).actor).toBe('tester');

    // Independent commands in parallel: each CLI start compiles TypeScript, slow on a loaded machine.
    const [list, show, markdown] = await Promise.all([
      cli(['drill', 'list']),
      cli(['drill', 'show', id]),
      cli(['drill', 'show', id, '--markdown']),
    ]);
    expect(list.stdout.split('\n')[0]).toMatch(
      /^ID\s+DATABASE\s+STATUS\s+STARTED\s+RTO\s+RPO\s+BACKUP\s+PROBLEMS/,
    );
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+items\\s+passed\\s`, 'm'));
    expect(show.stdout).toContain(`drill ${id} of items: passed`);
    expect(show.stdout).toMatch(/^PHASE\s+STATUS\s+DURATION\s+NOTE$/m);
    expect(show.stdout).toMatch(/^amcheck\s+passed\s+/m);
    expect(markdown.stdout).toMatch(new RegExp(`^# Disaster-recovery drill ${id}: PASSED\\n`));
    expect(markdown.stdout).toContain('| public.items | 40 | 40 | ok |');
  }, 120_000);

  it('a missed target exits 2; errors exit 1 with the reason', async () => {
    const slow = await cli(['drill', 'run', 'slow', '--wait', '--json']);
    expect(slow.code).toBe(2);
    expect(JSON.parse(slow.stdout)).toMatchObject({
      status: 'missed-target',
      rto: { targetMs: 1, met: false },
    });

    const started = await cli(['drill', 'run', 'items']);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(
      /^drill (drill-\S+) of items started; follow it with: opsbook drill show drill-\S+$/m,
    );
    const id = /drill show (\S+)/.exec(started.stdout)![1]!;
    await drills.wait(id);

    const [unknown, missing] = await Promise.all([
      cli(['drill', 'run', 'nope']),
      cli(['drill', 'show', 'drill-nope', '--markdown']),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error: no database "nope" in the config/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no drill "drill-nope"/);
  }, 120_000);
});
