import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { DrillReport, DrillSummary, ErrorBody, StartDrillRequest } from '@opsbook/contracts';
import type { DrillService } from '../../postgres/drill.service.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam } from './query-params.js';

export interface DrillRoutesDeps {
  /** Throws UnavailableError until the store and the backups are up. */
  drills(): DrillService;
}

const id = z.object({ id: z.string() });

export function drillRoutes(deps: DrillRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'post',
      path: '/databases/{id}/drills',
      tags: ['drills'],
      summary:
        'Start a disaster-recovery drill: restore the latest backup into a scratch database and verify it. Follow it with GET /drills/{id}',
      request: {
        params: id,
        body: { content: { 'application/json': { schema: StartDrillRequest } }, required: false },
      },
      responses: {
        202: json(DrillReport, 'Started; the report fills in as the drill runs'),
        409: json(ErrorBody, 'A drill of this database is running'),
        ...standardErrors,
      },
    }),
    async (c) => {
      // The body is optional: validated when sent as JSON, {} otherwise.
      const actor = (c.req.valid('json') as Partial<StartDrillRequest>).actor ?? 'api';
      const report = await deps.drills().run(c.req.valid('param').id, { trigger: 'manual', actor });
      c.header('Location', `/api/v1/drills/${report.id}`);
      return c.json(report, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/drills',
      tags: ['drills'],
      summary: 'Drills, newest first',
      request: {
        query: z.object({
          database: z.string().optional().describe('only this database'),
          limit: limitParam(50, 500),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(DrillSummary) }), 'Drills'), ...standardErrors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json({ items: await deps.drills().list({ database: q.database, limit: q.limit }) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/drills/{id}',
      tags: ['drills'],
      summary: 'One drill: its JSON report, with the current phase while it runs',
      request: { params: id },
      responses: { 200: json(DrillReport, 'The report'), ...standardErrors },
    }),
    async (c) => c.json(await deps.drills().get(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/drills/{id}/report.md',
      tags: ['drills'],
      summary: 'One drill report as Markdown',
      request: { params: id },
      responses: {
        200: { description: 'The report', content: { 'text/markdown': { schema: z.string() } } },
        ...standardErrors,
      },
    }),
    async (c) => {
      const markdown = await deps.drills().markdown(c.req.valid('param').id);
      return c.body(markdown, 200, { 'content-type': 'text/markdown; charset=utf-8' });
    },
  );

  return router;
}
