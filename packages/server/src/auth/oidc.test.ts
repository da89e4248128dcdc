// OidcSignIn against real OpenID providers (the oidc-provider package) on loopback. The browser part
// (the provider's login and consent pages) is driven with fetch and a small cookie jar. One provider
// sends profile and groups from its user info endpoint (as Keycloak or Okta may); the other puts them
// in the ID token and has no user info, as Microsoft Entra ID does with `groups` and `roles`.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/postgres-cluster.js';
import { loadConfigText } from '../config/load.js';
import { InputError, IntegrationError, NotAllowedError } from '../errors.js';
import { OidcSignIn, safeNext } from './oidc.js';
import { oidcSchema } from './oidc.schema.js';

const SECRET = 'a-client-secret-for-the-test-provider';
const CALLBACK = 'https://ops.example.com/api/v1/auth/oidc/callback';

type Claims = Record<string, unknown>;

const USERS: Record<string, Claims> = {
  alice: { name: 'Alice Example', email: 'alice@example.com', groups: ['on-call', 'ops-admins', 'dba'] },
  bob: { given_name: 'Bob', family_name: 'Builder', email: 'bob@example.com', groups: ['on-call'] },
  carol: { name: 'Carol Example', groups: [] },
  // The Entra-like provider: app roles, and the "groups overage" pointer to Microsoft Graph.
  dave: { name: 'Dave Example', roles: ['Opsbook.Admin'] },
  erin: {
    name: 'Erin Example',
    _claim_names: { groups: 'src1' },
    _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/erin/getMemberObjects' } },
  },
};

async function startProvider(entraLike: boolean, port?: number): Promise<{ issuer: string; server: Server }> {
  port ??= await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'opsbook',
        client_secret: SECRET,
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'groups', 'roles'],
      email: ['email'],
    },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      // A user principal name, as Entra sends, distinct from the opaque subject.
      claims: () => ({ sub, preferred_username: `${sub}@contoso.com`, ...USERS[sub] }),
    }),
    pkce: { required: () => true },
    // Entra puts the claims in the ID token and its user info endpoint never has groups.
    conformIdTokenClaims: !entraLike,
    features: { userinfo: { enabled: !entraLike } },
    cookies: { keys: [randomBytes(16).toString('hex')] },
  });
  const server = provider.listen(port);
  return { issuer, server };
}

/** The browser: follows the provider's redirects, signs in on its login page and consents. */
async function authorize(
  url: string,
  login: string,
  action: 'consent' | 'abort' = 'consent',
): Promise<string> {
  const jar = new Map<string, string>();
  const request = async (target: string, init: RequestInit = {}) => {
    const response = await fetch(target, {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, index), pair!.slice(index + 1)];
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  let next = url;
  for (let hop = 0; hop < 20; hop++) {
    if (next.startsWith(CALLBACK)) return new URL(next).search.slice(1);
    const response = await request(next);
    if (response.status >= 300 && response.status < 400) {
      next = new URL(response.headers.get('location')!, next).href;
      continue;
    }
    const page = await response.text();
    expect(response.status, page).toBe(200);
    if (action === 'abort') {
      next = new URL(`${new URL(next).pathname}/abort`, next).href;
      continue;
    }
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    const form: Record<string, string> =
      prompt === 'login' ? { prompt, login, password: 'anything' } : { prompt: 'consent' };
    const submitted = await request(next, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    expect(submitted.status, await submitted.clone().text()).toBeGreaterThanOrEqual(300);
    next = new URL(submitted.headers.get('location')!, next).href;
  }
  throw new Error(`no redirect to ${CALLBACK} after 20 hops`);
}

/** What the route does: start, the browser's round trip, then finish with the callback's query. */
async function signIn(oidc: OidcSignIn, login: string, next = '/') {
  const { url, cookie } = await oidc.start(next);
  const query = await authorize(url, login);
  return { ...(await oidc.finish(query, cookie)), query, cookie };
}

/** The route's sealed cookie, made by hand to test what the provider verifies (PKCE, nonce). */
function forge(key: Uint8Array, issuer: string, flow: object): string {
  const body = Buffer.from(JSON.stringify(flow)).toString('base64url');
  const mac = createHmac('sha256', key).update(`${issuer}\nopsbook\n${body}`).digest('base64url');
  return `${body}.${mac}`;
}

describe('OpenID Connect sign-in', () => {
  let generic: { issuer: string; server: Server };
  let entra: { issuer: string; server: Server };
  let dir: string;
  const config = (issuer: string, extra: object = {}) =>
    oidcSchema.parse({
      issuer,
      clientId: 'opsbook',
      clientSecret: SECRET,
      redirectUrl: CALLBACK,
      allowHttp: true,
      roleMapping: { admin: ['ops-admins', 'Opsbook.Admin'], responder: ['on-call'] },
      ...extra,
    });

  beforeAll(async () => {
    [generic, entra] = await Promise.all([startProvider(false), startProvider(true)]);
    dir = mkdtempSync(join(tmpdir(), 'opsbook-oidc-unit-'));
  });
  afterAll(async () => {
    await Promise.all(
      [generic, entra].map((p) => p && new Promise((done) => p.server.close(done).closeAllConnections())),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a user in with their identity, maps their highest group to a role and keeps the page', async () => {
    const oidc = new OidcSignIn(config(generic.issuer));
    const alice = await signIn(oidc, 'alice', '/incidents/INC-1?tab=timeline#note-3');
    expect(alice.identity).toEqual({
      subject: 'alice',
      issuer: generic.issuer,
      username: 'alice@contoso.com',
      name: 'Alice Example',
      email: 'alice@example.com',
      groups: ['on-call', 'ops-admins', 'dba'],
    });
    expect(alice.role).toBe('admin');
    expect(alice.next).toBe('/incidents/INC-1?tab=timeline#note-3');

    const bob = await signIn(oidc, 'bob');
    expect(bob.role).toBe('responder');
    expect(bob.identity.name).toBe('Bob Builder');
    // In no mapped group: the default role.
    const carol = await signIn(oidc, 'carol');
    expect(carol.role).toBe('viewer');
    expect(carol.identity.email).toBeNull();
  });

  it('refuses a user in no mapped group when defaultRole is none, or outside allowedGroups', async () => {
    const strict = new OidcSignIn(config(generic.issuer, { defaultRole: 'none' }));
    await expect(signIn(strict, 'carol')).rejects.toThrow(
      new NotAllowedError(
        'carol@contoso.com is in no group that gives an Opsbook role; ask an admin to map one of your groups in auth.oidc.roleMapping',
      ),
    );
    expect((await signIn(strict, 'alice')).role).toBe('admin');

    const dbaOnly = new OidcSignIn(config(generic.issuer, { allowedGroups: ['dba'] }));
    await expect(signIn(dbaOnly, 'bob')).rejects.toThrow(/bob@contoso.com is in none of the groups allowed/);
    expect((await signIn(dbaOnly, 'alice')).role).toBe('admin');
  });

  it('reads Entra-style claims from the ID token: app roles, and refuses a groups overage clearly', async () => {
    const oidc = new OidcSignIn(config(entra.issuer));
    const dave = await signIn(oidc, 'dave');
    expect(dave.role).toBe('admin');
    expect(dave.identity.groups).toEqual(['Opsbook.Admin']);
    expect(dave.identity.name).toBe('Dave Example');
    await expect(signIn(oidc, 'erin')).rejects.toThrow(
      /left out erin@contoso.com's groups because there are too many \(groups overage\).*groupsClaims: \[roles\]/,
    );
  });

  it('sends the browser back only to a path on this site', async () => {
    const oidc = new OidcSignIn(config(generic.issuer));
    expect((await signIn(oidc, 'bob', '//evil.example')).next).toBe('/');
    expect((await signIn(oidc, 'bob', 'https://evil.example')).next).toBe('/');
    for (const next of ['/\\evil.example', '/\t/evil.example', 'javascript:alert(1)', '', undefined])
      expect(safeNext(next), String(next)).toBe('/');
    expect(safeNext('/alerts?severity=critical')).toBe('/alerts?severity=critical');
  });

  it('refuses a tampered, swapped or replayed flow', async () => {
    const key = randomBytes(32);
    const oidc = new OidcSignIn(config(generic.issuer), { key });
    const { url, cookie } = await oidc.start('/');
    const query = await authorize(url, 'alice');

    const [body, mac] = cookie.split('.');
    const flow = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${Buffer.from(JSON.stringify({ ...flow, next: '//evil.example' })).toString('base64url')}.${mac}`;
    await expect(oidc.finish(query, tampered)).rejects.toThrow(
      'the sign-in took too long or came from elsewhere; start it again',
    );
    await expect(oidc.finish(query, undefined)).rejects.toThrow(NotAllowedError);
    // Another browser's flow cookie with this callback: the state does not match.
    const other = await oidc.start('/');
    await expect(oidc.finish(query, other.cookie)).rejects.toThrow(
      /failed verification \(unexpected "state" response parameter value\); start it again/,
    );
    // Valid state but a PKCE verifier or nonce of another flow: the provider, then the ID token check, refuse.
    const wrongVerifier = forge(key, generic.issuer, { ...flow, verifier: 'x'.repeat(43) });
    await expect(oidc.finish(query, wrongVerifier)).rejects.toThrow(/sign-in code was refused/);
    const fresh = await oidc.start('/');
    const freshFlow = JSON.parse(Buffer.from(fresh.cookie.split('.')[0]!, 'base64url').toString()) as object;
    const freshQuery = await authorize(fresh.url, 'alice');
    await expect(
      oidc.finish(freshQuery, forge(key, generic.issuer, { ...freshFlow, nonce: 'another-nonce' })),
    ).rejects.toThrow('failed verification (unexpected ID Token "nonce" claim value)');

    const good = await oidc.start('/');
    const goodQuery = await authorize(good.url, 'alice');
    expect((await oidc.finish(goodQuery, good.cookie)).role).toBe('admin');
    await expect(oidc.finish(goodQuery, good.cookie)).rejects.toThrow(
      'this sign-in response was already used; start it again',
    );
    // Even past Opsbook's own memory of used flows (another instance), the provider refuses the code again.
    const twin = new OidcSignIn(config(generic.issuer), { key });
    await expect(twin.finish(goodQuery, good.cookie)).rejects.toThrow(/sign-in code was refused/);
  });

  it('refuses an expired flow', async () => {
    let now = Date.now();
    const oidc = new OidcSignIn(config(generic.issuer), { now: () => now });
    const { url, cookie } = await oidc.start('/');
    const query = await authorize(url, 'alice');
    now += 11 * 60_000;
    await expect(oidc.finish(query, cookie)).rejects.toThrow(/took too long/);
  });

  it('reports a cancelled sign-in, a wrong client secret and an unreachable provider clearly', async () => {
    const oidc = new OidcSignIn(config(generic.issuer));
    const started = await oidc.start('/');
    const aborted = await authorize(started.url, 'alice', 'abort');
    await expect(oidc.finish(aborted, started.cookie)).rejects.toThrow(
      'single sign-on refused the sign-in: End-User aborted interaction',
    );

    const wrong = new OidcSignIn(config(generic.issuer, { clientSecret: 'not-the-secret' }));
    const flow = await wrong.start('/');
    const error = await wrong.finish(await authorize(flow.url, 'alice'), flow.cookie).catch((e: Error) => e);
    expect(error).toBeInstanceOf(IntegrationError);
    expect((error as Error).message).toMatch(/refused Opsbook's client credentials \(invalid_client\)/);

    const port = await freePort();
    const down = new OidcSignIn(config(`http://127.0.0.1:${port}`));
    const unreachable = await down.start('/').catch((e: Error) => e);
    expect(unreachable).toBeInstanceOf(IntegrationError);
    expect((unreachable as Error).message).toBe(
      `cannot read the OpenID configuration of http://127.0.0.1:${port} (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}); ` +
        'check auth.oidc.issuer and that Opsbook can reach the provider',
    );
    // A failed discovery is not kept: once the provider is up, the next sign-in works.
    const late = await startProvider(false, port);
    try {
      expect(new URL((await down.start('/')).url).origin).toBe(late.issuer);
    } finally {
      late.server.close();
    }

    const misspelt = new OidcSignIn(config(`${generic.issuer}/realms/missing`));
    await expect(misspelt.start('/')).rejects.toThrow(
      `cannot read the OpenID configuration of ${generic.issuer}/realms/missing (HTTP 404 from ${generic.issuer}/realms/missing/.well-known/openid-configuration)`,
    );
  });

  it('reads the client secret from clientSecretFile and sends the secret with client_secret_post', async () => {
    writeFileSync(join(dir, 'oidc-secret'), `${SECRET}\n`);
    const fromFile = config(generic.issuer, {
      clientSecret: undefined,
      clientSecretFile: 'oidc-secret',
      clientAuthMethod: 'client_secret_post',
    });
    expect((await signIn(new OidcSignIn(fromFile, { baseDir: dir }), 'alice')).role).toBe('admin');
    const missing = (() => {
      try {
        return new OidcSignIn(fromFile, { baseDir: join(dir, 'nowhere') });
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(InputError);
    expect(missing).toMatchObject({
      field: 'auth.oidc.clientSecretFile',
      message: `cannot read the client secret from ${join(dir, 'nowhere', 'oidc-secret')}: ENOENT`,
    });
  });

  it('passes authParams such as Entra domain_hint to the provider', async () => {
    const oidc = new OidcSignIn(config(generic.issuer, { authParams: { domain_hint: 'contoso.com' } }));
    const url = new URL((await oidc.start('/')).url);
    expect(url.searchParams.get('domain_hint')).toBe('contoso.com');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK);
  });
});

describe('auth.oidc config', () => {
  const base = {
    issuer: 'https://login.microsoftonline.com/0c6e3a1c-0000-4000-8000-000000000001/v2.0',
    clientId: 'app',
    clientSecret: 's',
    redirectUrl: CALLBACK,
  };
  const problems = (input: object) => {
    const result = oidcSchema.safeParse({ ...base, ...input });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('labels Entra ID and applies the defaults', () => {
    const parsed = oidcSchema.parse(base);
    expect(new OidcSignIn(parsed).label).toBe('Microsoft Entra ID');
    expect(parsed).toMatchObject({
      scopes: ['openid', 'profile', 'email'],
      usernameClaims: ['preferred_username', 'email', 'sub'],
      groupsClaims: ['groups', 'roles'],
      defaultRole: 'viewer',
      clientAuthMethod: 'client_secret_basic',
    });
    const other = oidcSchema.parse({ ...base, issuer: 'https://auth.example.com/realms/ops' });
    expect(new OidcSignIn(other).label).toBe('single sign-on');
  });

  it('names each mistake with what to write instead', () => {
    expect(problems({ issuer: 'https://login.microsoftonline.com/common/v2.0' })).toEqual([
      "issuer: use your tenant's issuer https://login.microsoftonline.com/<tenant-id>/v2.0 (Entra admin center → Overview → Tenant ID)",
    ]);
    expect(problems({ issuer: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/' })).toEqual([
      "issuer: Entra's issuer ends in /v2.0: https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
    ]);
    expect(problems({ issuer: 'http://keycloak.internal/realms/ops' })).toEqual([
      'issuer: use the provider’s https:// issuer (allowHttp: true is only for a local test provider)',
    ]);
    expect(problems({ redirectUrl: 'http://ops.example.com/api/v1/auth/oidc/callback' })).toEqual([
      'redirectUrl: use https:// (providers refuse plain http except for localhost)',
    ]);
    expect(problems({ redirectUrl: 'http://localhost:8080/api/v1/auth/oidc/callback' })).toEqual([]);
    expect(problems({ clientSecretFile: '/run/secrets/oidc' })).toEqual([
      'clientSecretFile: set clientSecret or clientSecretFile, not both',
    ]);
    expect(problems({ scopes: ['profile'] })).toEqual([
      'scopes: must include openid (without it the provider sends no ID token)',
    ]);
    expect(problems({ authParams: { state: 'x' } })).toEqual([
      'authParams: state is set by Opsbook itself; remove it from authParams',
    ]);
    expect(problems({ defaultRole: 'none' })).toEqual([
      'defaultRole: none with an empty roleMapping refuses everyone; map at least one group to a role',
    ]);
  });

  it('refuses a client secret written into the YAML', () => {
    const yaml = (secret: string) =>
      `auth:\n  oidc:\n    issuer: ${base.issuer}\n    clientId: app\n    clientSecret: ${secret}\n    redirectUrl: ${CALLBACK}\n`;
    const literal = loadConfigText(yaml('hunter2'), 'opsbook.yaml', {});
    expect(literal.ok).toBe(false);
    expect(literal.ok ? [] : literal.diagnostics).toContainEqual(
      expect.objectContaining({ path: 'auth.oidc.clientSecret', line: 5 }),
    );
    const fromEnv = loadConfigText(yaml('${OIDC_SECRET}'), 'opsbook.yaml', { OIDC_SECRET: 'from-env' });
    expect(fromEnv.ok && fromEnv.config.auth.oidc?.clientSecret).toBe('from-env');
  });
});
