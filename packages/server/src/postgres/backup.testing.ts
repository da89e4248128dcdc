// Shared setup for the backup tests: a source database with data in the throwaway cluster, a store,
// and a BackupService built from config as a user would write it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { inject } from 'vitest';
import { createTestDatabase } from '../../../../test/databases.js';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { databaseSchema } from '../config/databases.schema.js';
import type { IngestSample } from '../telemetry/series.js';
import { backupsSchema } from './backup.schema.js';
import { BackupService, type BackupServiceOptions } from './backup.service.js';

export const silent = pino({ level: 'silent' });

export interface SourceDatabase {
  url: string;
  name: string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A database with a few tables (one of `bigRows` rows), a second schema, a view and an index. */
export async function createSource(prefix: string, bigRows = 50_000): Promise<SourceDatabase> {
  const database = await createTestDatabase(inject('postgresUrl'), prefix);
  const query = async <T extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  await query(`
    CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now());
    INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 120) g;
    CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2), note text);
    INSERT INTO orders (customer, total, note)
      SELECT 1 + g % 120, (g % 1000) / 10.0, md5(g::text) FROM generate_series(1, ${bigRows}) g;
    CREATE INDEX orders_customer_idx ON orders (customer);
    CREATE SCHEMA audit;
    CREATE TABLE audit."Log Entries" (at timestamptz DEFAULT now(), message text);
    INSERT INTO audit."Log Entries" (message) SELECT 'event ' || g FROM generate_series(1, 7) g;
    CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 50;
  `);
  return { url: database.url, name: new URL(database.url).pathname.slice(1), query, drop: database.drop };
}

/** Exact row counts of the test tables in any database of the cluster. */
export async function rowCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, number> = {};
    for (const table of ['public.customers', 'public.orders', 'audit."Log Entries"'])
      out[table.replaceAll('"', '')] = Number(
        (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n,
      );
    return out;
  } finally {
    await client.end();
  }
}

export function urlOf(database: string): string {
  const url = new URL(inject('postgresUrl'));
  url.pathname = `/${database}`;
  return url.toString();
}

export async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rows.length > 0;
  } finally {
    await client.end();
  }
}

export async function stagingDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'opsbook\\_restore\\_%'`,
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export interface Harness {
  service: BackupService;
  store: TestStore;
  dir: string;
  samples: IngestSample[];
  /** The latest sample of a gauge with these labels. */
  gauge(name: string, labels?: Record<string, string>): number | undefined;
  /** Added to the real time the service sees. */
  clock: { offsetMs: number };
  close(): Promise<void>;
}

export interface HarnessOptions {
  databases: Record<string, unknown>[];
  backups?: Record<string, unknown>;
  service?: Partial<BackupServiceOptions>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-backups-'));
  const store = await openTestStore('sqlite');
  const samples: IngestSample[] = [];
  const clock = { offsetMs: 0 };
  const service = new BackupService({
    store: store.store,
    logger: silent,
    databases: options.databases.map((d) => databaseSchema.parse(d)),
    backups: backupsSchema.parse({ dir: 'backups', binDir: inject('postgresBinDir'), ...options.backups }),
    baseDir: dir,
    metrics: { ingest: (list) => samples.push(...list) },
    now: () => Date.now() + clock.offsetMs,
    ...options.service,
  });
  await service.start();
  return {
    service,
    store,
    dir,
    samples,
    clock,
    gauge(name, labels = {}) {
      for (let i = samples.length - 1; i >= 0; i--) {
        const s = samples[i]!;
        if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
      }
      return undefined;
    },
    async close() {
      await service.stop();
      await store.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
