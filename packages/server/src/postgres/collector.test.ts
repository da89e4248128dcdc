// The collector and advisor against real situations made in a real PostgreSQL: a long-running query, a
// blocking pair, a session idle in transaction, unused, duplicate and invalid indexes, a sequence near its
// end, dead rows, slow statements, an inactive replication slot, and a server that does not answer.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DatabaseSnapshot, Finding } from '@opsbook/contracts';
import { createTestDatabase } from '../../../../test/databases.js';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { freePort } from '../../../../test/postgres-cluster.js';
import { databaseSchema } from '../config/databases.schema.js';
import { MetricStore } from '../telemetry/metric-store.js';
import { DatabaseService } from './database.service.js';

const logger = pino({ level: 'silent' });
/** pg.Client knows its backend pid; its type declarations leave it out. */
const pidOf = (c: pg.Client): number => (c as unknown as { processID: number }).processID;
const DAY = 86_400_000;

async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'collector-test' });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe('PostgreSQL collector and advisor', () => {
  let db: { url: string; drop(): Promise<void> };
  let bare: { url: string; drop(): Promise<void> };
  let t: TestStore;
  let metrics: MetricStore;
  let service: DatabaseService;
  const sessions: pg.Client[] = [];
  const slot = `opsbook_test_${randomBytes(4).toString('hex')}`;
  let sleeper: pg.Client;
  let holder: pg.Client;
  let waiter: pg.Client;
  let snapshot: DatabaseSnapshot;

  beforeAll(async () => {
    db = await createTestDatabase(inject('postgresUrl'), 'collector');
    bare = await createTestDatabase(inject('postgresUrl'), 'collector_bare');
    const setup = await client(db.url);
    sessions.push(setup);
    await setup.query(`
      CREATE EXTENSION pg_stat_statements;
      CREATE TABLE orders (id serial PRIMARY KEY, customer int, note text);
      INSERT INTO orders (customer, note) SELECT i % 50, md5(i::text) FROM generate_series(1, 5000) i;
      CREATE INDEX orders_note_idx ON orders (note);
      CREATE INDEX orders_customer_idx ON orders (customer);
      CREATE INDEX orders_customer_note_idx ON orders (customer, note);
      CREATE TABLE dupes (v int);
      INSERT INTO dupes VALUES (1), (1);
      CREATE TABLE tickets (id serial PRIMARY KEY);
      SELECT setval('tickets_id_seq', 2000000000);
      CREATE TABLE events (id int, payload text) WITH (autovacuum_enabled = false);
      INSERT INTO events SELECT i, 'x' FROM generate_series(1, 5000) i;
      DELETE FROM events WHERE id <= 3000;
      CREATE TABLE visits (id int, path text);
      INSERT INTO visits SELECT i, '/p' || i FROM generate_series(1, 2000) i;
      CREATE TABLE locks (id int PRIMARY KEY, v int);
      INSERT INTO locks VALUES (1, 0);
    `);
    // A unique index built concurrently over duplicate values fails and stays behind, invalid.
    await expect(setup.query('CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON dupes (v)')).rejects.toThrow(
      /could not create unique index/,
    );
    for (let i = 0; i < 3; i++) await setup.query("SELECT count(*) FROM visits WHERE path = '/none'");
    for (let i = 0; i < 4; i++) await setup.query('SELECT pg_sleep(0.01)');
    // A utility statement: pg_stat_statements of PostgreSQL 15 keeps its literal, and its time ranks it on top.
    await setup.query("DO $body$ DECLARE note text := 'do-secret'; BEGIN PERFORM pg_sleep(0.3); END $body$");
    await setup.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    await setup.query('SELECT pg_stat_force_next_flush()');

    sleeper = await client(db.url);
    holder = await client(db.url);
    waiter = await client(db.url);
    sessions.push(sleeper, holder, waiter);
    void sleeper.query("SELECT pg_sleep(120), 'secret-literal'").catch(() => {});
    await holder.query('BEGIN');
    await holder.query("UPDATE locks SET v = 1 WHERE id = 1 AND 'holder-secret' <> ''");
    void waiter.query("UPDATE locks SET v = 2 WHERE id = 1 AND $$waiter-secret$$ <> ''").catch(() => {});

    t = await openTestStore('sqlite');
    metrics = new MetricStore({
      store: t.store,
      logger,
      retention: { samples: 2 * DAY, minuteRollups: 35 * DAY, hourRollups: 400 * DAY },
    });
    await metrics.start();
    service = new DatabaseService({ store: t.store, logger, sink: metrics, series: metrics });
    const thresholds = {
      longRunningQuery: '1s',
      idleInTransaction: '1s',
      slowQueryMeanMs: 5,
      slowQueryCalls: 3,
      unusedIndexMinSize: '64kB',
      missingIndexMinRows: 1000,
      connectionsWarning: 0.01,
    };
    service.apply(
      [
        databaseSchema.parse({ id: 'main', url: db.url, service: 'shop', thresholds }),
        databaseSchema.parse({ id: 'bare', url: bare.url }),
        databaseSchema.parse({
          id: 'gone',
          url: `postgres://postgres@127.0.0.1:${await freePort()}/nothing`,
        }),
      ],
      '.',
    );
    snapshot = await until(
      () => service.collect('main'),
      (s) =>
        s.longRunning.some((q) => q.pid === pidOf(sleeper)) &&
        s.blocking.some((b) => b.blockedPid === pidOf(waiter)) &&
        s.idleInTransaction.some((q) => q.pid === pidOf(holder) && q.durationMs >= 1000) &&
        s.tables.some((tb) => tb.name === 'events' && tb.deadTuples >= 3000) &&
        s.tables.some((tb) => tb.name === 'visits' && tb.seqScans >= 3),
      'the situations to show in the statistics views',
    );
  });

  afterAll(async () => {
    await service?.stop();
    await metrics?.stop();
    await t?.cleanup();
    const admin = await client(inject('postgresUrl'));
    await admin.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => {});
    await admin.end();
    for (const s of sessions) await s.end().catch(() => {});
    await db?.drop();
    await bare?.drop();
  });

  it('records each situation in the snapshot', () => {
    expect(snapshot.up).toBe(true);
    expect(snapshot.serverVersion).toMatch(/^\d+/);
    expect(snapshot.inRecovery).toBe(false);
    expect(snapshot.connections.max).toBe(200);
    expect(snapshot.connections.byState.active).toBeGreaterThanOrEqual(2);
    const long = snapshot.longRunning.find((q) => q.pid === pidOf(sleeper))!;
    expect(long).toMatchObject({
      state: 'active',
      query: "SELECT pg_sleep(120), '***'",
      application: 'collector-test',
    });
    expect(long.durationMs).toBeGreaterThanOrEqual(1000);
    expect(snapshot.blocking).toContainEqual(
      expect.objectContaining({
        blockedPid: pidOf(waiter),
        blockedQuery: "UPDATE locks SET v = 2 WHERE id = 1 AND '***' <> '***'",
        blockingQuery: "UPDATE locks SET v = 1 WHERE id = 1 AND '***' <> '***'",
        blockingPid: pidOf(holder),
        blockingState: 'idle in transaction',
      }),
    );
    expect(snapshot.statements.status).toBe('installed');
    expect(snapshot.statements.slow.map((q) => q.query)).toContain('SELECT pg_sleep($1)');
    expect(snapshot.statements.top.map((q) => q.query)).toContain("DO '***'");
    // Opsbook's own statements are tagged and left out.
    expect(snapshot.statements.top.every((q) => !q.query.includes('/* opsbook */'))).toBe(true);
    expect(snapshot.indexes.unused.map((i) => i.name)).toContain('orders_note_idx');
    expect(snapshot.indexes.duplicate).toContainEqual(
      expect.objectContaining({
        index: expect.objectContaining({ name: 'orders_customer_idx' }),
        coveredBy: expect.objectContaining({ name: 'orders_customer_note_idx' }),
      }),
    );
    expect(snapshot.indexes.invalid.map((i) => i.name)).toEqual(['dupes_v_key']);
    expect(snapshot.sequences[0]).toMatchObject({
      name: 'tickets_id_seq',
      table: 'tickets',
      column: 'id',
      columnType: 'integer',
      maxValue: 2_147_483_647,
    });
    expect(snapshot.sequences[0]!.usedRatio).toBeCloseTo(2e9 / 2_147_483_647, 5);
    expect(snapshot.xid!.remaining).toBeGreaterThan(2e9);
    expect(snapshot.replication.slots).toContainEqual(expect.objectContaining({ name: slot, active: false }));
    expect(snapshot.errors).toEqual([]);
  });

  it('shows no literal of a live query in the database view, query lists, sessions or findings', async () => {
    const shown = JSON.stringify([
      service.view('main'),
      await service.health('main'),
      await service.backends('main'),
      ...(await Promise.all(
        (['long-running', 'blocking', 'idle-in-transaction', 'slow'] as const).map((kind) =>
          service.queries('main', kind),
        ),
      )),
    ]);
    expect(shown).toContain("SELECT pg_sleep(120), '***'");
    for (const secret of ['secret-literal', 'holder-secret', 'waiter-secret', 'do-secret'])
      expect(shown).not.toContain(secret);
  });

  it('writes metrics labelled with the database and its service to the metric store', async () => {
    const now = Date.now();
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const series = await metrics.select(
        [
          { name: '__name__', op: '=', value: name },
          { name: 'database', op: '=', value: 'main' },
          ...Object.entries(labels).map(([k, v]) => ({ name: k, op: '=' as const, value: v })),
        ],
        now - 60_000,
        now + 1_000,
      );
      expect(series, name).toHaveLength(1);
      expect(series[0]!.labels.service).toBe('shop');
      return series[0]!.samples.at(-1)!.v;
    };
    expect(await value('opsbook_pg_up')).toBe(1);
    expect(await value('opsbook_pg_max_connections')).toBe(200);
    expect(await value('opsbook_pg_connections', { state: 'idle_in_transaction' })).toBeGreaterThanOrEqual(1);
    expect(await value('opsbook_pg_long_running_queries')).toBeGreaterThanOrEqual(2);
    expect(await value('opsbook_pg_blocked_queries')).toBe(1);
    expect(await value('opsbook_pg_idle_in_transaction')).toBe(1);
    expect(await value('opsbook_pg_slow_queries')).toBeGreaterThanOrEqual(1);
    expect(await value('opsbook_pg_database_size_bytes')).toBeGreaterThan(1_000_000);
    expect(await value('opsbook_pg_table_size_bytes', { table: 'public.orders' })).toBeGreaterThan(100_000);
    expect(await value('opsbook_pg_dead_tuples')).toBeGreaterThanOrEqual(3000);
    expect(await value('opsbook_pg_sequence_used_ratio')).toBeCloseTo(0.931, 3);
    expect(await value('opsbook_pg_xid_remaining')).toBeGreaterThan(2e9);
    expect(await value('opsbook_pg_inactive_replication_slots')).toBeGreaterThanOrEqual(1);
    expect(await value('opsbook_pg_cache_hit_ratio', { kind: 'table' })).toBeGreaterThan(0.5);
    expect(await value('opsbook_pg_collect_duration_seconds')).toBeGreaterThan(0);
  });

  it('advises with evidence and the SQL that would fix each finding, most severe first', async () => {
    const report = await service.health('main');
    const find = (rule: string, key?: string) =>
      report.findings.find((f) => f.rule === rule && (key === undefined || f.id === `${rule}:${key}`));
    const order = { critical: 0, warning: 1, info: 2 };
    expect(report.findings.map((f) => order[f.severity])).toEqual(
      [...report.findings.map((f) => order[f.severity])].sort(),
    );
    expect(find('connections')).toMatchObject({ severity: 'warning', evidence: { max: 200 } });
    expect(find('long-running', String(pidOf(sleeper)))).toMatchObject({
      severity: 'warning',
      fix: { sql: `SELECT pg_cancel_backend(${pidOf(sleeper)});`, destructive: true },
    });
    expect(find('blocking', String(pidOf(holder)))).toMatchObject({
      evidence: {
        blockingState: 'idle in transaction',
        blocked: [expect.objectContaining({ pid: pidOf(waiter) })],
      },
      fix: { sql: `SELECT pg_terminate_backend(${pidOf(holder)});`, destructive: true },
    });
    expect(find('idle-in-transaction', String(pidOf(holder)))?.fix.sql).toBe(
      `SELECT pg_terminate_backend(${pidOf(holder)});`,
    );
    expect(find('slow-queries')).toMatchObject({
      evidence: expect.objectContaining({ query: 'SELECT pg_sleep($1)' }),
      fix: { sql: null, destructive: false },
    });
    expect(find('unused-index', 'public.orders_note_idx')?.fix).toMatchObject({
      sql: 'DROP INDEX CONCURRENTLY "public"."orders_note_idx";',
      destructive: true,
    });
    expect(find('duplicate-index', 'public.orders_customer_idx')?.fix.sql).toBe(
      'DROP INDEX CONCURRENTLY "public"."orders_customer_idx";',
    );
    expect(find('invalid-index', 'public.dupes_v_key')).toMatchObject({
      severity: 'warning',
      fix: { sql: 'REINDEX INDEX CONCURRENTLY "public"."dupes_v_key";', destructive: false },
    });
    expect(find('sequence', 'public.tickets_id_seq')?.fix).toMatchObject({
      sql: 'ALTER TABLE "public"."tickets" ALTER COLUMN "id" TYPE bigint;\nALTER SEQUENCE "public"."tickets_id_seq" AS bigint;',
      destructive: true,
    });
    expect(find('vacuum', 'public.events')).toMatchObject({
      evidence: expect.objectContaining({ deadTuples: 3000, lastAutovacuum: null }),
      fix: { sql: 'VACUUM (ANALYZE) "public"."events";', destructive: false },
    });
    expect(find('missing-index', 'public.visits')?.severity).toBe('info');
    expect(find('inactive-slot', slot)?.fix).toMatchObject({
      sql: `SELECT pg_drop_replication_slot('${slot}');`,
      destructive: true,
    });
    expect(find('pg-stat-statements')).toBeUndefined();
    expect(report.counts.warning).toBe(
      report.findings.filter((f: Finding) => f.severity === 'warning').length,
    );
  });

  it('without pg_stat_statements: 0 slow queries as a metric, and a finding with the fix', async () => {
    const s = await service.collect('bare');
    expect(s.up).toBe(true);
    expect(s.statements).toMatchObject({ status: 'not-installed', preloaded: true, slowCount: 0 });
    const report = await service.health('bare');
    expect(report.findings.find((f) => f.rule === 'pg-stat-statements')).toMatchObject({
      severity: 'warning',
      fix: { sql: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;', destructive: false },
    });
    const series = await metrics.select(
      [
        { name: '__name__', op: '=', value: 'opsbook_pg_slow_queries' },
        { name: 'database', op: '=', value: 'bare' },
      ],
      Date.now() - 60_000,
      Date.now() + 1000,
    );
    expect(series[0]!.samples.at(-1)!.v).toBe(0);
  });

  it('a server that does not answer is opsbook_pg_up 0 and a critical finding, not a crash', async () => {
    const s = await service.collect('gone');
    expect(s.up).toBe(false);
    expect(s.error).toMatch(/ECONNREFUSED/);
    const report = await service.health('gone');
    expect(report.up).toBe(false);
    expect(report.findings).toEqual([
      expect.objectContaining({
        rule: 'unreachable',
        severity: 'critical',
        evidence: expect.objectContaining({ error: s.error }),
      }),
    ]);
    const series = await metrics.select(
      [
        { name: '__name__', op: '=~', value: 'opsbook_pg_.*' },
        { name: 'database', op: '=', value: 'gone' },
      ],
      Date.now() - 60_000,
      Date.now() + 1000,
    );
    expect(Object.fromEntries(series.map((x) => [x.labels.__name__, x.samples.at(-1)!.v]))).toMatchObject({
      opsbook_pg_up: 0,
    });
    expect(series.map((x) => x.labels.__name__).sort()).toEqual([
      'opsbook_pg_collect_duration_seconds',
      'opsbook_pg_up',
    ]);
    expect(service.list().find((d) => d.id === 'gone')).toMatchObject({
      up: false,
      findings: { critical: 1 },
    });
  });
});
