// The PITR service in process, with no pgBackRest run: a restore's pgData that a shell would misread is
// refused before anything starts, and the missing-backup rule of docs/pitr.md fires for a database
// that never had a good backup.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { databaseSchema, type DatabaseConfig } from '../config/databases.schema.js';
import { newRouter } from '../http/app.js';
import { errorResponse } from '../http/errors.js';
import { pitrRoutes } from '../http/routes/pitr.routes.js';
import { PitrRepository, type PitrBackupRow } from '../storage/pitr.repository.js';
import { evaluateInstant } from '../telemetry/promql/engine.js';
import { parseExpr } from '../telemetry/promql/parser.js';
import { arraySource } from '../telemetry/promql/test-source.js';
import type { IngestSample, Series } from '../telemetry/series.js';
import { PitrService } from './pitr.service.js';

const logger = pino({ level: 'silent' });
const HOUR = 3_600_000;
const NOW = 1_800_000_000_000;
const asRoot = process.getuid?.() === 0;

/** The PitrBackupMissing expression exactly as docs/pitr.md shows it. */
const docsRule = (() => {
  const text = readFileSync(resolve(import.meta.dirname, '../../../../docs/pitr.md'), 'utf8');
  const expr = /- alert: PitrBackupMissing\n\s+expr: (.+)\n/.exec(text)?.[1];
  if (!expr) throw new Error('docs/pitr.md has no PitrBackupMissing rule');
  return parseExpr(expr);
})();

describe('PITR service', () => {
  let t: TestStore;
  let work: string;
  let service: PitrService | undefined;
  let samples: IngestSample[];

  beforeEach(async () => {
    t = await openTestStore('sqlite');
    work = mkdtempSync(join(tmpdir(), 'opsbook-pitr-service-'));
    samples = [];
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await t.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  function database(id: string): DatabaseConfig {
    return databaseSchema.parse({
      id,
      url: 'postgres://postgres@127.0.0.1:5432/postgres',
      pitr: {
        pgData: join(work, id, 'data'),
        repoPath: join(work, 'repo'),
        configFile: join(work, `${id}.conf`),
        pgUser: asRoot ? 'postgres' : process.env.USER,
      },
    });
  }

  async function started(databases: DatabaseConfig[]): Promise<PitrService> {
    service = new PitrService({
      store: t.store,
      logger,
      now: () => NOW,
      metrics: { ingest: (batch) => samples.push(...batch) },
    });
    await service.start(databases, work);
    return service;
  }

  /** The databases the docs' rule fires for at `at`, the latest samples republished then (every minute). */
  async function missing(at: number): Promise<string[]> {
    const latest = new Map(samples.map((s) => [JSON.stringify([s.name, s.labels]), s]));
    const series: Series[] = [...latest.values()].map((s) => ({
      labels: { __name__: s.name, ...s.labels },
      samples: [{ t: at, v: s.value }],
    }));
    const result = await evaluateInstant(docsRule, at, arraySource(series));
    if (result.type !== 'vector') throw new Error('PitrBackupMissing is not an instant vector');
    return result.samples.map((s) => s.labels.database!).sort();
  }

  it('refuses a restore into a path a shell would misread, naming pgData, before anything runs', async () => {
    const pitr = await started([database('shop')]);
    const app = newRouter();
    app.onError((error, c) => errorResponse(error, c, logger));
    app.route('/api/v1', pitrRoutes({ pitr: () => pitr }));
    const restore = (pgData: string) =>
      app.request('/api/v1/databases/shop/pitr/restores', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          targetTime: new Date(NOW - HOUR).toISOString(),
          pgData,
          port: 6544,
          confirm: true,
          actor: 'ann',
        }),
      });
    const injected = join(work, 'x;touch pwned');
    for (const pgData of [
      join(work, 'x;id'),
      injected,
      join(work, 'x$(id)'),
      join(work, 'x`id`'),
      join(work, 'a|b'),
      join(work, 'a&b'),
      join(work, 'a(b)'),
      join(work, '%p'),
      `${work}/a/../b`,
      'relative/dir',
    ]) {
      const response = await restore(pgData);
      expect(response.status, pgData).toBe(400);
      const body = (await response.json()) as { error: { field: string; message: string } };
      expect(body.error.field).toBe('pgData');
      expect(body.error.message).toMatch(
        pgData.startsWith('/') ? /only letters, digits and \. _ - \/ are allowed/ : /absolute path/,
      );
    }
    expect(existsSync(injected)).toBe(false);
    expect(await pitr.listRestores('shop')).toEqual([]);
  });

  it('ages a database that never had a good backup from when it was first watched', async () => {
    await started([database('shop')]);
    expect(samples).toContainEqual(
      expect.objectContaining({
        name: 'opsbook_pitr_watched_since_timestamp_seconds',
        labels: { database: 'shop' },
        value: NOW / 1000,
      }),
    );
    expect(await missing(NOW + 25 * HOUR)).toEqual([]);
    expect(await missing(NOW + 27 * HOUR)).toEqual(['shop']);
  });

  it('keeps the clock across restarts through the oldest recorded run, and a success resets it', async () => {
    const repository = new PitrRepository(t.store);
    const run = (id: string, database: string, startedAt: number, status: string): PitrBackupRow => ({
      id,
      database,
      stanza: database,
      type: 'full',
      trigger: 'schedule',
      status,
      actor: 'opsbook',
      label: null,
      progress: status === 'succeeded' ? 1 : 0,
      started_at: startedAt,
      finished_at: startedAt + 60_000,
      duration_ms: 60_000,
      size_bytes: null,
      repo_size_bytes: null,
      error: status === 'failed' ? 'boom' : null,
    });
    // shop has only failed since 30 h ago; billing succeeded 2 h ago.
    await repository.insertBackup(run('b-1', 'shop', NOW - 30 * HOUR, 'failed'));
    await repository.insertBackup(run('b-2', 'shop', NOW - 6 * HOUR, 'failed'));
    await repository.insertBackup(run('b-3', 'billing', NOW - 40 * HOUR, 'failed'));
    await repository.insertBackup(run('b-4', 'billing', NOW - 2 * HOUR, 'succeeded'));
    await started([database('shop'), database('billing')]);
    expect(await missing(NOW)).toEqual(['shop']);
    expect(await missing(NOW + 23 * HOUR)).toEqual(['shop']);
    expect(await missing(NOW + 25 * HOUR)).toEqual(['billing', 'shop']);
  });

  it('turns PITR off for a database whose relative path resolves to one a shell would misread', async () => {
    const unsafeBase = join(work, 'my configs;id');
    const config = databaseSchema.parse({
      id: 'shop',
      url: 'postgres://postgres@127.0.0.1:5432/postgres',
      pitr: { pgData: join(work, 'data'), repoPath: 'pgbackrest' },
    });
    service = new PitrService({
      store: t.store,
      logger,
      now: () => NOW,
      metrics: { ingest: (batch) => samples.push(...batch) },
    });
    await service.start([config], unsafeBase);
    expect(existsSync(unsafeBase)).toBe(false);
    await expect(service.info('shop')).rejects.toThrow(
      /databases\[shop\]\.pitr\.repoPath resolves to ".*my configs;id\/pgbackrest": only letters/,
    );
    // Still watched, so the missing-backup alert fires rather than going quiet.
    expect(await missing(NOW + 27 * HOUR)).toEqual(['shop']);
  });
});
