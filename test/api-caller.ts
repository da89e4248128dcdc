// For tests against a running Opsbook: one request, the status and the parsed JSON body.
export type ApiCall = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Headers that authenticate as the test run's admin token (test/auth-env.ts). */
export function testAuth(token = process.env.OPSBOOK_TOKEN): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * `body` is sent as JSON; a string is sent as it is (for malformed-body tests). Calls carry the test
 * run's admin token unless `token` says otherwise (null: anonymous).
 */
export function apiCaller(baseUrl: () => string, token?: string | null): ApiCall {
  return async (method, path, body) => {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : testAuth(token)),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
}
