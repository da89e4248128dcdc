// How backups and restores reach a configured database: a URL without its password, the password
// apart (pg_dump and pg_restore get it through PGPASSWORD, never on their command line).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { InputError } from '../errors.js';

export interface PgConnection {
  /** postgres:// URL with the password removed. */
  url: string;
  password: string | undefined;
  dbname: string;
  /** host:port, to tell whether two connections reach the same server. */
  server: string;
}

export function connectionOf(
  database: Pick<DatabaseConfig, 'url' | 'password' | 'passwordFile'>,
  baseDir: string,
): PgConnection {
  const url = parseUrl(database.url, 'url');
  const inline = url.password ? decodeURIComponent(url.password) : undefined;
  url.password = '';
  const password =
    database.password ||
    (database.passwordFile
      ? readFileSync(resolve(baseDir, database.passwordFile), 'utf8').trim()
      : undefined) ||
    inline;
  return { url: url.toString(), password, dbname: dbnameOf(url), server: serverOf(url) };
}

/** Query parameters a run-time URL may carry; the rest could point the connection elsewhere. */
const URL_PARAMETERS = new Set(['sslmode', 'application_name']);

/**
 * A URL given at run time (restore --target-url, drill scratchUrl): its password, if any, is used and
 * then hidden. libpq and pg let `?host=`/`?port=` override the host:port a caller compares with the
 * source's before lending it the source's password, so only harmless parameters are accepted.
 */
export function connectionOfUrl(text: string, field = 'targetUrl'): PgConnection {
  const url = parseUrl(text, field);
  const refused = [...new Set(url.searchParams.keys())].filter((key) => !URL_PARAMETERS.has(key));
  if (refused.length > 0)
    throw new InputError(
      `${field} may not carry the query parameter${refused.length > 1 ? 's' : ''} ${refused.join(', ')}; only ${[...URL_PARAMETERS].join(' and ')} are allowed: put host, port and user in the URL itself (postgres://user@host:port/dbname)`,
      field,
    );
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.password = '';
  return { url: url.toString(), password, dbname: dbnameOf(url), server: serverOf(url) };
}

/** The same server, another database. */
export function withDatabase(connection: PgConnection, dbname: string): PgConnection {
  const url = new URL(connection.url);
  url.pathname = `/${encodeURIComponent(dbname)}`;
  return { ...connection, url: url.toString(), dbname };
}

export function newClient(connection: PgConnection, applicationName: string): pg.Client {
  const client = new pg.Client({
    connectionString: connection.url,
    connectionTimeoutMillis: 10_000,
    application_name: applicationName,
  });
  // Set after construction: pg lets the URL's (empty) password override a `password` option.
  if (connection.password !== undefined) client.password = connection.password;
  // A connection lost later is emitted, not thrown; unhandled it would end the process.
  client.on('error', () => {});
  return client;
}

/**
 * Cancels the query a client is running, from a second connection: a query waiting for a lock (an
 * ALTER TABLE elsewhere) would otherwise hold a cancelled backup, and Opsbook's shutdown, until it got it.
 */
export async function cancelRunningQuery(connection: PgConnection, client: pg.Client): Promise<void> {
  const pid = (client as unknown as { processID?: number | null }).processID;
  if (!pid) return;
  const canceller = newClient(connection, 'opsbook-cancel');
  try {
    await canceller.connect();
    await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
  } catch {
    // the query ends anyway once its connection closes
  } finally {
    await canceller.end().catch(() => {});
  }
}

/** Environment for pg_dump and pg_restore: the password never appears in argv (visible in ps). */
export function toolEnv(connection: PgConnection, applicationName: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGAPPNAME: applicationName, PGCONNECT_TIMEOUT: '10' };
  delete env.PGPASSWORD;
  delete env.PGPASSFILE;
  if (connection.password !== undefined) env.PGPASSWORD = connection.password;
  return env;
}

// backup-dump.ts still imports it from here.
export { quoteIdent } from './sql-text.js';

function parseUrl(text: string, field: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new InputError(`${field} is not a valid postgres:// URL`, field);
  }
}

function dbnameOf(url: URL): string {
  return (
    decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres'
  );
}

function serverOf(url: URL): string {
  return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
}
