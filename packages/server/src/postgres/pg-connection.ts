// A small pool per configured database. The password comes from `password` (${ENV}) or `passwordFile`
// and never leaves this file except inside the pool's connection string; errors carry redacted URLs.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../config/databases.schema.js';

export const APPLICATION_NAME = 'opsbook';

/** postgres://user:***@host/db: what may appear in logs, errors and the API. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
  }
}

export function readPassword(
  config: Pick<DatabaseConfig, 'password' | 'passwordFile'>,
  baseDir: string,
): string | undefined {
  if (config.password !== undefined && config.password !== '') return config.password;
  if (config.passwordFile) return readFileSync(resolve(baseDir, config.passwordFile), 'utf8').trim();
  return undefined;
}

/**
 * The URL with the password in it. pg lets a URL's (empty) password override a `password` option, so
 * the password travels inside the connection string, percent-encoded.
 */
export function urlWithPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** Every secret a message could contain: the configured password and one written into the URL. */
function secretsOf(url: string, password: string | undefined): string[] {
  const secrets = password ? [password] : [];
  try {
    const inUrl = decodeURIComponent(new URL(url).password);
    if (inUrl) secrets.push(inUrl);
  } catch {
    // not a URL: nothing to add
  }
  return secrets.filter((s) => s.length > 0);
}

/** A PostgreSQL or network error as one line, secrets removed. */
export function describePgError(error: unknown, secrets: readonly string[] = []): string {
  const e = error as NodeJS.ErrnoException & { errors?: Error[]; code?: string };
  let text: string;
  if (e?.errors?.length) text = e.errors.map((inner) => inner.message).join('; ');
  else if (e instanceof Error)
    text =
      e.code && !e.message.includes(e.code) && !/^[0-9A-Z]{5}$/.test(e.code)
        ? `${e.code}: ${e.message}`
        : e.message;
  else text = String(error);
  if (text.includes('client password must be a string'))
    text = 'the server asks for a password; set password (${ENV}) or passwordFile';
  for (const secret of secrets) text = text.split(secret).join('***');
  return redactUrl(text);
}

export interface PgConnectionOptions {
  url: string;
  password?: string;
  /** Applied to every statement (startup parameter), so no collector query can run away. */
  statementTimeoutMs: number;
  connectTimeoutMs?: number;
  max?: number;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

export class PgConnection {
  private readonly pool: pg.Pool;
  private readonly secrets: string[];
  readonly redactedUrl: string;

  constructor(private readonly options: PgConnectionOptions) {
    this.secrets = secretsOf(options.url, options.password);
    this.redactedUrl = redactUrl(options.url);
    this.pool = new pg.Pool({
      connectionString: urlWithPassword(options.url, options.password),
      application_name: APPLICATION_NAME,
      statement_timeout: options.statementTimeoutMs,
      connectionTimeoutMillis: options.connectTimeoutMs ?? Math.max(options.statementTimeoutMs, 5_000),
      max: options.max ?? 3,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
    });
    // An idle client losing its server must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
  }

  async query<R extends object>(text: string, values?: unknown[]): Promise<R[]> {
    try {
      const result = await this.pool.query<R>(text, values);
      return result.rows;
    } catch (error) {
      throw new PgError(this.describe(error), error);
    }
  }

  /** One pooled client for several statements (the collector reads everything over one connection). */
  async withClient<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new PgError(this.describe(error), error);
    }
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** A dedicated client outside the pool, for long statements (VACUUM) with their own timeout. */
  async dedicated(statementTimeoutMs: number): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: urlWithPassword(this.options.url, this.options.password),
      application_name: `${APPLICATION_NAME}-maintenance`,
      statement_timeout: statementTimeoutMs,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw new PgError(this.describe(error), error);
    }
    return client;
  }

  describe(error: unknown): string {
    return describePgError(error, this.secrets);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

/** A redacted message; the original stays as `cause` for code checks, never for logging. */
export class PgError extends Error {
  readonly code: string | undefined;
  constructor(message: string, cause: unknown) {
    super(message);
    this.name = 'PgError';
    this.code = (cause as { code?: string })?.code;
    Object.defineProperty(this, 'cause', { value: cause, enumerable: false });
  }
}

export function connectionFor(config: DatabaseConfig, baseDir: string): PgConnection {
  return new PgConnection({
    url: config.url,
    password: readPassword(config, baseDir),
    statementTimeoutMs: config.statementTimeout,
  });
}
