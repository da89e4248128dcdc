// So an existing Prometheus or Alertmanager feeds Opsbook: Prometheus's alert POST (Alertmanager's
// /api/v2/alerts) and Alertmanager's webhook v4 payload. A malformed body answers 400 and writes nothing.
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { AlertmanagerWebhook, ErrorBody, PostableAlerts } from '@opsbook/contracts';
import { fastPostableAlerts } from '../../alerts/postable-alerts.js';
import type { AlertRoutesDeps } from './alerts.routes.js';
import { newRouter } from '../app.js';
import { validationResponse } from '../errors.js';

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

  // Documented like every route, but the body is checked here: zod only looks at a body the fast check
  // does not pass, so a bad one gets the same 400 (see alerts/postable-alerts.ts).
  router.openAPIRegistry.registerPath(
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
  );
  router.post('/v2/alerts', async (c) => {
    const json = await jsonBody(c);
    let body = fastPostableAlerts(json);
    if (!body) {
      const result = PostableAlerts.safeParse(json);
      if (!result.success) return validationResponse(result.error, c);
      body = result.data;
    }
    // A batch carries few distinct times: each is parsed once.
    const times = new Map<string, number>();
    const time = (text: string): number => {
      let t = times.get(text);
      if (t === undefined) times.set(text, (t = Date.parse(text)));
      return t;
    };
    const accepted = await deps.alerts().ingest(
      body.map((a) => {
        const endsAt = a.endsAt ? time(a.endsAt) : undefined;
        return {
          labels: a.labels,
          annotations: a.annotations ?? {},
          startsAt: a.startsAt ? time(a.startsAt) : undefined,
          endsAt: endsAt !== undefined && endsAt > ZERO_TIME ? endsAt : undefined,
          generatorUrl: a.generatorURL,
        };
      }),
    );
    return c.json({ accepted }, 200);
  });

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

const JSON_REQUEST = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/** The JSON body, with the answers the generated validator gives: 415 for another type, 400 for bad JSON. */
async function jsonBody(c: Context): Promise<unknown> {
  const type = c.req.header('content-type');
  if (!type) {
    if ((await c.req.arrayBuffer()).byteLength > 0)
      throw new HTTPException(415, { message: 'Unsupported Media Type' });
    return {};
  }
  if (!JSON_REQUEST.test(type)) throw new HTTPException(415, { message: 'Unsupported Media Type' });
  try {
    return await c.req.json();
  } catch {
    throw new HTTPException(400, { message: 'Malformed JSON in request body' });
  }
}
