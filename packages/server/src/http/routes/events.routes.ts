import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { ErrorBody, EventList } from '@opsbook/contracts';
import { newRouter, type AppDeps } from '../app.js';
import { limitParam, timeParam } from './query-params.js';

export function eventRoutes(deps: AppDeps) {
  const router = newRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/events',
      tags: ['events'],
      summary: 'Events, newest first: check transitions, config reloads, lifecycle',
      request: {
        query: z.object({
          kind: z.string().optional().describe('exact kind, or a prefix ending in * (check.*)'),
          service: z.string().optional(),
          check: z.string().optional().describe('service/check'),
          from: timeParam,
          to: timeParam,
          cursor: z.string().regex(/^\d+$/, 'use the nextCursor of the previous page').optional(),
          limit: limitParam(100, 1000),
        }),
      },
      responses: {
        200: { description: 'Events', content: { 'application/json': { schema: EventList } } },
        400: { description: 'Bad parameter', content: { 'application/json': { schema: ErrorBody } } },
        503: { description: 'Store not ready', content: { 'application/json': { schema: ErrorBody } } },
      },
    }),
    async (c) => {
      const { cursor, ...query } = c.req.valid('query');
      return c.json(
        await deps.queries().eventList({ ...query, before: cursor ? Number(cursor) : undefined }),
        200,
      );
    },
  );
  return router;
}
