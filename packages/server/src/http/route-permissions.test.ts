// Every route of the API, enumerated from the router itself (so a new route cannot be missed), called
// against a running Opsbook as anonymous, as a viewer (token and browser session) and with an intake
// token: every mutating route refuses them, and nothing changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { apiCaller } from '../../../../test/api-caller.js';
import { createAccount } from '../../../../test/accounts.js';
import { Opsbook } from '../runtime/opsbook.js';
import { createApp, type AppDeps } from './app.js';
import { isMutating, requiredAccess } from './access-policy.js';

const INTAKE_SECRET = 'intake-secret-for-the-permission-test-0123';

/** Routes a signed-in viewer may call on their own account; tested for what they allow below. */
const SELF_SERVICE = ['POST /api/v1/auth/password', 'POST /api/v1/tokens', 'DELETE /api/v1/tokens/:id'];
const PUBLIC_MUTATIONS = ['POST /api/v1/auth/sign-in', 'POST /api/v1/auth/sign-out'];

function allRoutes(): { method: string; path: string }[] {
  // The route table does not depend on the services behind it.
  const app = createApp(new Proxy({}, { get: () => () => undefined }) as AppDeps);
  const seen = new Set<string>();
  return app.routes
    .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/'))
    .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`));
}

describe('route permissions', () => {
  let dir: string;
  let opsbook: Opsbook;
  const admin = apiCaller(() => opsbook.url);
  let viewerToken: string;
  let viewerCookie: string;
  let viewerCsrf: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-perm-'));
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
auth:
  tokens:
    - { name: prometheus, kind: intake, secret: "\${INTAKE_SECRET}" }
services:
  - name: shop
    owner: team-shop
    checks:
      - { name: port, initialDelaySeconds: 0, periodSeconds: 60, tcp: { host: 127.0.0.1, port: 9 } }
`,
    );
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: 0,
      logger: pino({ level: 'silent' }),
      env: { ...process.env, INTAKE_SECRET },
    });
    await opsbook.start();
    await opsbook.ready();
    const created = await admin('POST', '/api/v1/users', {
      username: 'vera',
      role: 'viewer',
      password: 'viewer-password-1',
    });
    expect(created.status).toBe(201);
    const signIn = await fetch(`${opsbook.url}/api/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'vera', password: 'viewer-password-1' }),
    });
    expect(signIn.status).toBe(200);
    viewerCookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    viewerCsrf = ((await signIn.json()) as { csrfToken: string }).csrfToken;
    const token = await fetch(`${opsbook.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: viewerCookie, 'x-csrf-token': viewerCsrf },
      body: JSON.stringify({ name: 'vera-cli' }),
    });
    expect(token.status).toBe(201);
    viewerToken = ((await token.json()) as { secret: string }).secret;
  });

  afterAll(async () => {
    await opsbook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = async (method: string, path: string, headers: Record<string, string>) => {
    const response = await fetch(`${opsbook.url}${path.replace(/:\w+/g, 'x')}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'GET' || method === 'HEAD' ? undefined : '{}',
    });
    const text = await response.text();
    return {
      status: response.status,
      code: text.startsWith('{') ? (JSON.parse(text) as any).error?.code : '',
    };
  };

  it('finds every mutating route, including the ones added by each domain', () => {
    const mutating = allRoutes().filter((r) => isMutating(r.method));
    const names = mutating.map((r) => `${r.method} ${r.path}`);
    expect(mutating.length).toBeGreaterThan(40);
    for (const known of [
      'POST /api/v1/incidents/:id/acknowledge',
      'POST /api/v1/runbook-runs/:id/steps/:step/approve',
      'POST /api/v1/silences',
      'POST /api/v1/backups/:id/restore',
      'DELETE /api/v1/pitr-restores/:id',
      'POST /api/v1/users',
      'POST /api/v2/alerts',
    ])
      expect(names).toContain(known);
  });

  it('refuses every mutating route to anonymous callers with 401', async () => {
    const refused: string[] = [];
    for (const { method, path } of allRoutes().filter((r) => isMutating(r.method))) {
      const name = `${method} ${path}`;
      if (PUBLIC_MUTATIONS.includes(name)) continue;
      const answer = await send(method, path, {});
      if (answer.status !== 401) refused.push(`${name} answered ${answer.status}`);
    }
    expect(refused).toEqual([]);
  });

  it('refuses every mutating route to a viewer, by token and by browser session, with 403', async () => {
    const wrong: string[] = [];
    for (const { method, path } of allRoutes().filter((r) => isMutating(r.method))) {
      const name = `${method} ${path}`;
      if (PUBLIC_MUTATIONS.includes(name) || SELF_SERVICE.includes(name)) continue;
      const byToken = await send(method, path, { authorization: `Bearer ${viewerToken}` });
      const bySession = await send(method, path, { cookie: viewerCookie, 'x-csrf-token': viewerCsrf });
      if (byToken.status !== 403 || byToken.code !== 'forbidden')
        wrong.push(`${name} token: ${byToken.status}`);
      if (bySession.status !== 403 || bySession.code !== 'forbidden')
        wrong.push(`${name} session: ${bySession.status}`);
    }
    expect(wrong).toEqual([]);
    // Nothing was created by all those attempts.
    expect((await admin('GET', '/api/v1/incidents')).body.items).toEqual([]);
    expect((await admin('GET', '/api/v1/silences')).body.items).toEqual([]);
  });

  it('keeps the admin routes (users, restores, PITR, ending sessions) from a responder', async () => {
    const responder = await createAccount(() => opsbook.url, { username: 'rory', role: 'responder' });
    const adminOnly = allRoutes().filter((r) => requiredAccess(r.method, r.path) === 'admin');
    expect(adminOnly.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'POST /api/v1/users',
        'POST /api/v1/backups/:id/restore',
        'POST /api/v1/databases/:id/pitr/restores',
        'POST /api/v1/databases/:id/backends/:pid/terminate',
      ]),
    );
    const wrong: string[] = [];
    for (const { method, path } of adminOnly) {
      const answer = await send(method, path, { authorization: `Bearer ${responder.token}` });
      if (answer.status !== 403 || answer.code !== 'forbidden')
        wrong.push(`${method} ${path}: ${answer.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps an intake token to the intake routes', async () => {
    const wrong: string[] = [];
    for (const { method, path } of allRoutes()) {
      const access = requiredAccess(method, path);
      if (access === 'public') continue;
      const answer = await send(method, path, { authorization: `Bearer ${INTAKE_SECRET}` });
      if (access === 'intake' ? answer.status === 401 || answer.status === 403 : answer.status !== 403)
        wrong.push(`${method} ${path}: ${answer.status}`);
    }
    expect(wrong).toEqual([]);
    const alerts = await fetch(`${opsbook.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INTAKE_SECRET}` },
      body: JSON.stringify([{ labels: { alertname: 'FromPrometheus', service: 'shop' } }]),
    });
    expect(alerts.status).toBe(200);
  });

  it('lets a viewer read, but not the audit log or the users', async () => {
    const viewer = apiCaller(() => opsbook.url, viewerToken);
    expect((await viewer('GET', '/api/v1/checks')).status).toBe(200);
    expect((await viewer('GET', '/api/v1/audit')).status).toBe(403);
    expect((await viewer('GET', '/api/v1/users')).status).toBe(403);
    const anonymous = apiCaller(() => opsbook.url, null);
    expect((await anonymous('GET', '/api/v1/checks')).status).toBe(401);
    expect((await anonymous('GET', '/api/v1/auth/providers')).status).toBe(200);
    expect((await anonymous('GET', '/actuator/health/liveness')).status).toBe(200);
  });

  it('lets a viewer manage only their own account: a viewer token, their password; never more', async () => {
    const viewer = apiCaller(() => opsbook.url, viewerToken);
    expect((await viewer('POST', '/api/v1/tokens', { name: 'x', role: 'responder' })).status).toBe(403);
    expect((await viewer('POST', '/api/v1/tokens', { name: 'x', personal: false })).status).toBe(403);
    const own = await viewer('GET', '/api/v1/tokens');
    expect(own.body.items.map((t: { owner: string }) => t.owner)).toEqual(['vera']);
    const foreign = await admin('POST', '/api/v1/tokens', {
      name: 'grafana',
      role: 'viewer',
      personal: false,
    });
    expect(foreign.status).toBe(201);
    expect((await viewer('DELETE', `/api/v1/tokens/${foreign.body.token.id}`)).status).toBe(404);
    const wrong = await viewer('POST', '/api/v1/auth/password', {
      current: 'nope',
      password: 'new-password-123',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe('current');
  });

  it('needs the CSRF header for a browser session, and refuses a cross-site sign-in', async () => {
    const noHeader = await send('POST', '/api/v1/auth/password', { cookie: viewerCookie });
    expect(noHeader).toEqual({ status: 403, code: 'csrf_failed' });
    const wrongHeader = await send('POST', '/api/v1/auth/password', {
      cookie: viewerCookie,
      'x-csrf-token': 'forged',
    });
    expect(wrongHeader).toEqual({ status: 403, code: 'csrf_failed' });
    const crossSite = await send('POST', '/api/v1/auth/sign-in', { origin: 'https://evil.example' });
    expect(crossSite).toEqual({ status: 403, code: 'csrf_failed' });
  });

  it('writes refused mutations and successful ones to the audit log with who and from where', async () => {
    const responder = await admin('POST', '/api/v1/users', {
      username: 'rita',
      role: 'responder',
      password: 'responder-password-1',
    });
    expect(responder.status).toBe(201);
    const log = await admin('GET', '/api/v1/audit?limit=500');
    const entries = log.body.items as { actor: string; action: string; outcome: string; ip: string }[];
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'token:env-admin', action: 'POST /api/v1/users', outcome: 'success' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'vera', action: 'POST /api/v1/incidents', outcome: 'denied' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'anonymous', action: 'POST /api/v1/incidents', outcome: 'denied' }),
    );
    expect(entries.find((e) => e.action === 'auth.sign-in' && e.actor === 'vera')).toMatchObject({
      actor: 'vera',
      outcome: 'success',
      ip: '127.0.0.1',
    });
  });
});
