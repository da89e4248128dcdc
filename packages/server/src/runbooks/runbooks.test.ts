import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunbookRunView } from '@opsbook/contracts';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { createRunbooks } from './runbooks.js';
import { runbooksSchema } from './runbooks.schema.js';

describe('createRunbooks', () => {
  let db: TestStore;
  let dir: string;
  beforeAll(async () => {
    db = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-runbooks-'));
  });
  afterAll(async () => {
    await db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults: built-ins on, shell off, no databases', () => {
    expect(runbooksSchema.parse(undefined)).toEqual({
      dirs: [],
      builtin: true,
      allowShell: false,
      databases: {},
    });
    expect(runbooksSchema.safeParse({ allowshell: true }).success).toBe(false);
  });

  it('loads configured folders relative to the config file, reports bad files, and redacts database passwords', async () => {
    const folder = join(dir, 'books');
    mkdirSync(folder);
    writeFileSync(
      join(folder, 'ok.yaml'),
      "id: ok\ntitle: OK\nsteps:\n  - { id: q, title: q, kind: sql, database: remote, query: \"SELECT current_setting('application_name') AS app, 'hunter2-secret' AS echoed\" }\n",
    );
    writeFileSync(join(folder, 'bad.yaml'), 'id: bad\ntitle: Bad\nsteps: []\n');
    const { engine, diagnostics } = createRunbooks({
      config: runbooksSchema.parse({
        dirs: ['books'],
        // The test cluster trusts local connections, so the password is ignored but still configured.
        databases: {
          remote: { url: inject('postgresUrl').replace('postgres@', 'postgres:hunter2-secret@') },
        },
      }),
      baseDir: dir,
      store: db.store,
      checks: { runNow: async () => ({ status: 'up', latencyMs: 1 }) },
      metrics: { select: async () => [] },
    });
    expect(engine.runbooks.size).toBe(6);
    expect(diagnostics).toEqual([
      expect.objectContaining({ file: join(folder, 'bad.yaml'), line: 3, path: 'steps' }),
    ]);
    const run = await engine.start({ runbookId: 'ok', actor: 'alice' });
    expect(RunbookRunView.parse(run)).toEqual(run);
    expect(run.steps[0]!.status).toBe('succeeded');
    expect(run.steps[0]!.evidence.rows).toEqual([['opsbook-runbook', '***']]);
    expect(JSON.stringify(run)).not.toContain('hunter2-secret');
    await engine.close();
  });
});
