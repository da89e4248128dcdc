import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  DeploymentList,
  DeploymentStatus,
  DeploymentView,
  ErrorBody,
  RecordDeploymentRequest,
  UpdateDeploymentRequest,
} from '@opsbook/contracts';
import type { DeploymentService } from '../../deployments/deployment.service.js';
import { newRouter } from '../app.js';
import { actorOf } from '../auth-context.js';
import { limitParam } from './query-params.js';
import { json, standardErrors } from './responses.js';

export interface DeploymentRoutesDeps {
  /** Throws UnavailableError until the store is up. */
  deployments(): DeploymentService;
}

const id = z.object({ id: z.string() });

export function deploymentRoutes(deps: DeploymentRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'post',
      path: '/deployments',
      tags: ['deployments'],
      summary:
        'Record a deployment (from a CI pipeline or by hand); the service is then under watch for deployments.watchFor',
      request: {
        body: { content: { 'application/json': { schema: RecordDeploymentRequest } }, required: true },
      },
      responses: { 201: json(DeploymentView, 'Recorded'), ...standardErrors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // A signed-in user is who deployed; a pipeline's integration token may name the person.
      const recorded = await deps.deployments().record({ ...body, by: actorOf(c, body.by) });
      c.header('Location', `/api/v1/deployments/${recorded.id}`);
      return c.json(recorded, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/deployments',
      tags: ['deployments'],
      summary: 'Deployments, newest first, each with its watch window and the alerts that fired in it',
      request: {
        query: z.object({
          service: z.string().optional(),
          environment: z.string().optional(),
          status: DeploymentStatus.optional(),
          cursor: z
            .string()
            .regex(/^\d+_.+$/, 'use the nextCursor of the previous page')
            .optional(),
          limit: limitParam(20, 200),
        }),
      },
      responses: { 200: json(DeploymentList, 'Deployments'), ...standardErrors },
    }),
    async (c) => c.json(await deps.deployments().list(c.req.valid('query')), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/deployments/{id}',
      tags: ['deployments'],
      summary: 'One deployment with its watch window and the alerts that fired in it',
      request: { params: id },
      responses: { 200: json(DeploymentView, 'The deployment'), ...standardErrors },
    }),
    async (c) => c.json(await deps.deployments().get(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/deployments/{id}',
      tags: ['deployments'],
      summary: 'Finish a deployment (status, finishedAt) or mark it rolled back',
      request: {
        params: id,
        body: { content: { 'application/json': { schema: UpdateDeploymentRequest } }, required: true },
      },
      responses: {
        200: json(DeploymentView, 'Updated'),
        409: json(ErrorBody, 'It already ended and cannot go back to in_progress'),
        ...standardErrors,
      },
    }),
    async (c) => c.json(await deps.deployments().update(c.req.valid('param').id, c.req.valid('json')), 200),
  );

  return router;
}
