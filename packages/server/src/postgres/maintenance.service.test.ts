// Maintenance against a real PostgreSQL, with runs recorded on both store engines: VACUUM (ANALYZE)
// table by table (a locked table times out, the others go on), the reviews' reports, the schedules.
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../../../../test/databases.js';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { databaseSchema } from '../config/databases.schema.js';
import { ConflictError } from '../errors.js';
import { PostgresRepository } from '../storage/postgres.repository.js';
import { arraySource, series } from '../telemetry/promql/test-source.js';
import { DatabaseService } from './database.service.js';
import { MaintenanceService, type MaintenanceTarget } from './maintenance.service.js';
import { PgConnection } from './pg-connection.js';

const logger = pino({ level: 'silent' });
const DAY_S = 86_400;

describe.each(ENGINES)('database maintenance (runs stored on %s)', (engine) => {
  let db: { url: string; drop(): Promise<void> };
  let t: TestStore;
  let service: DatabaseService;
  let setup: pg.Client;
  const nowS = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    db = await createTestDatabase(inject('postgresUrl'), 'maintenance');
    setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(`
      CREATE EXTENSION pg_stat_statements;
      CREATE TABLE big (id int, payload text) WITH (autovacuum_enabled = false);
      INSERT INTO big SELECT i, repeat('x', 200) FROM generate_series(1, 4000) i;
      DELETE FROM big WHERE id <= 2000;
      CREATE TABLE small (id int);
      INSERT INTO small VALUES (1);
      CREATE TABLE "Mixed Case" (id int);
      CREATE INDEX big_payload_idx ON big (payload);
    `);
    for (let i = 0; i < 3; i++) await setup.query('SELECT pg_sleep(0.02)');
    await setup.query('SELECT pg_stat_force_next_flush()');
    // The dead rows reach the statistics views once the session has flushed its counters.
    const deadline = Date.now() + 10_000;
    while (
      (await setup.query("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'big'")).rows[0]
        ?.n_dead_tup !== '2000'
    ) {
      if (Date.now() > deadline) throw new Error('dead rows never showed in pg_stat_user_tables');
      await new Promise((r) => setTimeout(r, 50));
    }
    t = await openTestStore(engine);
    // The metric history a week back: the database and `big` were smaller six days ago.
    const history = arraySource([
      series('opsbook_pg_table_size_bytes', { database: 'main', table: 'public.big' }, [
        [nowS - 6 * DAY_S, 1000],
        [nowS - DAY_S, 2000],
      ]),
      series('opsbook_pg_database_size_bytes', { database: 'main' }, [[nowS - 6 * DAY_S, 1_000_000]]),
    ]);
    service = new DatabaseService({ store: t.store, logger, series: history });
    service.apply(
      [
        databaseSchema.parse({
          id: 'main',
          url: db.url,
          thresholds: { slowQueryMeanMs: 10, slowQueryCalls: 3, unusedIndexMinSize: 0 },
          maintenance: {
            statementTimeout: '500ms',
            timezone: 'Europe/Paris',
            tasks: { 'size-review': { schedule: '*/1 * * * * *' } },
          },
        }),
      ],
      '.',
    );
  });
  afterAll(async () => {
    await service.stop();
    await setup.end();
    await t.cleanup();
    await db.drop();
  });

  it('lists the tasks with the guide’s cadence, time zone and next run', async () => {
    const tasks = await service.maintenanceTasks('main');
    expect(tasks.map((x) => [x.task, x.schedule, x.timezone, x.enabled])).toEqual([
      ['vacuum-analyze', '0 3 * * 0', 'Europe/Paris', true],
      ['size-review', '*/1 * * * * *', 'Europe/Paris', true],
      ['slow-query-review', '0 9 * * 1', 'Europe/Paris', true],
      ['index-review', '0 9 * * 1#1', 'Europe/Paris', true],
    ]);
    const vacuum = tasks[0]!;
    const next = new Date(vacuum.nextRunAt!);
    const paris = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    }).format(next);
    expect(paris).toBe('Sun 03:00');
    expect(vacuum.nextRunAt! - Date.now()).toBeLessThanOrEqual(7 * DAY_S * 1000);
  });

  it('VACUUM (ANALYZE) runs table by table: a locked table times out, the others are vacuumed, the run is recorded', async () => {
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE small IN ACCESS EXCLUSIVE MODE');
    try {
      const { run, done } = service.runMaintenance('main', 'vacuum-analyze', 'ann');
      expect(await run).toMatchObject({
        status: 'running',
        trigger: 'manual',
        actor: 'ann',
        finishedAt: null,
      });
      expect(() => service.runMaintenance('main', 'vacuum-analyze', 'bob')).toThrow(ConflictError);
      const finished = await done;
      expect(finished).toMatchObject({ status: 'failed', task: 'vacuum-analyze' });
      expect(finished.message).toMatch(/1 of 3 tables failed \(public\.small: .*statement timeout/);
      expect(finished.durationMs).toBeGreaterThanOrEqual(400);
      const tables = finished.output.tables as { table: string; ok: boolean; deadTuplesBefore: number }[];
      // Most dead rows first.
      expect(tables[0]).toMatchObject({ table: 'public.big', ok: true, deadTuplesBefore: 2000 });
      expect(tables.find((x) => x.table === 'public.Mixed Case')?.ok).toBe(true);
      expect(tables.find((x) => x.table === 'public.small')?.ok).toBe(false);
    } finally {
      await locker.end();
    }
    const { rows } = await setup.query<{ last_vacuum: Date | null; last_analyze: Date | null }>(
      "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'big'",
    );
    expect(rows[0]!.last_vacuum).not.toBeNull();
    expect(rows[0]!.last_analyze).not.toBeNull();
    const tasks = await service.maintenanceTasks('main');
    expect(tasks[0]!.lastRun).toMatchObject({ status: 'failed', actor: 'ann' });
    expect(tasks[0]!.running).toBe(false);
  });

  it('reviews write their report as the run’s output', async () => {
    const size = await service.runMaintenance('main', 'size-review', 'ann').done;
    expect(size.status).toBe('succeeded');
    const big = (
      size.output.tables as { table: string; sizeBytes: number; growthBytes: number | null }[]
    ).find((x) => x.table === 'public.big')!;
    expect(big.sizeBytes).toBeGreaterThan(100_000);
    expect(big.growthBytes).toBe(big.sizeBytes - 1000);
    expect(size.output.databaseGrowthBytes).toBe((size.output.databaseSizeBytes as number) - 1_000_000);
    expect(size.message).toMatch(
      /^database \d.* \(\+.* since \d{4}-\d{2}-\d{2}\); largest table public\.big/,
    );

    const slow = await service.runMaintenance('main', 'slow-query-review', 'ann').done;
    expect(slow.status).toBe('succeeded');
    expect((slow.output.slow as { query: string }[]).map((q) => q.query)).toContain('SELECT pg_sleep($1)');

    const indexes = await service.runMaintenance('main', 'index-review', 'ann').done;
    expect(indexes.status).toBe('succeeded');
    expect(indexes.output.findings as { id: string; fix: { sql: string } }[]).toContainEqual(
      expect.objectContaining({
        id: 'unused-index:public.big_payload_idx',
        fix: expect.objectContaining({ sql: 'DROP INDEX CONCURRENTLY "public"."big_payload_idx";' }),
      }),
    );
    const runs = await service.maintenanceRuns('main', { task: 'index-review' });
    expect(runs[0]!.id).toBe(indexes.id);
    expect(await service.maintenanceRun('main', indexes.id)).toEqual(indexes);
  });

  it('runs on its schedule once started, recorded with trigger schedule', async () => {
    await service.start();
    const deadline = Date.now() + 10_000;
    let scheduled;
    while (!scheduled) {
      scheduled = (await service.maintenanceRuns('main', { task: 'size-review' })).find(
        (r) => r.trigger === 'schedule' && r.status === 'succeeded',
      );
      if (Date.now() > deadline) throw new Error('no scheduled run');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(scheduled.actor).toBe('opsbook');
  });

  it('a run left running by a stop is failed at the next start, not resumed', async () => {
    const repository = new PostgresRepository(t.store);
    await repository.insertRun({
      id: `stale-${engine}`,
      database_id: 'main',
      task: 'vacuum-analyze',
      trigger: 'schedule',
      actor: 'opsbook',
      status: 'running',
      started_at: Date.now() - 60_000,
      finished_at: null,
      duration_ms: null,
      message: '',
      output: '{}',
    });
    await service.maintenance.recover();
    expect(await service.maintenanceRun('main', `stale-${engine}`)).toMatchObject({
      status: 'failed',
      message: 'interrupted: Opsbook stopped during the run',
    });
  });
});

describe('scheduled maintenance while the store is down', () => {
  it('logs the run that could not be recorded and leaves no rejection unhandled', async () => {
    const t = await openTestStore('sqlite');
    const repository = new PostgresRepository(t.store);
    // Closed: every insert of a run rejects, as with a database store that went away.
    await t.cleanup();
    const lines: string[] = [];
    const service = new MaintenanceService({
      repository,
      logger: pino({ level: 'error' }, { write: (line: string) => lines.push(line) }),
    });
    const config = databaseSchema.parse({
      id: 'main',
      url: 'postgres://postgres@127.0.0.1:1/main',
      maintenance: { tasks: { 'size-review': { schedule: '* * * * * *' } } },
    });
    const connection = new PgConnection({ url: config.url, statementTimeoutMs: 1000 });
    const target: MaintenanceTarget = {
      database: 'main',
      config,
      connection,
      collect: () => Promise.reject(new Error('not reached')),
      advise: () => {
        throw new Error('not reached');
      },
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      service.schedule(() => target);
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.includes('could not run or record its outcome'))) {
        if (Date.now() > deadline) throw new Error('the failed scheduled run was never logged');
        await new Promise((r) => setTimeout(r, 50));
      }
      // Node reports an unhandled rejection after the microtask queue drains; give it a turn.
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      const logged = JSON.parse(lines.find((l) => l.includes('could not run'))!) as Record<string, unknown>;
      expect(logged).toMatchObject({ database: 'main', task: 'size-review', trigger: 'schedule' });
      expect(logged.msg).toMatch(/^maintenance size-review on main could not run or record its outcome: /);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await service.stop();
      await connection.close();
    }
  });
});
