// Real accounts for tests that need a particular role or group: created through the API with the test
// run's admin token, signed in, and given a personal token, as a user would with `opsbook login`.
import { apiCaller, type ApiCall } from './api-caller.js';

export interface TestAccount {
  token: string;
  call: ApiCall;
}

export async function createAccount(
  baseUrl: () => string,
  user: { username: string; role: 'viewer' | 'responder' | 'admin'; groups?: string[] },
): Promise<TestAccount> {
  const password = `${user.username}-test-password`;
  const created = await apiCaller(baseUrl)('POST', '/api/v1/users', { ...user, password });
  if (created.status !== 201) throw new Error(`creating ${user.username}: ${JSON.stringify(created.body)}`);
  const signIn = await fetch(`${baseUrl()}/api/v1/auth/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password }),
  });
  const session = (await signIn.json()) as { csrfToken: string };
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const made = await fetch(`${baseUrl()}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': session.csrfToken },
    body: JSON.stringify({ name: `${user.username}-test` }),
  });
  const { secret } = (await made.json()) as { secret: string };
  return { token: secret, call: apiCaller(baseUrl, secret) };
}
