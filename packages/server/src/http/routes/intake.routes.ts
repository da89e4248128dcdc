// So an existing Prometheus or Alertmanager feeds Opsbook: Prometheus's alert POST (Alertmanager's
// /api/v2/alerts) and Alertmanager's webhook v4 payload. A malformed body answers 400 and writes nothing.
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { AlertmanagerWebhook, ErrorBody, PostableAlerts } from '@opsbook/contracts';
import type { AlertRoutesDeps } from './alerts.routes.js';
import { newRouter } from '../app.js';

const ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');
const Accepted = z.object({ accepted: z.number().int() });

export function intakeRoutes(deps: AlertRoutesDeps) {
  const router = newRouter();
  const errors = {
    400: {
      description: 'Malformed body; nothing was written',
      content: { 'application/json': { schema: ErrorBody } },
    },
    503: { description: 'Not ready', content: { 'application/json': { schema: ErrorBody } } },
  };

  router.openapi(
    createRoute({
      method: 'post',
      path: '/v2/alerts',
      tags: ['intake'],
      summary: 'Receive alerts from Prometheus (point its alertmanager config here)',
      request: { body: { content: { 'application/json': { schema: PostableAlerts } }, required: true } },
      responses: {
        200: { description: 'Accepted', content: { 'application/json': { schema: Accepted } } },
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const accepted = await deps.alerts().ingest(
        body.map((a) => ({
          labels: a.labels,
          annotations: a.annotations ?? {},
          startsAt: a.startsAt ? Date.parse(a.startsAt) : undefined,
          endsAt: a.endsAt && Date.parse(a.endsAt) > ZERO_TIME ? Date.parse(a.endsAt) : undefined,
          generatorUrl: a.generatorURL,
        })),
      );
      return c.json({ accepted }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/v1/intake/alertmanager',
      tags: ['intake'],
      summary: 'Receive an Alertmanager webhook (version 4) notification',
      request: { body: { content: { 'application/json': { schema: AlertmanagerWebhook } }, required: true } },
      responses: {
        200: { description: 'Accepted', content: { 'application/json': { schema: Accepted } } },
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const now = Date.now();
      const accepted = await deps.alerts().ingest(
        body.alerts.map((a) => {
          const endsAt = Date.parse(a.endsAt);
          return {
            labels: a.labels,
            annotations: a.annotations,
            startsAt: Date.parse(a.startsAt) || undefined,
            // A firing alert in a webhook carries no end; it stays until Alertmanager says it resolved.
            endsAt: a.status === 'resolved' ? Math.min(endsAt > ZERO_TIME ? endsAt : now, now) : undefined,
            generatorUrl: a.generatorURL,
            keepUntilResolved: true,
          };
        }),
      );
      return c.json({ accepted }, 200);
    },
  );
  return router;
}
