// The scratch database a drill restores into: its name, how to reach it, and dropping it safely.
import pg from 'pg';
import { quoteIdent } from './sql-text.js';

export const SCRATCH_PREFIX = 'opsbook_drill_';

/** opsbook_drill_<db>_<UTC yyyymmddhhmmssSSS>, within PostgreSQL's 63-byte identifier limit. */
export function scratchName(databaseId: string, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:TZ.]/g, '');
  const id = databaseId.replace(/-/g, '_').slice(0, 63 - SCRATCH_PREFIX.length - 1 - stamp.length);
  return `${SCRATCH_PREFIX}${id}_${stamp}`;
}

export interface ScratchServer {
  /** The configured URL of the server (scratchUrl, else the source's), used for maintenance. */
  url: string;
  password: string | undefined;
}

/** A connection to `dbname` on the scratch server. */
export function connectionTo(server: ScratchServer, dbname: string): pg.ClientConfig {
  const url = new URL(server.url);
  url.pathname = `/${encodeURIComponent(dbname)}`;
  // In the URL, not as `password`: pg lets a connectionString without one override the option with "".
  if (!url.password && server.password) url.password = encodeURIComponent(server.password);
  return {
    connectionString: url.toString(),
    connectionTimeoutMillis: 10_000,
    application_name: 'opsbook-drill',
  };
}

/** The server's URL without any password, for reports and logs. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '';
  parsed.pathname = '/';
  return parsed.toString();
}

/** Drops a scratch database; refuses any name a drill did not create. */
export async function dropScratch(server: ScratchServer, name: string): Promise<void> {
  if (!name.startsWith(SCRATCH_PREFIX))
    throw new Error(`refusing to drop "${name}": drills only drop databases named ${SCRATCH_PREFIX}*`);
  const maintenance = new URL(server.url).pathname.slice(1) || 'postgres';
  const client = new pg.Client(connectionTo(server, decodeURIComponent(maintenance)));
  await client.connect();
  try {
    // FORCE (PostgreSQL 13+) ends the drill's own sessions that a failed phase may have left behind.
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Whether a database exists on the scratch server. */
export async function scratchExists(server: ScratchServer, name: string): Promise<boolean> {
  const maintenance = new URL(server.url).pathname.slice(1) || 'postgres';
  const client = new pg.Client(connectionTo(server, decodeURIComponent(maintenance)));
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rows.length > 0;
  } finally {
    await client.end();
  }
}
