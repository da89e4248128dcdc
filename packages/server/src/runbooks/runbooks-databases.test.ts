// sql steps name a database of the `databases:` section by id, so it is configured once; its password
// (here from a passwordFile) is redacted from evidence; `runbooks.databases` still wins for its names.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { freePort } from '../../../../test/postgres-cluster.js';
import { databaseSchema } from '../config/databases.schema.js';
import { createRunbooks } from './runbooks.js';
import { runbooksSchema } from './runbooks.schema.js';

describe('sql steps and the databases: section', () => {
  let db: TestStore;
  let dir: string;
  beforeAll(async () => {
    db = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-runbook-dbs-'));
    mkdirSync(join(dir, 'books'));
    writeFileSync(join(dir, 'pg-password'), 'file-secret-4711\n');
    writeFileSync(
      join(dir, 'books', 'look.yaml'),
      `id: look
title: Look
parameters:
  database: { type: string, required: true }
steps:
  - { id: q, title: q, kind: sql, database: "\${database}", query: "SELECT current_setting('application_name') AS app, 'file-secret-4711' AS echoed, inet_server_port() AS port" }
`,
    );
  });
  afterAll(async () => {
    await db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('looks up runbooks.databases first, then databases: ids, and refuses unknown names', async () => {
    const clusterPort = Number(new URL(inject('postgresUrl')).port);
    const wrongPort = await freePort();
    const configs = [
      databaseSchema.parse({ id: 'main', url: inject('postgresUrl'), passwordFile: 'pg-password' }),
      // Shadowed by the runbooks.databases entry of the same name.
      databaseSchema.parse({ id: 'legacy', url: `postgres://postgres@127.0.0.1:${wrongPort}/postgres` }),
    ];
    const { engine } = createRunbooks({
      config: runbooksSchema.parse({
        dirs: ['books'],
        databases: { legacy: { url: inject('postgresUrl') } },
      }),
      baseDir: dir,
      store: db.store,
      checks: { runNow: async () => ({ status: 'up', latencyMs: 1 }) },
      metrics: { select: async () => [] },
      databaseConfigs: () => configs,
    });
    const step = async (database: string) =>
      (await engine.start({ runbookId: 'look', parameters: { database }, actor: 'ann' })).steps[0]!;

    const main = await step('main');
    expect(main).toMatchObject({ status: 'succeeded', evidence: { database: 'main' } });
    expect(main.evidence.rows).toEqual([['opsbook-runbook', '***', clusterPort]]);
    expect(JSON.stringify(main)).not.toContain('file-secret-4711');

    expect((await step('legacy')).evidence.rows).toEqual([['opsbook-runbook', '***', clusterPort]]);

    const unknown = await step('nowhere');
    expect(unknown).toMatchObject({ status: 'failed', message: 'no database named nowhere is configured' });
    await engine.close();
  });
});
