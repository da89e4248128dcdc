// The benchmark's databases: one of about N MB in a few realistic tables, and one with many small
// tables for the collector. Both are made with generate_series inside the server, so setup is fast.
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { progress, round } from '../lib/measure.js';

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export function databaseUrl(clusterUrl: string, name: string): string {
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createDatabase(clusterUrl: string, name: string): Promise<string> {
  await withClient(clusterUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return databaseUrl(clusterUrl, name);
}

const SCHEMA = `
CREATE TABLE customers (
  id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, country char(2) NOT NULL,
  created_at timestamptz NOT NULL);
CREATE TABLE orders (
  id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL,
  placed_at timestamptz NOT NULL, note text);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_placed_idx ON orders (placed_at);
CREATE TABLE events (
  id bigint PRIMARY KEY, at timestamptz NOT NULL, service text NOT NULL, kind text NOT NULL, payload jsonb NOT NULL);`;

/** One round of rows: `n` orders and events, n/10 customers, ids continuing from `from`. */
function roundSql(from: number, n: number): string {
  const to = from + n;
  const c0 = Math.floor(from / 10);
  const c1 = Math.floor(to / 10);
  return `
INSERT INTO customers SELECT g, 'Customer ' || g, 'customer' || g || '@example.com',
  (ARRAY['DE','FR','US','GB','NL','SE','IT','ES'])[1 + g % 8],
  timestamptz '2024-01-01' + g * interval '37 seconds'
FROM generate_series(${c0 + 1}, ${c1}) g;
INSERT INTO orders SELECT g, 1 + (g::bigint * 7919) % ${Math.max(1, c1)},
  (ARRAY['placed','paid','shipped','delivered','returned'])[1 + g % 5], ((g * 31) % 100000) / 100.0,
  timestamptz '2025-01-01' + g * interval '3 seconds',
  CASE WHEN g % 3 = 0 THEN 'leave at the door, ring twice' ELSE 'ref ' || md5(g::text) END
FROM generate_series(${from + 1}, ${to}) g;
INSERT INTO events SELECT g, timestamptz '2026-01-01' + g * interval '250 milliseconds',
  (ARRAY['api','web','worker','billing'])[1 + g % 4], (ARRAY['request','login','error','job'])[1 + g % 4],
  jsonb_build_object('user', g % 50000, 'path', '/api/v1/items/' || (g % 5000), 'ms', (g * 7) % 1000,
    'status', (ARRAY[200,200,200,201,404,500])[1 + g % 6], 'trace', md5((g * 3)::text))
FROM generate_series(${from + 1}, ${to}) g;`;
}

export interface LoadedDatabase {
  url: string;
  sizeBytes: number;
  loadSeconds: number;
  tables: { name: string; rows: number; bytes: number }[];
}

/**
 * Fills `name` in rounds until pg_database_size reaches `targetMb`, then VACUUM (FREEZE, ANALYZE) so no
 * measured run pays for hint bits or visibility maps the load left behind.
 */
export async function loadSizedDatabase(clusterUrl: string, name: string, targetMb: number) {
  const started = performance.now();
  const url = await createDatabase(clusterUrl, name);
  const target = targetMb * 1024 * 1024;
  // About 360 bytes per order+event pair with their indexes: ~11 rounds whatever the target.
  const perRound = Math.max(5_000, Math.round((target / 360) * 0.09));
  await withClient(url, async (client) => {
    await client.query(SCHEMA);
    let loaded = 0;
    let size = 0;
    while (size < target) {
      await client.query(roundSql(loaded, perRound));
      loaded += perRound;
      size = Number(
        (await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]!.n,
      );
      progress(`load: ${loaded} orders, database ${Math.round(size / 1024 / 1024)} MB of ${targetMb} MB`);
    }
    await client.query('VACUUM (FREEZE, ANALYZE)');
  });
  const stats = await withClient(url, async (client) => {
    const size = await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n');
    const tables = await client.query<{ name: string; rows: string; bytes: string }>(
      `SELECT relname AS name, n_live_tup AS rows, pg_total_relation_size(relid) AS bytes
         FROM pg_stat_user_tables ORDER BY relname`,
    );
    return {
      sizeBytes: Number(size.rows[0]!.n),
      tables: tables.rows.map((t) => ({ name: t.name, rows: Number(t.rows), bytes: Number(t.bytes) })),
    };
  });
  return { url, ...stats, loadSeconds: round((performance.now() - started) / 1000) } satisfies LoadedDatabase;
}

export interface ManyTablesDatabase {
  url: string;
  tables: number;
  relations: number;
  sizeBytes: number;
  createSeconds: number;
}

/**
 * `count` tables in batches (one DO block, one transaction each, so the lock table holds a batch):
 * each with a serial key (a sequence and a btree); every 10th also has a second index and 100 rows,
 * and is read by a sequential and an index scan, so the statistics views have content.
 */
export async function createManyTables(
  clusterUrl: string,
  name: string,
  count: number,
): Promise<ManyTablesDatabase> {
  const started = performance.now();
  const url = await createDatabase(clusterUrl, name);
  const batch = 250;
  await withClient(url, async (client) => {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    for (let first = 1; first <= count; first += batch) {
      const last = Math.min(count, first + batch - 1);
      await client.query(`
DO $$
DECLARE t text;
BEGIN
  FOR i IN ${first}..${last} LOOP
    t := format('t_%s', lpad(i::text, 5, '0'));
    EXECUTE format('CREATE TABLE %I (id serial PRIMARY KEY, name text NOT NULL, value int, created_at timestamptz DEFAULT now())', t);
    IF i % 10 = 0 THEN
      EXECUTE format('CREATE INDEX %I ON %I (value)', t || '_value_idx', t);
      EXECUTE format('INSERT INTO %I (name, value) SELECT ''row '' || g, g %% 17 FROM generate_series(1, 100) g', t);
      EXECUTE format('SELECT count(*) FROM %I WHERE name LIKE ''row 1%%''', t);
      EXECUTE format('SELECT * FROM %I WHERE id = 42', t);
    END IF;
  END LOOP;
END $$`);
      if (last % 2000 === 0 || last === count) progress(`collector: ${last} of ${count} tables in ${name}`);
    }
    await client.query('ANALYZE');
  });
  const stats = await withClient(url, async (client) => {
    const r = await client.query<{ size: string; relations: string }>(
      `SELECT pg_database_size(current_database()) AS size,
              (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public') AS relations`,
    );
    return { sizeBytes: Number(r.rows[0]!.size), relations: Number(r.rows[0]!.relations) };
  });
  return {
    url,
    tables: count,
    ...stats,
    createSeconds: round((performance.now() - started) / 1000),
  };
}
