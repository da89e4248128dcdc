// Users (admin), API tokens (one's own; integration tokens by admins) and the audit log (responder+).
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  AuditList,
  CreatedToken,
  CreateTokenRequest,
  CreateUserRequest,
  TokenList,
  UpdateUserRequest,
  UserList,
  UserView,
} from '@opsbook/contracts';
import type { UserService } from '../../auth/user.service.js';
import { InputError } from '../../errors.js';
import { newRouter } from '../app.js';
import { principalOf } from '../auth-context.js';
import type { AuthDeps } from '../auth.middleware.js';
import { timeParam } from './query-params.js';
import { json, standardErrors } from './responses.js';

export interface AccessRoutesDeps extends AuthDeps {
  users(): UserService;
}

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const id = z.object({ id: z.string() });
const errors = standardErrors;

export function accessRoutes(deps: AccessRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/users',
      tags: ['access'],
      summary: 'Every user with role, groups and lockout state (admin)',
      responses: { 200: json(UserList, 'Users'), ...errors },
    }),
    async (c) => c.json({ items: await deps.users().list() }, 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/users',
      tags: ['access'],
      summary: 'Create a user with a password (admin)',
      request: body(CreateUserRequest),
      responses: { 201: json(UserView, 'Created'), 409: json(UserView, 'Username taken'), ...errors },
    }),
    async (c) => c.json(await deps.users().create(c.req.valid('json')), 201),
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/users/{id}',
      tags: ['access'],
      summary: "Change a user's role, groups or name; disable, unlock or reset the password (admin)",
      request: { params: id, ...body(UpdateUserRequest) },
      responses: { 200: json(UserView, 'Changed'), ...errors },
    }),
    async (c) => c.json(await deps.users().update(c.req.valid('param').id, c.req.valid('json')), 200),
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/users/{id}',
      tags: ['access'],
      summary: 'Delete a user, their sessions and personal tokens (admin; never the last admin)',
      request: { params: id },
      responses: { 204: { description: 'Deleted' }, ...errors },
    }),
    async (c) => {
      await deps.users().remove(c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/tokens',
      tags: ['access'],
      summary: 'API tokens: your own; an admin sees all, including those from the config',
      responses: { 200: json(TokenList, 'Tokens (never their secrets)'), ...errors },
    }),
    async (c) => c.json({ items: await deps.auth().tokens.list(principalOf(c)!) }, 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/tokens',
      tags: ['access'],
      summary: 'Create an API token; the secret is in this answer only',
      description:
        'personal (default): acts as you, with at most your role. personal=false: an integration token acting as itself, or kind=intake for Prometheus/Alertmanager (admin).',
      request: body(CreateTokenRequest),
      responses: { 201: json(CreatedToken, 'Created'), ...errors },
    }),
    async (c) => c.json(await deps.auth().tokens.create(principalOf(c)!, c.req.valid('json')), 201),
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/tokens/{id}',
      tags: ['access'],
      summary: 'Revoke a token (your own; an admin any)',
      request: { params: id },
      responses: { 204: { description: 'Revoked' }, ...errors },
    }),
    async (c) => {
      await deps.auth().tokens.revoke(principalOf(c)!, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/audit',
      tags: ['access'],
      summary: 'The audit log, newest first: sign-ins and every mutation (responder+; kept 1 year)',
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          cursor: z.string().optional().describe('nextCursor of the previous page'),
          actor: z.string().optional(),
          action: z.string().optional().describe('e.g. auth.sign-in'),
          outcome: z.enum(['success', 'failure', 'denied']).optional(),
          from: timeParam,
          to: timeParam,
        }),
      },
      responses: { 200: json(AuditList, 'Entries'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const beforeId = q.cursor === undefined ? undefined : Number(q.cursor);
      if (beforeId !== undefined && !Number.isInteger(beforeId))
        throw new InputError(`cursor "${q.cursor}" is not one this API gave out`, 'cursor');
      return c.json(
        await deps.audit().list({
          limit: q.limit,
          beforeId,
          actor: q.actor,
          action: q.action,
          outcome: q.outcome,
          from: q.from,
          to: q.to,
        }),
        200,
      );
    },
  );

  return router;
}
