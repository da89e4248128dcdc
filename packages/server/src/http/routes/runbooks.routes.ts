import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { RunbookAuditEntry, RunbookRunView } from '@opsbook/contracts';
import type { IncidentService } from '../../incidents/incident.service.js';
import type { RunbookEngine } from '../../runbooks/runbook-engine.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam } from './query-params.js';
import { actorOf, approverOf } from '../auth-context.js';

export interface RunbookRoutesDeps {
  runbooks(): RunbookEngine;
  /** A run started for an incident must name one that exists. */
  incidents(): IncidentService;
}

const RunbookSummary = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string().nullable(),
  triggers: z.record(z.string(), z.unknown()),
  parameters: z.record(z.string(), z.unknown()),
  steps: z.array(z.object({ id: z.string(), title: z.string(), kind: z.string(), phase: z.string() })),
});

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const actor = z
  .string()
  .min(1)
  .optional()
  .describe(
    'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
  );
// Roles come from the caller's account (role and groups), never from the request.
const Approver = z.object({ actor, reason: z.string().optional() });
const stepParams = z.object({ id: z.string(), step: z.string() });
const errors = { ...standardErrors, 409: json(z.object({}).passthrough(), 'Not waiting for this') };

export function runbookRoutes(deps: RunbookRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/runbooks',
      tags: ['runbooks'],
      summary: 'Runbooks: the built-in five of the guide and those from the configured folders',
      responses: { 200: json(z.object({ items: z.array(RunbookSummary) }), 'Runbooks'), ...errors },
    }),
    (c) => {
      const items = [...deps.runbooks().runbooks.values()].map((r) => ({
        id: r.id,
        title: r.title,
        description: r.description ?? null,
        triggers: r.triggers as Record<string, unknown>,
        parameters: r.parameters as Record<string, unknown>,
        steps: r.steps.map((s) => ({ id: s.id, title: s.title, kind: s.kind, phase: s.phase })),
      }));
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/runbooks/{id}/runs',
      tags: ['runbooks'],
      summary: 'Start a run with parameters; steps execute until one waits for a person',
      request: {
        params: z.object({ id: z.string() }),
        ...body(
          z.object({
            parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
            /** Run it for an incident: its steps and evidence then go on that incident's timeline. */
            incident: z.string().optional(),
            actor,
          }),
        ),
      },
      responses: { 201: json(RunbookRunView, 'The run'), ...errors },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const run = await deps.runbooks().start({
        runbookId: c.req.valid('param').id,
        parameters: input.parameters,
        trigger: input.incident
          ? { manual: true, incident: (await deps.incidents().get(input.incident)).id }
          : { manual: true },
        actor: actorOf(c, input.actor),
      });
      return c.json(run, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/runbook-runs',
      tags: ['runbooks'],
      summary: 'Runs, newest first',
      request: {
        query: z.object({
          status: z.string().optional().describe('comma-separated statuses'),
          limit: limitParam(50, 500),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(RunbookRunView) }), 'Runs'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const items = await deps
        .runbooks()
        .list({ status: q.status?.split(',').filter(Boolean), limit: q.limit });
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/runbook-runs/{id}',
      tags: ['runbooks'],
      summary: 'One run with every step, its evidence and the audit log',
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: json(RunbookRunView.extend({ audit: z.array(RunbookAuditEntry) }), 'The run'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const engine = deps.runbooks();
      return c.json({ ...(await engine.get(id)), audit: await engine.auditLog(id) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/runbook-runs/{id}/steps/{step}/tick',
      tags: ['runbooks'],
      summary: 'Tick a manual step done',
      request: { params: stepParams, ...body(z.object({ actor, note: z.string().optional() })) },
      responses: { 200: json(RunbookRunView, 'The run'), ...errors },
    }),
    async (c) => {
      const { id, step } = c.req.valid('param');
      const input = c.req.valid('json');
      return c.json(await deps.runbooks().tick(id, step, actorOf(c, input.actor), input.note), 200);
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    router.openapi(
      createRoute({
        method: 'post',
        path: `/runbook-runs/{id}/steps/{step}/${decision}`,
        tags: ['runbooks'],
        summary:
          decision === 'approve' ? 'Approve a waiting approval step' : 'Reject a waiting approval step',
        request: { params: stepParams, ...body(Approver) },
        responses: { 200: json(RunbookRunView, 'The run'), ...errors },
      }),
      async (c) => {
        const { id, step } = c.req.valid('param');
        const input = c.req.valid('json');
        const who = approverOf(c, input.actor);
        const engine = deps.runbooks();
        const run =
          decision === 'approve'
            ? await engine.approve(id, step, who, input.reason)
            : await engine.reject(id, step, who, input.reason);
        return c.json(run, 200);
      },
    );
  }
  return router;
}
