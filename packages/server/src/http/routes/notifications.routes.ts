import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  DeliveryStatus,
  ErrorBody,
  NotificationDeliveryDetail,
  NotificationDeliveryList,
} from '@opsbook/contracts';
import type { OutboxQueries } from '../../notify/outbox.queries.js';
import { newRouter } from '../app.js';
import { limitParam } from './query-params.js';

export interface NotificationRoutesDeps {
  /** Throws UnavailableError until the store is connected and migrated. */
  notifications(): OutboxQueries;
}

const errors = {
  400: { description: 'Bad parameter', content: { 'application/json': { schema: ErrorBody } } },
  503: { description: 'Store not ready', content: { 'application/json': { schema: ErrorBody } } },
};

export function notificationRoutes(deps: NotificationRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/notifications',
      tags: ['notifications'],
      summary: 'The delivery log, newest first: one entry per notification and receiver channel',
      request: {
        query: z.object({
          status: DeliveryStatus.optional(),
          receiver: z.string().optional(),
          groupKey: z.string().optional(),
          cursor: z.string().regex(/^\d+$/, 'use the nextCursor of the previous page').optional(),
          limit: limitParam(100, 1000),
        }),
      },
      responses: {
        200: {
          description: 'A page of deliveries',
          content: { 'application/json': { schema: NotificationDeliveryList } },
        },
        ...errors,
      },
    }),
    async (c) => c.json(await deps.notifications().list(c.req.valid('query')), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/notifications/{id}',
      tags: ['notifications'],
      summary: 'One delivery with its rendered message and every attempt',
      request: {
        params: z.object({ id: z.coerce.number().int('must be a whole number').min(1) }),
      },
      responses: {
        200: {
          description: 'The delivery',
          content: { 'application/json': { schema: NotificationDeliveryDetail } },
        },
        404: { description: 'No such delivery', content: { 'application/json': { schema: ErrorBody } } },
        ...errors,
      },
    }),
    async (c) => c.json(await deps.notifications().get(c.req.valid('param').id), 200),
  );

  return router;
}
