// Single sign-on: the authorization code flow with PKCE, state and nonce (openid-client). The browser
// carries the flow's secrets in a short-lived sealed cookie, so no server state is needed between the
// two redirects.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { Role } from '@opsbook/contracts';
import { IntegrationError, NotAllowedError } from '../errors.js';
import type { ExternalIdentity } from './auth.service.js';
import type { OidcConfig } from './oidc.schema.js';
import { ROLE_RANK } from './principal.js';

const FLOW_TTL_MS = 10 * 60_000;

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  next: string;
  expires: number;
}

/** A path on this site only: never `//host` or a URL with a scheme (an open redirect). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

export class OidcSignIn {
  private discovered: Promise<client.Configuration> | undefined;
  /** Seals the flow cookie; a restart mid-sign-in only means signing in again. */
  private readonly key = randomBytes(32);

  constructor(readonly config: OidcConfig) {}

  get label(): string {
    if (this.config.label) return this.config.label;
    return new URL(this.config.issuer).hostname === 'login.microsoftonline.com'
      ? 'Microsoft Entra ID'
      : 'single sign-on';
  }

  async start(next: string | undefined): Promise<{ url: string; cookie: string }> {
    const config = await this.provider();
    const flow: Flow = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      next: safeNext(next),
      expires: Date.now() + FLOW_TTL_MS,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.config.redirectUrl,
      scope: this.config.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url: url.href, cookie: this.seal(flow) };
  }

  /** Verifies the provider's answer against the flow cookie and maps the user's groups to a role. */
  async finish(
    query: string,
    cookie: string | undefined,
  ): Promise<{ identity: ExternalIdentity; role: Role; next: string }> {
    const flow = cookie ? this.unseal(cookie) : undefined;
    if (!flow) throw new NotAllowedError('the sign-in took too long or came from elsewhere; start it again');
    const params = new URLSearchParams(query);
    const providerError = params.get('error');
    if (providerError)
      throw new NotAllowedError(
        `the identity provider refused: ${params.get('error_description') ?? providerError}`,
      );
    const config = await this.provider();
    // The callback as registered at the provider, whatever host or proxy the request came through.
    const callback = new URL(this.config.redirectUrl);
    callback.search = query;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw new NotAllowedError(`single sign-on failed: ${(error as Error).message}; start it again`);
    }
    const idClaims = tokens.claims()!;
    // Providers may keep profile and group claims out of the ID token (oidc-provider does by default).
    const info = tokens.access_token
      ? await client.fetchUserInfo(config, tokens.access_token, idClaims.sub).catch(() => ({}))
      : {};
    const claims: Record<string, unknown> = { ...info, ...idClaims };
    const groups = [
      ...new Set(
        this.config.groupsClaims.flatMap((name) => (Array.isArray(claims[name]) ? claims[name] : [])),
      ),
    ].map(String);
    const username =
      this.config.usernameClaims
        .map((name) => claims[name])
        .find((v): v is string => typeof v === 'string' && v.length > 0) ?? idClaims.sub;
    const role = this.roleFor(groups);
    if (role === undefined)
      throw new NotAllowedError(
        `${username} is in no group that gives an Opsbook role; ask an admin to map one of your groups in auth.oidc.roleMapping`,
      );
    return {
      identity: {
        subject: idClaims.sub,
        issuer: idClaims.iss,
        username,
        name: typeof claims.name === 'string' ? claims.name : username,
        email: typeof claims.email === 'string' ? claims.email : null,
        groups,
      },
      role,
      next: flow.next,
    };
  }

  /** The highest role any group maps to, else the default (undefined: refused). */
  roleFor(groups: string[]): Role | undefined {
    let best: Role | undefined;
    for (const role of ['viewer', 'responder', 'admin'] as const)
      if (this.config.roleMapping[role].some((g) => groups.includes(g)))
        if (!best || ROLE_RANK[role] > ROLE_RANK[best]) best = role;
    if (best) return best;
    return this.config.defaultRole === 'none' ? undefined : this.config.defaultRole;
  }

  private provider(): Promise<client.Configuration> {
    this.discovered ??= client
      .discovery(
        new URL(this.config.issuer),
        this.config.clientId,
        this.config.clientSecret,
        undefined,
        this.config.allowHttp ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        this.discovered = undefined;
        throw new IntegrationError(
          `cannot read the OpenID configuration of ${this.config.issuer}: ${(error as Error).message}`,
          { cause: error },
        );
      });
    return this.discovered;
  }

  private seal(flow: Flow): string {
    const body = Buffer.from(JSON.stringify(flow)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  private unseal(cookie: string): Flow | undefined {
    const [body, mac] = cookie.split('.');
    if (!body || !mac) return undefined;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const flow = JSON.parse(Buffer.from(body, 'base64url').toString()) as Flow;
    return flow.expires > Date.now() ? flow : undefined;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
