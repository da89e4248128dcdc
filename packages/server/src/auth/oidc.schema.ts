import { z } from 'zod';

const groups = z.array(z.string().min(1)).default([]);

/** Single sign-on with OpenID Connect (authorization code flow with PKCE). */
export const oidcSchema = z.strictObject({
  /** e.g. https://login.microsoftonline.com/<tenant-id>/v2.0 for Microsoft Entra ID. */
  issuer: z.url({ protocol: /^https?$/, error: 'must be the provider’s http(s) issuer URL' }),
  clientId: z.string().min(1),
  /** A ${ENV} or ${file:PATH} reference; leave out for a public client (PKCE only). */
  clientSecret: z.string().min(1).optional(),
  /** Opsbook's public callback: https://<opsbook>/api/v1/auth/oidc/callback, registered at the provider. */
  redirectUrl: z.url({
    protocol: /^https?$/,
    error: 'must be an http(s) URL ending in /api/v1/auth/oidc/callback',
  }),
  scopes: z.array(z.string()).default(['openid', 'profile', 'email']),
  /** The sign-in button: "Sign in with <label>". */
  label: z.string().min(1).optional(),
  /** The first of these claims present names the user. */
  usernameClaims: z.array(z.string()).default(['preferred_username', 'email', 'sub']),
  /** Claims holding groups; Entra puts group object ids in `groups` and app roles in `roles`. */
  groupsClaims: z.array(z.string()).default(['groups', 'roles']),
  /** Groups (or app roles) per Opsbook role; a user gets the highest role any of their groups maps to. */
  roleMapping: z.strictObject({ admin: groups, responder: groups, viewer: groups }).prefault({}),
  /** The role of a user in no mapped group; `none` refuses them. */
  defaultRole: z.enum(['viewer', 'responder', 'admin', 'none']).default('viewer'),
  /** Only for a provider on plain http (a local test provider); never in production. */
  allowHttp: z.boolean().default(false),
});

export type OidcConfig = z.output<typeof oidcSchema>;
