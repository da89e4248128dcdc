// Single sign-on end to end: Chromium, a running Opsbook with auth.oidc, and a real OpenID provider
// (the oidc-provider package, its login and consent pages) on loopback. The provider puts the user's
// groups in a `groups` claim, as Microsoft Entra ID does; the role mapping turns them into a role.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { apiCaller } from '../../../../test/api-caller.js';
import { freePort } from '../../../../test/postgres-cluster.js';
import { Opsbook } from '../runtime/opsbook.js';
import { OidcSignIn, safeNext } from './oidc.js';
import { oidcSchema } from './oidc.schema.js';
import { launchChromium } from '../../../../test/chromium.js';

const GROUPS: Record<string, string[]> = {
  alice: ['ops-admins', 'dba'],
  bob: ['everyone'],
  carol: [],
};

describe('single sign-on with OpenID Connect', () => {
  let dir: string;
  let providerServer: Server;
  let issuer: string;
  let opsbook: Opsbook;
  let browser: Browser;
  const admin = apiCaller(() => opsbook.url);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-oidc-'));
    const providerPort = await freePort();
    const opsbookPort = await freePort();
    issuer = `http://127.0.0.1:${providerPort}`;
    const redirect = `http://127.0.0.1:${opsbookPort}/api/v1/auth/oidc/callback`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'opsbook',
          client_secret: 'opsbook-client-secret',
          redirect_uris: [redirect],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'], email: ['email'] },
      findAccount: (_ctx, sub) => ({
        accountId: sub,
        claims: () => ({
          sub,
          name: `${sub[0]!.toUpperCase()}${sub.slice(1)} Example`,
          preferred_username: sub,
          email: `${sub}@example.com`,
          groups: GROUPS[sub] ?? [],
        }),
      }),
      pkce: { required: () => true },
      cookies: { keys: ['a-test-cookie-signing-key'] },
    });
    providerServer = provider.listen(providerPort);
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
auth:
  oidc:
    issuer: ${issuer}
    clientId: opsbook
    clientSecret: \${OIDC_SECRET}
    redirectUrl: ${redirect}
    label: Example ID
    allowHttp: true
    roleMapping: { admin: [ops-admins], responder: [], viewer: [everyone] }
    defaultRole: none
services: []
`,
    );
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: opsbookPort,
      logger: pino({ level: 'silent' }),
      env: { ...process.env, OIDC_SECRET: 'opsbook-client-secret' },
    });
    await opsbook.start();
    await opsbook.ready();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await opsbook?.stop();
    await new Promise((done) => providerServer?.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The browser part: Opsbook → the provider's login and consent pages → back to Opsbook. */
  async function signInAs(login: string, next: string) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${opsbook.url}/api/v1/auth/oidc/start?next=${encodeURIComponent(next)}`);
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'anything');
    await page.click('button[type="submit"]');
    await page.waitForSelector('button:has-text("Continue")');
    await page.click('button:has-text("Continue")');
    await page.waitForURL(
      (url) => url.origin === new URL(opsbook.url).origin && !url.pathname.startsWith('/api/'),
    );
    const session = await page.evaluate(async () => {
      const response = await fetch('/api/v1/auth/session');
      return { status: response.status, body: (await response.json()) as unknown };
    });
    const url = new URL(page.url());
    await context.close();
    return { path: url.pathname + url.search, session };
  }

  it('offers the provider on the sign-in page', async () => {
    const providers = await apiCaller(() => opsbook.url, null)('GET', '/api/v1/auth/providers');
    expect(providers.body).toEqual({ password: true, oidc: { enabled: true, label: 'Example ID' } });
  });

  it('signs a user in, maps their groups to a role, and returns them where they were', async () => {
    const alice = await signInAs('alice', '/incidents/INC-1?tab=timeline');
    expect(alice.path).toBe('/incidents/INC-1?tab=timeline');
    expect(alice.session).toEqual({
      status: 200,
      body: expect.objectContaining({
        user: expect.objectContaining({ username: 'alice', role: 'admin', groups: ['ops-admins', 'dba'] }),
        via: 'session',
      }),
    });
    const bob = await signInAs('bob', '/');
    expect((bob.session.body as { user: { role: string } }).user.role).toBe('viewer');
    const users = (await admin('GET', '/api/v1/users')).body.items as {
      username: string;
      source: string;
      name: string;
    }[];
    expect(users).toContainEqual(
      expect.objectContaining({ username: 'alice', source: 'oidc', name: 'Alice Example' }),
    );
    const audit = (await admin('GET', '/api/v1/audit?action=auth.sign-in')).body.items as {
      actor: string;
      detail: object;
    }[];
    expect(audit).toContainEqual(
      expect.objectContaining({ actor: 'alice', detail: { via: 'oidc', role: 'admin' } }),
    );
  }, 60_000);

  it('refuses a user in no mapped group, saying why on the sign-in page', async () => {
    const carol = await signInAs('carol', '/');
    expect(carol.path).toMatch(/^\/sign-in\?error=/);
    expect(decodeURIComponent(carol.path)).toContain('carol is in no group that gives an Opsbook role');
    expect(carol.session.status).toBe(401);
  }, 60_000);

  it('never redirects off the site, and refuses a callback without its flow cookie', async () => {
    expect(safeNext('//evil.example/x')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    const evil = await signInAs('bob', '//evil.example/steal');
    expect(evil.path).toBe('/');
    const forged = await fetch(`${opsbook.url}/api/v1/auth/oidc/callback?code=x&state=y`, {
      redirect: 'manual',
    });
    expect(forged.status).toBe(302);
    expect(decodeURIComponent(forged.headers.get('location')!)).toContain('start it again');
  }, 60_000);

  it('refuses a tampered flow cookie and says clearly when the provider is unreachable', async () => {
    const signIn = new OidcSignIn(
      oidcSchema.parse({ issuer, clientId: 'opsbook', redirectUrl: 'http://127.0.0.1/cb', allowHttp: true }),
    );
    const { cookie } = await signIn.start('/');
    const [body, mac] = cookie.split('.');
    const tampered = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), next: '//evil' })).toString('base64url')}.${mac}`;
    await expect(signIn.finish('code=x&state=y', tampered)).rejects.toThrow('start it again');
    const down = new OidcSignIn(
      oidcSchema.parse({
        issuer: `http://127.0.0.1:${await freePort()}`,
        clientId: 'x',
        redirectUrl: 'http://127.0.0.1/cb',
        allowHttp: true,
      }),
    );
    await expect(down.start('/')).rejects.toThrow(
      /cannot read the OpenID configuration of http:\/\/127\.0\.0\.1:\d+/,
    );
    expect(signIn.roleFor(['nothing'])).toBe('viewer');
  });
});
