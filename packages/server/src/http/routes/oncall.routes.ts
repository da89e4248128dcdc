import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  ErrorBody,
  EscalationPolicyView,
  EscalationStateView,
  OncallNow,
  OncallOverrideCreate,
  OncallOverrideView,
  OncallShiftList,
} from '@opsbook/contracts';
import type { EscalationService } from '../../oncall/escalation.service.js';
import type { OncallService } from '../../oncall/oncall.service.js';
import { DAY_MS } from '../../oncall/zoned-time.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { timeParam } from './query-params.js';
import { actorOf } from '../auth-context.js';

export interface OncallRoutesDeps {
  oncall(): OncallService;
  escalations(): EscalationService;
}

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const errors = standardErrors;
const DEFAULT_SHIFTS_WINDOW_MS = 14 * DAY_MS;

export function oncallRoutes(deps: OncallRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/oncall',
      tags: ['oncall'],
      summary: 'Every schedule with who is on call now, until when, and who is next',
      request: {
        query: z.object({ at: timeParam.describe('another moment than now (epoch ms or ISO 8601)') }),
      },
      responses: { 200: json(OncallNow, 'Who is on call'), ...errors },
    }),
    async (c) => {
      const at = c.req.valid('query').at ?? deps.oncall().now();
      return c.json({ at, items: await deps.oncall().summary(at) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/oncall/schedules/{id}/shifts',
      tags: ['oncall'],
      summary: 'Shifts of a schedule in a window (default: the next 14 days), overrides applied',
      request: {
        params: z.object({ id: z.string() }),
        query: z.object({
          from: timeParam.describe('start of the window (default now)'),
          to: timeParam.describe('end of the window (default from + 14 days; at most 366 days)'),
        }),
      },
      responses: { 200: json(OncallShiftList, 'Shifts'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      const oncall = deps.oncall();
      const from = q.from ?? oncall.now();
      const to = q.to ?? from + DEFAULT_SHIFTS_WINDOW_MS;
      const items = await oncall.shifts(id, from, to);
      return c.json({ schedule: id, timeZone: oncall.schedule(id).timeZone, from, to, items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/oncall/schedules/{id}/overrides',
      tags: ['oncall'],
      summary: 'Someone takes a stretch of the schedule (an override), without a config change',
      request: { params: z.object({ id: z.string() }), ...body(OncallOverrideCreate) },
      responses: { 201: json(OncallOverrideView, 'The override'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const b = c.req.valid('json');
      const created = await deps.oncall().addOverride({ scheduleId: id, ...b, actor: actorOf(c, b.actor) });
      return c.json(created, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/oncall/overrides/{id}',
      tags: ['oncall'],
      summary: 'Remove an override made through the API (kept on record as deleted)',
      request: {
        params: z.object({ id: z.string() }),
        query: z.object({
          actor: z.string().min(1).optional().describe('who removes it (integration tokens only)'),
        }),
      },
      responses: {
        200: json(OncallOverrideView, 'The deleted override'),
        ...errors,
        409: json(ErrorBody, 'Already deleted'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(await deps.oncall().deleteOverride(id, actorOf(c, c.req.valid('query').actor)), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/escalation-policies',
      tags: ['oncall'],
      summary: 'Escalation policies, each level with who it would page right now',
      responses: {
        200: json(z.object({ items: z.array(EscalationPolicyView) }), 'Policies'),
        ...errors,
      },
    }),
    async (c) => c.json({ items: await deps.oncall().policies() }, 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/incidents/{id}/escalation',
      tags: ['oncall', 'incidents'],
      summary: "An incident's escalation: level, loop, when the next page goes out, and every page sent",
      request: {
        params: z.object({ id: z.string().regex(/^INC-\d+$/, 'an incident id looks like INC-12') }),
      },
      responses: { 200: json(EscalationStateView, 'Escalation'), ...errors },
    }),
    async (c) => c.json(await deps.escalations().state(c.req.valid('param').id), 200),
  );

  return router;
}
