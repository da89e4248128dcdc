// One Kysely<DB> over either engine: better-sqlite3 (embedded default, WAL) or PostgreSQL.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { DB } from './db.types.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

export type Engine = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<DB>;
  engine: Engine;
  /** Where the data lives, with any password hidden. */
  location: string;
  /**
   * The better-sqlite3 handle behind `db` (SQLite only), for hot writes with prepared statements.
   * It is the same single connection, so statements run inside a Kysely transaction belong to it.
   */
  sqlite?: Database.Database;
  /** Throws when the store cannot answer a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  url: string;
  password?: string;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  return options.url.startsWith('sqlite:')
    ? openSqlite(options.url.slice('sqlite:'.length))
    : openPostgres(options);
}

function openSqlite(path: string): Store {
  const file = path === ':memory:' ? path : resolve(path);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable against process crashes (only an OS crash can lose the last commits).
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database }) });
  // Checkpoints (copying the WAL back and syncing the file) run on their own thread, not in commits.
  const checkpointer = file === ':memory:' ? undefined : new SqliteCheckpointer(database, file);
  return {
    db,
    engine: 'sqlite',
    location: file,
    sqlite: database,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await checkpointer?.stop();
      await db.destroy();
      // Kysely opens its driver on the first query; a store closed before any has to close the handle.
      if (database.open) database.close();
    },
  };
}

// Epoch-millisecond columns are BIGINT and sums are NUMERIC; both fit a JS number for our values.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

async function openPostgres(options: StoreOptions): Promise<Store> {
  // pg lets the connection string's (absent) password win over a `password` option, so it goes in the URL.
  const withPassword = new URL(options.url);
  // The setter does not escape "%", so a password like p%41ss would reach pg as pAss.
  if (options.password !== undefined) withPassword.password = encodeURIComponent(options.password);
  const pool = new pg.Pool({
    connectionString: withPassword.toString(),
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5000,
    types: types as pg.CustomTypesConfig,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const url = new URL(options.url);
  if (url.password) url.password = '***';
  const store: Store = {
    db,
    engine: 'postgres',
    location: url.toString(),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
  return store;
}
