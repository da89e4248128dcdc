import { z } from 'zod';

/** viewer reads; responder acts on incidents, alerts and runbooks; admin also manages users, tokens and restores. */
export const Role = z.enum(['viewer', 'responder', 'admin']);
export type Role = z.infer<typeof Role>;

export const UserView = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string(),
  role: Role,
  groups: z.array(z.string()).describe('teams a runbook approval step can name (e.g. dba)'),
  disabled: z.boolean(),
  source: z.enum(['password', 'oidc']),
  lockedUntil: z.number().nullable().describe('epoch ms while locked out after failed sign-ins'),
  lastSignInAt: z.number().nullable(),
  createdAt: z.number(),
});
export type UserView = z.infer<typeof UserView>;
export const UserList = z.object({ items: z.array(UserView) });

const username = z
  .string()
  .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'use 1-64 letters, digits, dots, dashes, underscores or @');
const password = z.string().min(12, 'use at least 12 characters').max(1024);

export const CreateUserRequest = z.object({
  username,
  name: z.string().max(200).optional(),
  role: Role,
  password,
  groups: z.array(z.string().min(1).max(64)).default([]),
});
export const UpdateUserRequest = z.object({
  name: z.string().max(200).optional(),
  role: Role.optional(),
  groups: z.array(z.string().min(1).max(64)).optional(),
  disabled: z.boolean().optional(),
  password: password.optional().describe('set a new password (admin reset)'),
  unlock: z.boolean().optional().describe('clear a lockout'),
});

export const SignInRequest = z.object({ username: z.string().min(1), password: z.string().min(1) });
export const ChangePasswordRequest = z.object({ current: z.string().min(1), password });

/** Who the caller is; the console keeps csrfToken and sends it as x-csrf-token on every mutation. */
export const SessionView = z.object({
  user: z.object({
    id: z.string().nullable().describe('null for a service token'),
    username: z.string(),
    name: z.string(),
    role: Role,
    groups: z.array(z.string()),
  }),
  via: z.enum(['session', 'token']),
  csrfToken: z.string().nullable().describe('null when signed in with a token'),
  expiresAt: z.number().nullable(),
});
export type SessionView = z.infer<typeof SessionView>;

/** Public: what the sign-in page offers. */
export const AuthProviders = z.object({
  password: z.boolean(),
  oidc: z.object({ enabled: z.boolean(), label: z.string() }),
});

export const TokenKind = z.enum(['api', 'intake']);
export const TokenView = z.object({
  id: z.string(),
  name: z.string(),
  kind: TokenKind.describe(
    'api: the REST API and CLI with its role; intake: only the alert and metric intake',
  ),
  role: Role,
  prefix: z.string().describe('first characters of the secret, to recognise it'),
  owner: z.string().nullable().describe('username the token acts as; null for an integration token'),
  source: z.enum(['store', 'config']),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
});
export type TokenView = z.infer<typeof TokenView>;
export const TokenList = z.object({ items: z.array(TokenView) });
export const CreateTokenRequest = z.object({
  name: z.string().min(1).max(100),
  kind: TokenKind.default('api'),
  role: Role.optional().describe("defaults to the caller's role; never above it"),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
  personal: z
    .boolean()
    .default(true)
    .describe('acts as the caller (their name on every action); false: an integration token (admin)'),
});
export const CreatedToken = z.object({ token: TokenView, secret: z.string().describe('shown once') });

export const AuditEntry = z.object({
  id: z.number(),
  at: z.number(),
  actor: z.string().describe('username, token:<name>, or anonymous'),
  action: z.string().describe('e.g. auth.sign-in, POST /api/v1/incidents/:id/ack'),
  target: z.string().nullable(),
  outcome: z.enum(['success', 'failure', 'denied']),
  status: z.number().nullable().describe('HTTP status of the request'),
  ip: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
export const AuditList = z.object({
  items: z.array(AuditEntry),
  nextCursor: z.string().nullable(),
  failedSignIns24h: z.number().describe('failed sign-ins in the last 24 hours'),
  lockedUsers: z.number(),
});
export type CreatedToken = z.infer<typeof CreatedToken>;
