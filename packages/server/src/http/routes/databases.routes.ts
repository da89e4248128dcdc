import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  ActivityRow,
  BackendActionRequest,
  BackendActionResult,
  BackendAuditEntry,
  BlockingPair,
  DatabaseSummary,
  DatabaseView,
  HealthReport,
  MaintenanceRunView,
  MaintenanceTaskName,
  MaintenanceTaskView,
  QueryKind,
  StatementRow,
} from '@opsbook/contracts';
import type { DatabaseService } from '../../postgres/database.service.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam } from './query-params.js';

export interface DatabaseRoutesDeps {
  databases(): DatabaseService;
}

const idParam = z.object({ id: z.string().describe('the database id from the databases: config') });
const refresh = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true')
  .describe('collect now instead of answering from the latest snapshot');
const errors = {
  ...standardErrors,
  403: json(z.object({}).passthrough(), 'PostgreSQL refused (privileges)'),
  409: json(z.object({}).passthrough(), 'Already running'),
  502: json(z.object({}).passthrough(), 'The database could not be reached'),
};

export function databaseRoutes(deps: DatabaseRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases',
      tags: ['databases'],
      summary: 'Configured PostgreSQL databases: up, role, size, connections, last collected, findings',
      responses: { 200: json(z.object({ items: z.array(DatabaseSummary) }), 'Databases'), ...errors },
    }),
    (c) => c.json({ items: deps.databases().list() }, 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}',
      tags: ['databases'],
      summary: 'One database with its latest collector snapshot',
      request: { params: idParam },
      responses: { 200: json(DatabaseView, 'The database'), ...errors },
    }),
    (c) => c.json(deps.databases().view(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/health',
      tags: ['databases'],
      summary: 'Advisor findings, most severe first, each with evidence and the SQL that would fix it',
      description: 'Opsbook never runs the fix SQL itself.',
      request: { params: idParam, query: z.object({ refresh }) },
      responses: { 200: json(HealthReport, 'Findings'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(await deps.databases().health(id, { refresh: c.req.valid('query').refresh }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/queries',
      tags: ['databases'],
      summary: 'Slow (pg_stat_statements), long-running, blocking or idle-in-transaction queries',
      request: {
        params: idParam,
        query: z.object({ kind: QueryKind.default('slow'), refresh }),
      },
      responses: {
        200: json(
          z.object({
            kind: QueryKind,
            collectedAt: z.number(),
            items: z.array(z.union([StatementRow, ActivityRow, BlockingPair])),
          }),
          'Queries',
        ),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      return c.json(await deps.databases().queries(id, q.kind, { refresh: q.refresh }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/maintenance',
      tags: ['databases'],
      summary: 'Maintenance tasks with their schedule, next run and last outcome',
      request: { params: idParam },
      responses: { 200: json(z.object({ items: z.array(MaintenanceTaskView) }), 'Tasks'), ...errors },
    }),
    async (c) => c.json({ items: await deps.databases().maintenanceTasks(c.req.valid('param').id) }, 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/maintenance/runs',
      tags: ['databases'],
      summary: 'Maintenance runs, newest first',
      request: {
        params: idParam,
        query: z.object({ task: MaintenanceTaskName.optional(), limit: limitParam(50, 500) }),
      },
      responses: { 200: json(z.object({ items: z.array(MaintenanceRunView) }), 'Runs'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      return c.json({ items: await deps.databases().maintenanceRuns(id, q) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/maintenance/runs/{run}',
      tags: ['databases'],
      summary: 'One maintenance run with its output (and progress while running)',
      request: { params: idParam.extend({ run: z.string() }) },
      responses: { 200: json(MaintenanceRunView, 'The run'), ...errors },
    }),
    async (c) => {
      const { id, run } = c.req.valid('param');
      return c.json(await deps.databases().maintenanceRun(id, run), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/databases/{id}/maintenance/{task}/runs',
      tags: ['databases'],
      summary: 'Run a maintenance task now; answers 202 with the run, which goes on in the background',
      request: {
        params: idParam.extend({ task: MaintenanceTaskName }),
        body: {
          content: { 'application/json': { schema: z.object({ actor: z.string().min(1) }) } },
          required: true,
        },
      },
      responses: { 202: json(MaintenanceRunView, 'Started'), ...errors },
    }),
    async (c) => {
      const { id, task } = c.req.valid('param');
      const { run } = deps.databases().runMaintenance(id, task, c.req.valid('json').actor);
      return c.json(await run, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/backends',
      tags: ['databases'],
      summary: 'Client sessions of the database (pg_stat_activity), longest-running first',
      request: { params: idParam },
      responses: { 200: json(z.object({ items: z.array(ActivityRow) }), 'Sessions'), ...errors },
    }),
    async (c) => c.json({ items: await deps.databases().backends(c.req.valid('param').id) }, 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/backends/audit',
      tags: ['databases'],
      summary: 'Every cancel and terminate request for this database, done or refused, newest first',
      request: { params: idParam, query: z.object({ limit: limitParam(100, 1000) }) },
      responses: { 200: json(z.object({ items: z.array(BackendAuditEntry) }), 'Audit'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json({ items: await deps.databases().backendAudit(id, c.req.valid('query').limit) }, 200);
    },
  );

  for (const action of ['cancel', 'terminate'] as const)
    router.openapi(
      createRoute({
        method: 'post',
        path: `/databases/{id}/backends/{pid}/${action}`,
        tags: ['databases'],
        summary:
          action === 'cancel'
            ? 'Cancel the query of a backend (pg_cancel_backend). Destructive: needs confirm and actor; audited'
            : 'End a backend session (pg_terminate_backend). Destructive: needs confirm and actor; audited',
        request: {
          params: idParam.extend({ pid: z.coerce.number().int().positive() }),
          body: { content: { 'application/json': { schema: BackendActionRequest } }, required: true },
        },
        responses: { 200: json(BackendActionResult, 'Signalled'), ...errors },
      }),
      async (c) => {
        const { id, pid } = c.req.valid('param');
        const body = c.req.valid('json');
        const source = c.req.header('x-opsbook-source') ?? 'api';
        return c.json(await deps.databases().backendAction(id, { pid, action, ...body, source }), 200);
      },
    );

  return router;
}
