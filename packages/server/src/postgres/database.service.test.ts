// The database service's collection loop when a database cannot even be tried: each collection is a
// fresh snapshot with the problem, so opsbook_pg_up 0 stays current and alerts keep evaluating it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { databaseSchema } from '../config/databases.schema.js';
import type { IngestSample } from '../telemetry/series.js';
import { DatabaseService } from './database.service.js';

const logger = pino({ level: 'silent' });

describe('database service with an unreadable passwordFile', () => {
  let t: TestStore;
  let dir: string;
  let service: DatabaseService;

  beforeEach(async () => {
    t = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-dbservice-'));
  });
  afterEach(async () => {
    await service?.stop();
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('collects afresh every time: new snapshots, new opsbook_pg_up samples', async () => {
    let clock = 1_800_000_000_000;
    const samples: IngestSample[] = [];
    service = new DatabaseService({
      store: t.store,
      logger,
      now: () => clock,
      sink: { ingest: (batch) => samples.push(...batch) },
    });
    service.apply(
      [
        databaseSchema.parse({
          id: 'main',
          url: 'postgres://app@127.0.0.1:1/main',
          passwordFile: 'missing-password.txt',
        }),
      ],
      dir,
    );
    const first = await service.collect('main');
    clock += 60_000;
    const second = await service.collect('main');
    expect(first.error).toMatch(/^cannot read passwordFile missing-password\.txt: /);
    expect(second).not.toBe(first);
    expect(second.collectedAt).toBe(first.collectedAt + 60_000);
    expect(service.view('main').lastCollectedAt).toBe(second.collectedAt);
    const up = samples.filter((s) => s.name === 'opsbook_pg_up');
    expect(up.map((s) => s.value)).toEqual([0, 0]);
    // Two at once still share one collection.
    const [a, b] = await Promise.all([service.collect('main'), service.collect('main')]);
    expect(a).toBe(b);
    expect(samples.filter((s) => s.name === 'opsbook_pg_up')).toHaveLength(3);
  });
});
