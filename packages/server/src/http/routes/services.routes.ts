import { createRoute, z } from '@hono/zod-openapi';
import { CheckHealth, ErrorBody, ServiceList } from '@opsbook/contracts';
import { newRouter, type AppDeps } from '../app.js';

export function serviceRoutes(deps: AppDeps) {
  const router = newRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/services',
      tags: ['services'],
      summary: 'Services with their owner, environment and health',
      request: {
        query: z.object({
          q: z.string().optional().describe('part of the name, owner, environment or a tag; any case'),
          status: CheckHealth.optional(),
        }),
      },
      responses: {
        200: { description: 'Services, by name', content: { 'application/json': { schema: ServiceList } } },
        503: { description: 'Store not ready', content: { 'application/json': { schema: ErrorBody } } },
      },
    }),
    async (c) => {
      const { q, status } = c.req.valid('query');
      const needle = q?.trim().toLowerCase();
      const items = (await deps.queries().services()).filter(
        (s) =>
          (!status || s.status === status) &&
          (!needle ||
            [s.name, s.owner, s.environment, ...s.tags].some((v) => v.toLowerCase().includes(needle))),
      );
      return c.json({ items }, 200);
    },
  );
  return router;
}
