// The CLI talks to a running Opsbook only through its public API.
import { userInfo } from 'node:os';
import type { ErrorBody } from '@opsbook/contracts';
import { tokenFor } from './credentials.js';

export const DEFAULT_URL = 'http://localhost:8080';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function apiUrl(option: string | undefined): string {
  return (option ?? process.env.OPSBOOK_URL ?? DEFAULT_URL).replace(/\/$/, '');
}

/** The Authorization header for calls that cannot go through api() (streams, raw answers). */
export function authHeaders(base: string): Record<string, string> {
  const token = tokenFor(base);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function api<T>(base: string, path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  const token = tokenFor(base);
  try {
    response = await fetch(`${base}${path}`, {
      ...init,
      headers: {
        accept: 'application/json',
        ...(token && { authorization: `Bearer ${token}` }),
        ...init.headers,
      },
    });
  } catch (error) {
    const inner = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
    const cause = inner?.code ?? inner?.errors?.[0]?.code ?? (error as Error).message;
    throw new ApiError(
      `cannot reach Opsbook at ${base} (${cause}); is \`opsbook serve\` running? Set --url or OPSBOOK_URL to point elsewhere`,
      0,
    );
  }
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (body as ErrorBody | undefined)?.error;
    if (response.status === 401 && path !== '/api/v1/auth/sign-in')
      throw new ApiError(
        `${error?.message ?? 'not signed in'}. Run \`opsbook login\` (or set OPSBOOK_TOKEN) and try again`,
        401,
      );
    throw new ApiError(error?.message ?? `HTTP ${response.status} from ${path}`, response.status);
  }
  return body as T;
}

/**
 * The name an action is recorded under when the CLI uses an integration token (--as, $OPSBOOK_USER,
 * else the OS user). With a personal token (`opsbook login`) the server records its owner instead.
 */
export function actorName(option: string | undefined): string {
  if (option) return option;
  if (process.env.OPSBOOK_USER) return process.env.OPSBOOK_USER;
  try {
    return userInfo().username || 'cli';
  } catch {
    return process.env.USER ?? 'cli';
  }
}

export function postJson<T>(base: string, path: string, body: unknown): Promise<T> {
  return api<T>(base, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
