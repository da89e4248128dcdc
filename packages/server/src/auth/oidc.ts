// Single sign-on: the authorization code flow with PKCE, state and nonce (openid-client). The browser
// carries the flow's secrets in a short-lived sealed cookie, so no server state is needed between the
// two redirects.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as client from 'openid-client';
import type { Role } from '@opsbook/contracts';
import { InputError, IntegrationError, NotAllowedError } from '../errors.js';
import type { ExternalIdentity } from './auth.service.js';
import { ENTRA_HOSTS, type OidcConfig } from './oidc.schema.js';
import { ROLE_RANK } from './principal.js';

/** How long a started sign-in may take; the route gives the flow cookie the same Max-Age. */
export const OIDC_FLOW_TTL_MS = 10 * 60_000;
const RESTART = 'start it again';
const MAX_REMEMBERED = 10_000;

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  next: string;
  expires: number;
}

export interface OidcSignInOptions {
  /** Seals the flow cookie (at least 32 bytes); random per instance when left out. */
  key?: Uint8Array;
  /** The config file's folder: a relative clientSecretFile is read from there. */
  baseDir?: string;
  /** Seconds before a request to the provider is given up. */
  timeoutSeconds?: number;
  now?: () => number;
}

export interface OidcResult {
  identity: ExternalIdentity;
  role: Role;
  /** Where to send the browser: a path on this site. */
  next: string;
}

/**
 * A path on this site only: never `//host`, `/\host` or a URL with a scheme (an open redirect).
 * Browsers drop tabs and newlines from URLs, so `/\t/host` would become `//host`: control
 * characters are refused too.
 */
export function safeNext(next: string | undefined): string {
  if (!next || next.length > 2048 || !next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next))
    return '/';
  if (next.startsWith('//')) return '/';
  const base = 'http://opsbook.invalid';
  const url = new URL(next, base);
  return url.origin === base ? `${url.pathname}${url.search}${url.hash}` : '/';
}

export class OidcSignIn {
  private discovered: Promise<client.Configuration> | undefined;
  private readonly key: Uint8Array;
  private readonly secret: string | undefined;
  private readonly now: () => number;
  /** Flows already finished (state → expiry): a replayed callback is refused here, not only by the provider. */
  private readonly used = new Map<string, number>();

  constructor(
    readonly config: OidcConfig,
    private readonly options: OidcSignInOptions = {},
  ) {
    this.key = options.key ?? randomBytes(32);
    if (this.key.length < 32) throw new Error('the OIDC flow key needs at least 32 bytes');
    this.now = options.now ?? Date.now;
    this.secret = config.clientSecret ?? this.readSecretFile();
  }

  get label(): string {
    return this.config.label ?? (this.isEntra ? 'Microsoft Entra ID' : 'single sign-on');
  }

  private get isEntra(): boolean {
    return ENTRA_HOSTS.has(new URL(this.config.issuer).hostname);
  }

  /** The provider's authorization URL, and the sealed flow for the route's httpOnly cookie. */
  async start(next: string | undefined): Promise<{ url: string; cookie: string }> {
    const config = await this.provider();
    const flow: Flow = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      next: safeNext(next),
      expires: this.now() + OIDC_FLOW_TTL_MS,
    };
    const url = client.buildAuthorizationUrl(config, {
      ...this.config.authParams,
      response_type: 'code',
      redirect_uri: this.config.redirectUrl,
      scope: this.config.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url: url.href, cookie: this.seal(flow) };
  }

  /**
   * Verifies the provider's answer (the callback's query string) against the flow cookie: state,
   * PKCE, the ID token's signature, issuer, audience and nonce. Then maps the user's groups to a role.
   * Throws NotAllowedError when the user may not sign in, IntegrationError when the provider fails.
   */
  async finish(query: string, cookie: string | undefined): Promise<OidcResult> {
    const flow = cookie ? this.unseal(cookie) : undefined;
    if (!flow) throw new NotAllowedError(`the sign-in took too long or came from elsewhere; ${RESTART}`);
    this.forgetExpired();
    if (this.used.has(flow.state))
      throw new NotAllowedError(`this sign-in response was already used; ${RESTART}`);
    this.used.set(flow.state, flow.expires);

    const params = new URLSearchParams(query);
    const providerError = params.get('error');
    if (providerError)
      throw new NotAllowedError(
        `${this.label} refused the sign-in: ${params.get('error_description') ?? providerError}`,
      );
    const config = await this.provider();
    // The callback as registered at the provider, whatever host or proxy the request came through.
    const callback = new URL(this.config.redirectUrl);
    callback.search = params.toString();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw this.explain(error);
    }
    const idClaims = tokens.claims()!;
    const claims = await this.withUserInfo(config, idClaims, tokens.access_token);

    const username =
      this.config.usernameClaims
        .map((name) => claims[name])
        .find((v): v is string => typeof v === 'string' && v.length > 0) ?? idClaims.sub;
    const groups = this.groupsOf(claims, username);
    if (this.config.allowedGroups && !this.config.allowedGroups.some((g) => groups.includes(g)))
      throw new NotAllowedError(
        `${username} is in none of the groups allowed to use Opsbook (auth.oidc.allowedGroups); ask an admin for access`,
      );
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
        name: nameOf(claims) ?? username,
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

  /** Groups decide the role only when something is mapped or restricted. */
  private get groupsMatter(): boolean {
    const mapped = Object.values(this.config.roleMapping).some((list) => list.length > 0);
    return mapped || this.config.allowedGroups !== undefined;
  }

  /**
   * Providers may keep profile and group claims out of the ID token (oidc-provider and Keycloak do by
   * default); the user info endpoint has them. It is only required when the ID token lacks the
   * username or the groups; never for Entra's groups: its user info (Microsoft Graph) has none, and
   * fails when the access token was asked for another API.
   */
  private async withUserInfo(
    config: client.Configuration,
    idClaims: client.IDToken,
    accessToken: string | undefined,
  ): Promise<Record<string, unknown>> {
    const has = (name: string) => idClaims[name] !== undefined;
    // The first username claim, not any: the same person must get the same username every time.
    const [usernameClaim] = this.config.usernameClaims;
    const needed =
      (usernameClaim !== 'sub' && !has(usernameClaim!)) ||
      (this.groupsMatter &&
        !this.isEntra &&
        !this.config.groupsClaims.some(has) &&
        !overage(idClaims, this.config.groupsClaims));
    const wanted = needed || !has('name') || !has('email');
    if (!wanted || !accessToken || !config.serverMetadata().userinfo_endpoint) return { ...idClaims };
    try {
      const info = await client.fetchUserInfo(config, accessToken, idClaims.sub);
      return { ...info, ...idClaims };
    } catch (error) {
      if (!needed) return { ...idClaims };
      throw new IntegrationError(
        `cannot read the user info from ${this.config.issuer} (${reason(error)}); the ID token lacks the username or groups`,
        { cause: error },
      );
    }
  }

  private groupsOf(claims: Record<string, unknown>, username: string): string[] {
    // Guessing the role from a partial list could refuse or demote someone; say what to change instead.
    if (this.groupsMatter && overage(claims, this.config.groupsClaims))
      throw new NotAllowedError(
        `${this.label} left out ${username}'s groups because there are too many (groups overage); ` +
          'emit only the groups assigned to the application, or map app roles with groupsClaims: [roles]',
      );
    const values = this.config.groupsClaims.flatMap((name) => {
      const value = claims[name];
      if (Array.isArray(value)) return value.filter((v) => typeof v === 'string' || typeof v === 'number');
      return typeof value === 'string' && value ? [value] : [];
    });
    return [...new Set(values.map(String))];
  }

  private provider(): Promise<client.Configuration> {
    const auth =
      this.secret === undefined
        ? client.None()
        : this.config.clientAuthMethod === 'client_secret_post'
          ? client.ClientSecretPost(this.secret)
          : client.ClientSecretBasic(this.secret);
    this.discovered ??= client
      .discovery(new URL(this.config.issuer), this.config.clientId, undefined, auth, {
        timeout: this.options.timeoutSeconds ?? 10,
        execute: this.config.allowHttp ? [client.allowInsecureRequests] : [],
      })
      .catch((error: unknown) => {
        // Not cached: the next sign-in tries again once the provider is back.
        this.discovered = undefined;
        throw new IntegrationError(
          `cannot read the OpenID configuration of ${this.config.issuer} (${reason(error)}); ` +
            'check auth.oidc.issuer and that Opsbook can reach the provider',
          { cause: error },
        );
      });
    return this.discovered;
  }

  /** The token exchange's failures, in words an admin can act on. */
  private explain(error: unknown): Error {
    if (error instanceof client.AuthorizationResponseError)
      return new NotAllowedError(
        `${this.label} refused the sign-in: ${error.error_description ?? error.error}`,
      );
    // A client_secret_basic failure arrives as a 401 challenge rather than an error body.
    const code =
      error instanceof client.ResponseBodyError
        ? error.error
        : error instanceof client.WWWAuthenticateChallengeError
          ? (error.cause[0]?.parameters.error ?? (error.status === 401 ? 'invalid_client' : undefined))
          : undefined;
    if (code === 'invalid_client')
      return new IntegrationError(
        `${this.label} refused Opsbook's client credentials (invalid_client); check auth.oidc.clientId, the client secret and clientAuthMethod`,
        { cause: error },
      );
    if (error instanceof client.ResponseBodyError) {
      if (error.error === 'invalid_grant')
        return new NotAllowedError(
          `the sign-in code was refused (already used, expired or not from this sign-in); ${RESTART}`,
        );
      return new IntegrationError(`${this.label} answered ${error.error}: ${error.error_description ?? ''}`, {
        cause: error,
      });
    }
    if (error instanceof client.ClientError) {
      // openid-client's message is generic ("unexpected JWT claim value"); its cause names the check.
      const detail = error.cause instanceof Error ? error.cause.message : error.message;
      return new NotAllowedError(`the provider's answer failed verification (${detail}); ${RESTART}`);
    }
    return new IntegrationError(`cannot complete the sign-in with ${this.config.issuer} (${reason(error)})`, {
      cause: error,
    });
  }

  private readSecretFile(): string | undefined {
    const file = this.config.clientSecretFile;
    if (file === undefined) return undefined;
    const path = resolve(this.options.baseDir ?? '.', file);
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new InputError(
        `cannot read the client secret from ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        'auth.oidc.clientSecretFile',
      );
    }
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [state, expires] of this.used) if (expires <= now) this.used.delete(state);
    // Bounded against a flood of started flows; the provider still refuses a reused code.
    for (const state of this.used.keys()) {
      if (this.used.size < MAX_REMEMBERED) break;
      this.used.delete(state);
    }
  }

  private seal(flow: Flow): string {
    const body = Buffer.from(JSON.stringify(flow)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  private unseal(cookie: string): Flow | undefined {
    const [body, mac, extra] = cookie.split('.');
    if (!body || !mac || extra !== undefined) return undefined;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const flow = JSON.parse(Buffer.from(body, 'base64url').toString()) as Flow;
    return flow.expires > this.now() ? flow : undefined;
  }

  private mac(body: string): string {
    // Bound to the provider and client: a flow started for another configuration never verifies.
    return createHmac('sha256', this.key)
      .update(`${this.config.issuer}\n${this.config.clientId}\n${body}`)
      .digest('base64url');
  }
}

/** Entra's overage marker: the groups claim points to Microsoft Graph instead of listing them. */
function overage(claims: Record<string, unknown>, names: string[]): boolean {
  const pointers = claims._claim_names;
  return (
    claims.hasgroups === true ||
    (typeof pointers === 'object' && pointers !== null && names.some((name) => name in pointers))
  );
}

function nameOf(claims: Record<string, unknown>): string | undefined {
  if (typeof claims.name === 'string' && claims.name) return claims.name;
  const parts = [claims.given_name, claims.family_name].filter((p) => typeof p === 'string' && p);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** A network error's code (ECONNREFUSED, ENOTFOUND...) says more than fetch's "fetch failed". */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  // openid-client's own message is generic; the oauth4webapi error it wraps names the check.
  if (error instanceof client.ClientError && cause instanceof Error) return cause.message;
  if (error instanceof client.ClientError && cause instanceof Response)
    return `HTTP ${cause.status} from ${cause.url || 'the provider'}`;
  return (error as Error).message;
}
