// A drill through a running Opsbook: configured in opsbook.yaml, started over the API, its figures in the
// metric store where the default rules read them, and its report under <backups.dir>/drills.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { createTestDatabase } from '../../../../test/databases.js';
import { Opsbook } from '../runtime/opsbook.js';

describe('drills in a running Opsbook', () => {
  let source: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  let opsbook: Opsbook;
  let call: ApiCall;

  beforeAll(async () => {
    source = await createTestDatabase(inject('postgresUrl'), 'drill_ops');
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    await client.query(
      `CREATE TABLE accounts (id int PRIMARY KEY, owner text); INSERT INTO accounts SELECT g, 'o' || g FROM generate_series(1, 25) g`,
    );
    await client.end();
    dir = mkdtempSync(join(tmpdir(), 'opsbook-drills-e2e-'));
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      [
        `storage: { url: "sqlite:${join(dir, 'ops.db')}" }`,
        'alerting: { defaultRules: false }',
        'backups: { dir: backups }',
        'databases:',
        `  - { id: ledger, url: "${source.url}", service: finance, drill: { rpoTarget: 1h } }`,
        '',
      ].join('\n'),
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    call = apiCaller(() => opsbook.url);
  }, 60_000);

  afterAll(async () => {
    await opsbook.stop();
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a drill on demand over the API and publishes its figures', async () => {
    const noBackup = await call('POST', '/api/v1/databases/ledger/drills', { actor: 'ann' });
    expect(noBackup.status).toBe(202);
    let report = noBackup.body;
    for (let i = 0; report.status === 'running' && i < 300; i++) {
      await new Promise((r) => setTimeout(r, 100));
      report = (await call('GET', `/api/v1/drills/${report.id}`)).body;
    }
    expect(report.status).toBe('failed');
    expect(report.problems[0]).toMatch(/^no succeeded backup of ledger/);

    const backup = await opsbook.backups!.run('ledger');
    expect(backup.status).toBe('succeeded');
    const started = await call('POST', '/api/v1/databases/ledger/drills', { actor: 'ann' });
    expect(started.status).toBe(202);
    const deadline = Date.now() + 30_000;
    do {
      await new Promise((r) => setTimeout(r, 100));
      report = (await call('GET', `/api/v1/drills/${started.body.id}`)).body;
    } while (report.status === 'running' && Date.now() < deadline);
    expect(report).toMatchObject({
      status: 'passed',
      backup: { id: backup.id },
      rpo: { targetMs: 3_600_000 },
    });
    expect(report.tables).toEqual([
      { schema: 'public', name: 'accounts', expected: 25, actual: 25, ok: true },
    ]);
    expect(report.samples[0]).toMatchObject({ status: 'match', rows: 25 });
    expect(existsSync(join(dir, 'backups', 'drills', report.id, 'report.md'))).toBe(true);

    const query = await call('GET', '/api/v1/query?query=opsbook_drill_passed');
    expect(query.body.data.result).toEqual([
      {
        metric: { __name__: 'opsbook_drill_passed', database: 'ledger', service: 'finance' },
        value: [expect.any(Number), '1'],
      },
    ]);
    const events = await call('GET', '/api/v1/events?kind=drill.*');
    expect(events.body.items.map((e: { kind: string }) => e.kind)).toEqual(['drill.passed', 'drill.failed']);
  });
});
