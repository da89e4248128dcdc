// Connections for PITR: the source database (settings checks) and a restored cluster, which has the
// same roles and passwords as the source at the target time, reached on its own port.
import pg from 'pg';
import type { PitrSettings } from './pitr.config.js';
import { describePgError, readPassword, urlWithPassword } from './pg-connection.js';

/** The source URL on another port, password removed: what the API returns for a restored cluster. */
export function restoredUrl(settings: Pick<PitrSettings, 'url'>, port: number): string {
  const url = new URL(settings.url);
  url.password = '';
  url.port = String(port);
  return url.toString();
}

/** Runs `fn` over one short-lived connection; errors come back as redacted messages. */
export async function withConnection<T>(
  settings: PitrSettings,
  fn: (client: pg.Client) => Promise<T>,
  options: { port?: number; connectTimeoutMs?: number } = {},
): Promise<T> {
  const password = readPassword(settings, settings.baseDir);
  const url = new URL(settings.url);
  if (options.port !== undefined) url.port = String(options.port);
  const client = new pg.Client({
    connectionString: urlWithPassword(url.toString(), password),
    application_name: 'opsbook-pitr',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: 30_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await fn(client);
  } catch (error) {
    // Only the redacted message and the SQLSTATE travel on; the driver's error is dropped.
    throw Object.assign(new Error(describePgError(error, password ? [password] : [])), {
      code: (error as { code?: string }).code,
    });
  } finally {
    await client.end().catch(() => {});
  }
}
