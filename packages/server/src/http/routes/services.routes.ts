import { createRoute } from '@hono/zod-openapi';
import { ErrorBody, ServiceList } from '@opsbook/contracts';
import { newRouter, type AppDeps } from '../app.js';

export function serviceRoutes(deps: AppDeps) {
  const router = newRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/services',
      tags: ['services'],
      summary: 'Services with their owner, environment and health',
      responses: {
        200: { description: 'All services', content: { 'application/json': { schema: ServiceList } } },
        503: { description: 'Store not ready', content: { 'application/json': { schema: ErrorBody } } },
      },
    }),
    async (c) => c.json({ items: await deps.queries().services() }, 200),
  );
  return router;
}
