import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  ActionItemCreate,
  ActionItemList,
  ActionItemStatus,
  ActionItemUpdate,
  ActionItemView,
  ErrorBody,
  IncidentReport,
  IncidentSeverity,
  PostmortemUpdate,
  PostmortemView,
} from '@opsbook/contracts';
import type { PostmortemService } from '../../incidents/postmortem.service.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam, timeParam } from './query-params.js';
import { withActor } from '../auth-context.js';

export interface PostmortemRoutesDeps {
  postmortems(): PostmortemService;
}

const errors = standardErrors;
const changeErrors = {
  ...errors,
  409: json(ErrorBody, 'Conflicts with the current state or a newer version'),
};
const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const incidentParam = z.object({ id: z.string().regex(/^INC-\d+$/, 'an incident id looks like INC-12') });
const itemParam = z.object({ id: z.string().regex(/^AI-\d+$/, 'an action item id looks like AI-7') });
const MARKDOWN = 'text/markdown; charset=utf-8';

export function postmortemRoutes(deps: PostmortemRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/incidents/{id}/postmortem',
      tags: ['postmortems'],
      summary: 'The incident’s post-mortem (drafted from the incident once resolved); Markdown on request',
      request: {
        params: incidentParam,
        query: z.object({
          format: z
            .enum(['json', 'markdown'])
            .optional()
            .describe('markdown: the post-mortem document; also chosen by Accept: text/markdown'),
        }),
      },
      responses: {
        200: {
          description: 'The post-mortem',
          content: {
            'application/json': { schema: PostmortemView },
            'text/markdown': { schema: z.string() },
          },
        },
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { format } = c.req.valid('query');
      const markdown =
        format === 'markdown' || (format === undefined && wantsMarkdown(c.req.header('accept')));
      if (markdown) return c.body(await deps.postmortems().markdown(id), 200, { 'content-type': MARKDOWN });
      return c.json(await deps.postmortems().get(id), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/incidents/{id}/postmortem',
      tags: ['postmortems'],
      summary:
        'Write the post-mortem: fields left out keep their value; status draft → in-review → published',
      request: { params: incidentParam, ...body(PostmortemUpdate) },
      responses: { 200: json(PostmortemView, 'Saved'), ...changeErrors },
    }),
    async (c) =>
      c.json(
        await deps.postmortems().update(c.req.valid('param').id, withActor(c, c.req.valid('json'))),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/incidents/{id}/action-items',
      tags: ['postmortems'],
      summary: 'The incident’s action items',
      request: { params: incidentParam },
      responses: { 200: json(ActionItemList, 'Action items'), ...errors },
    }),
    async (c) => {
      const items = deps.postmortems().actionItems;
      const list = await items.list({ incidentId: c.req.valid('param').id });
      return c.json(list, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/incidents/{id}/action-items',
      tags: ['postmortems'],
      summary: 'Add an action item (follow-up) with an owner, due date and priority',
      request: { params: incidentParam, ...body(ActionItemCreate) },
      responses: { 201: json(ActionItemView, 'Created'), ...errors },
    }),
    async (c) =>
      c.json(
        await deps.postmortems().actionItems.add(c.req.valid('param').id, withActor(c, c.req.valid('json'))),
        201,
      ),
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/action-items/{id}',
      tags: ['postmortems'],
      summary: 'Change an action item: mark it done or wont-do, reassign, move its due date',
      request: { params: itemParam, ...body(ActionItemUpdate) },
      responses: { 200: json(ActionItemView, 'Changed'), ...changeErrors },
    }),
    async (c) =>
      c.json(
        await deps
          .postmortems()
          .actionItems.update(c.req.valid('param').id, withActor(c, c.req.valid('json'))),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/action-items',
      tags: ['postmortems'],
      summary: 'Action items across incidents, soonest due first',
      request: {
        query: z.object({
          status: ActionItemStatus.optional(),
          owner: z.string().min(1).optional(),
          overdue: z.enum(['true', 'false']).optional().describe('true: only open items past their due time'),
          incident: z
            .string()
            .regex(/^INC-\d+$/, 'an incident id looks like INC-12')
            .optional(),
          limit: limitParam(100, 1000),
        }),
      },
      responses: { 200: json(ActionItemList, 'Action items'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const list = await deps.postmortems().actionItems.list({
        status: q.status,
        owner: q.owner,
        overdue: q.overdue === undefined ? undefined : q.overdue === 'true',
        incidentId: q.incident,
        limit: q.limit,
      });
      return c.json(list, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/reports/incidents',
      tags: ['postmortems'],
      summary: 'MTTA, MTTR and target compliance of incidents opened in [from, to), per severity and service',
      request: {
        query: z.object({
          from: timeParam.describe('default: 30 days before to'),
          to: timeParam.describe('default: now'),
          severity: IncidentSeverity.optional(),
          service: z.string().min(1).optional(),
        }),
      },
      responses: { 200: json(IncidentReport, 'Report'), ...errors },
    }),
    async (c) => c.json(await deps.postmortems().reports.build(c.req.valid('query')), 200),
  );

  return router;
}

/** text/markdown when the client lists it before (or without) application/json. */
function wantsMarkdown(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  const md = types.indexOf('text/markdown');
  const js = types.indexOf('application/json');
  return md !== -1 && (js === -1 || md < js);
}
