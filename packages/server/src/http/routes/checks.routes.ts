import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  CheckDetail,
  CheckHealth,
  CheckList,
  CheckResultList,
  CheckRole,
  CheckStats,
  ErrorBody,
  ProbeKind,
  ProbeRun,
  StatsWindow,
} from '@opsbook/contracts';
import { InputError, NotFoundError } from '../../errors.js';
import { newRouter, type AppDeps } from '../app.js';
import { limitParam, timeParam } from './query-params.js';

const errors = {
  400: { description: 'Bad parameter', content: { 'application/json': { schema: ErrorBody } } },
  404: { description: 'No such check', content: { 'application/json': { schema: ErrorBody } } },
  503: { description: 'Store not ready', content: { 'application/json': { schema: ErrorBody } } },
};

// Check ids are "service/check", so they span two path segments.
const idParams = z.object({ service: z.string(), check: z.string() });
const DAY = 86_400_000;

export function checkRoutes(deps: AppDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/checks',
      tags: ['checks'],
      summary: 'Current state of every check, paginated (one query)',
      request: {
        query: z.object({
          service: z.string().optional(),
          status: CheckHealth.optional(),
          role: CheckRole.optional(),
          kind: ProbeKind.optional(),
          cursor: z.string().optional().describe('nextCursor of the previous page'),
          limit: limitParam(100, 10_000),
        }),
      },
      responses: {
        200: { description: 'A page of checks', content: { 'application/json': { schema: CheckList } } },
        ...errors,
      },
    }),
    async (c) => c.json(await deps.queries().list(c.req.valid('query')), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/checks/{service}/{check}',
      tags: ['checks'],
      summary: 'One check with its (redacted) probe spec',
      request: { params: idParams },
      responses: {
        200: { description: 'The check', content: { 'application/json': { schema: CheckDetail } } },
        ...errors,
      },
    }),
    async (c) => {
      const { service, check } = c.req.valid('param');
      return c.json(await deps.queries().get(`${service}/${check}`), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/checks/{service}/{check}/results',
      tags: ['checks'],
      summary: 'Raw probe results, newest first (kept 7 days by default)',
      request: {
        params: idParams,
        query: z.object({ from: timeParam, to: timeParam, limit: limitParam(500, 10_000) }),
      },
      responses: {
        200: { description: 'Results', content: { 'application/json': { schema: CheckResultList } } },
        ...errors,
      },
    }),
    async (c) => {
      const { service, check } = c.req.valid('param');
      const query = c.req.valid('query');
      const to = query.to ?? Date.now();
      const from = query.from ?? to - DAY;
      if (from >= to) throw new InputError('from must be before to', 'from');
      const id = `${service}/${check}`;
      return c.json({ checkId: id, items: await deps.queries().results(id, from, to, query.limit) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/checks/{service}/{check}/stats',
      tags: ['checks'],
      summary: 'Availability and p50/p95/p99 latency over a window, from rollups',
      request: { params: idParams, query: z.object({ window: StatsWindow.default('24h') }) },
      responses: {
        200: { description: 'Stats', content: { 'application/json': { schema: CheckStats } } },
        ...errors,
      },
    }),
    async (c) => {
      const { service, check } = c.req.valid('param');
      return c.json(await deps.queries().stats(`${service}/${check}`, c.req.valid('query').window), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/checks/{service}/{check}/run',
      tags: ['checks'],
      summary: 'Run a check once now and return the result (not recorded, thresholds unchanged)',
      request: { params: idParams },
      responses: {
        200: { description: 'The probe result', content: { 'application/json': { schema: ProbeRun } } },
        ...errors,
      },
    }),
    async (c) => {
      const { service, check } = c.req.valid('param');
      const id = `${service}/${check}`;
      const outcome = await deps.runCheck(id, c.req.raw.signal);
      if (!outcome) throw new NotFoundError(`no check "${id}"; list them with GET /api/v1/checks`);
      return c.json({ checkId: id, ...outcome }, 200);
    },
  );

  return router;
}
