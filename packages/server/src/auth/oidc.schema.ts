import { z } from 'zod';

const groups = z.array(z.string().min(1)).default([]);

/** Microsoft Entra ID's sign-in hosts (global and national clouds). */
export const ENTRA_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.partner.microsoftonline.cn',
]);

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

// The flow's own parameters: letting config set them would undo PKCE, state or nonce.
const RESERVED_PARAMS = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
]);

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `must be the ${what} as an http(s) URL` });

/** Single sign-on with OpenID Connect (authorization code flow with PKCE). */
export const oidcSchema = z
  .strictObject({
    /** e.g. https://login.microsoftonline.com/<tenant-id>/v2.0 for Microsoft Entra ID. */
    issuer: httpUrl('provider’s issuer'),
    clientId: z.string().min(1),
    /** A ${ENV} or ${file:PATH} reference (load.ts refuses a literal); leave out for a public client (PKCE only). */
    clientSecret: z.string().min(1).optional(),
    /** A file holding the client secret (e.g. a mounted Kubernetes secret), relative to the config file. */
    clientSecretFile: z.string().min(1).optional(),
    /** How the secret reaches the token endpoint; client_secret_basic is the OpenID Connect default. */
    clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /** Opsbook's public callback: https://<opsbook>/api/v1/auth/oidc/callback, registered at the provider. */
    redirectUrl: httpUrl('public URL of /api/v1/auth/oidc/callback'),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
    /** Extra authorization request parameters, e.g. Entra's `domain_hint` or `prompt: select_account`. */
    authParams: z.record(z.string(), z.string()).default({}),
    /** The sign-in button: "Sign in with <label>". */
    label: z.string().min(1).optional(),
    /** The first of these claims present names the user. */
    usernameClaims: z.array(z.string().min(1)).min(1).default(['preferred_username', 'email', 'sub']),
    /** Claims holding groups; Entra puts group object ids in `groups` and app roles in `roles`. */
    groupsClaims: z.array(z.string().min(1)).default(['groups', 'roles']),
    /** Groups (or app roles) per Opsbook role; a user gets the highest role any of their groups maps to. */
    roleMapping: z.strictObject({ admin: groups, responder: groups, viewer: groups }).prefault({}),
    /** The role of a user in no mapped group; `none` refuses them. */
    defaultRole: z.enum(['viewer', 'responder', 'admin', 'none']).default('viewer'),
    /** When set, only members of at least one of these groups may sign in at all. */
    allowedGroups: z.array(z.string().min(1)).min(1).optional(),
    /** Only for a provider on plain http (a local test provider); never in production. */
    allowHttp: z.boolean().default(false),
  })
  .superRefine((config, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (config.clientSecret !== undefined && config.clientSecretFile !== undefined)
      issue('clientSecretFile', 'set clientSecret or clientSecretFile, not both');
    if (!config.scopes.includes('openid'))
      issue('scopes', 'must include openid (without it the provider sends no ID token)');
    for (const name of Object.keys(config.authParams))
      if (RESERVED_PARAMS.has(name))
        issue('authParams', `${name} is set by Opsbook itself; remove it from authParams`);

    const issuer = URL.canParse(config.issuer) ? new URL(config.issuer) : undefined;
    if (issuer?.protocol === 'http:' && !config.allowHttp)
      issue(
        'issuer',
        'use the provider’s https:// issuer (allowHttp: true is only for a local test provider)',
      );
    if (issuer && ENTRA_HOSTS.has(issuer.hostname)) {
      const [tenant, version] = issuer.pathname.split('/').filter(Boolean);
      // Multi-tenant endpoints publish a templated issuer ({tenantid}) that no ID token matches.
      if (!tenant || ['common', 'organizations', 'consumers'].includes(tenant.toLowerCase()))
        issue(
          'issuer',
          `use your tenant's issuer https://${issuer.hostname}/<tenant-id>/v2.0 (Entra admin center → Overview → Tenant ID)`,
        );
      else if (version !== 'v2.0')
        issue('issuer', `Entra's issuer ends in /v2.0: https://${issuer.hostname}/${tenant}/v2.0`);
    }

    const redirect = URL.canParse(config.redirectUrl) ? new URL(config.redirectUrl) : undefined;
    if (redirect?.protocol === 'http:' && !config.allowHttp && !LOOPBACK.has(redirect.hostname))
      issue('redirectUrl', 'use https:// (providers refuse plain http except for localhost)');
    if (redirect && (redirect.search || redirect.hash))
      issue('redirectUrl', 'must have no query or fragment: the provider appends its own');

    const mapped = Object.values(config.roleMapping).some((list) => list.length > 0);
    if (config.defaultRole === 'none' && !mapped)
      issue(
        'defaultRole',
        'none with an empty roleMapping refuses everyone; map at least one group to a role',
      );
  });

export type OidcConfig = z.output<typeof oidcSchema>;
