import pg from 'pg';
import type { PostgresProbeSpec } from '../../config/schema.js';
import type { Probe, ProbeContext, ProbeOutcome } from '../probe.js';
import {
  abortedOutcome,
  describeError,
  down,
  errorDetail,
  readConfigFile,
  startClock,
  up,
} from './common.js';

const QUERY_CHARS = 60;

async function passwordOf(spec: PostgresProbeSpec, baseDir: string): Promise<string | undefined> {
  if (spec.password !== undefined) return spec.password;
  if (spec.passwordFile !== undefined) return (await readConfigFile(baseDir, spec.passwordFile)).trim();
  return undefined;
}

function newClient(spec: PostgresProbeSpec, password: string | undefined, ctx: ProbeContext): pg.Client {
  const client = new pg.Client({
    connectionString: spec.url,
    connectionTimeoutMillis: ctx.timeoutMs,
    query_timeout: ctx.timeoutMs,
    statement_timeout: ctx.timeoutMs,
    application_name: 'opsbook-probe',
  });
  // Set after construction: pg lets the URL's (empty) password override a `password` option.
  if (password !== undefined) client.password = password;
  // A connection lost after connect is emitted, not thrown; unhandled it would end the process.
  client.on('error', () => {});
  return client;
}

function scrub(text: string, secrets: string[]): string {
  return secrets.reduce((line, secret) => line.split(secret).join('***'), text);
}

/**
 * Ends a client once, from abort or from the end of the probe, without waiting:
 * a dead server must not hold the probe until its socket closes.
 */
function ender(client: pg.Client): () => void {
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    client.end().catch(() => {});
  };
}

function shortQuery(query: string): string {
  const line = query.replace(/\s+/g, ' ').trim();
  return line.length > QUERY_CHARS ? `${line.slice(0, QUERY_CHARS - 3)}...` : line;
}

/** Every password the probe knows, including one written into the URL, to keep out of messages. */
function secretsOf(spec: PostgresProbeSpec, password: string | undefined): string[] {
  const secrets = password ? [password] : [];
  try {
    const inUrl = decodeURIComponent(new URL(spec.url).password);
    if (inUrl) secrets.push(inUrl);
  } catch {
    // An unparsable URL fails in pg with its own message; there is nothing to scrub.
  }
  return secrets;
}

async function runQuery(
  spec: PostgresProbeSpec,
  client: pg.Client,
  elapsed: () => number,
): Promise<ProbeOutcome> {
  await client.connect();
  const result = await client.query(spec.query);
  const latencyMs = elapsed();
  const version = await client.query<{ server_version: string }>('SHOW server_version');
  return up(latencyMs, `${shortQuery(spec.query)} in ${Math.round(latencyMs)} ms`, {
    serverVersion: version.rows[0]?.server_version,
    rows: result.rowCount,
  });
}

/** Server errors read as PostgreSQL writes them; their SQLSTATE goes to detail.code. */
function errorLine(error: unknown, password: string | undefined): string {
  if (error instanceof pg.DatabaseError) return error.message;
  const line = describeError(error);
  // pg's words for "the server asked for a password and none was configured".
  if (password === undefined && line.includes('client password must be a string'))
    return 'the server asks for a password; set password or passwordFile';
  return line;
}

export const postgresProbe: Probe<PostgresProbeSpec> = async (spec, ctx) => {
  const elapsed = startClock();
  let password: string | undefined;
  let secrets = secretsOf(spec, undefined);
  let end = () => {};
  let unsubscribe = () => {};
  try {
    password = await passwordOf(spec, ctx.baseDir);
    secrets = secretsOf(spec, password);
    if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
    const client = newClient(spec, password, ctx);
    end = ender(client);
    unsubscribe = ctx.cancel.onAbort(end);
    return await runQuery(spec, client, elapsed);
  } catch (error) {
    if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
    return down(elapsed(), scrub(errorLine(error, password), secrets), errorDetail(error));
  } finally {
    unsubscribe();
    end();
  }
};
