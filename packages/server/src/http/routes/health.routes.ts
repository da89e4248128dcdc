import { createRoute } from '@hono/zod-openapi';
import { HealthResponse } from '@opsbook/contracts';
import type { Context } from 'hono';
import { newRouter, type AppDeps } from '../app.js';

const groups = ['liveness', 'readiness', 'startup'] as const;

export function healthRoutes(deps: AppDeps) {
  const router = newRouter();
  const answer = (c: Context, health: HealthResponse) => c.json(health, health.status === 'UP' ? 200 : 503);

  router.openapi(
    createRoute({
      method: 'get',
      path: '/actuator/health',
      tags: ['health'],
      summary: 'Aggregate health of Opsbook itself',
      responses: {
        200: { description: 'UP', content: { 'application/json': { schema: HealthResponse } } },
        503: { description: 'DOWN', content: { 'application/json': { schema: HealthResponse } } },
      },
    }),
    (c) => answer(c, deps.lifecycle.health()) as never,
  );
  for (const group of groups) {
    router.openapi(
      createRoute({
        method: 'get',
        path: `/actuator/health/${group}`,
        tags: ['health'],
        summary: `Kubernetes ${group} probe of Opsbook itself`,
        responses: {
          200: { description: 'UP', content: { 'application/json': { schema: HealthResponse } } },
          503: { description: 'DOWN', content: { 'application/json': { schema: HealthResponse } } },
        },
      }),
      (c) => answer(c, deps.lifecycle[group]()) as never,
    );
  }
  router.get('/metrics', async (c) => {
    const body = await deps.selfMetrics.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.selfMetrics.registry.contentType });
  });
  return router;
}
