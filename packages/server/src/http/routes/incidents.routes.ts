import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  ErrorBody,
  IncidentActorBody,
  IncidentAssign,
  IncidentCreate,
  IncidentDetail,
  IncidentList,
  IncidentNote,
  IncidentSeverity,
  IncidentStage,
  IncidentStageChange,
  IncidentStatusUpdate,
  IncidentStatusUpdateResult,
  IncidentView,
} from '@opsbook/contracts';
import type { IncidentService } from '../../incidents/incident.service.js';
import type { Incident, IncidentWithTimeline } from '../../incidents/incident.types.js';
import { postStatusUpdate, type StatusUpdateNotifier } from '../../incidents/status-update.js';
import { UnavailableError } from '../../errors.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam } from './query-params.js';
import { actorOf } from '../auth-context.js';

export interface IncidentRoutesDeps {
  incidents(): IncidentService;
  /** Sends status updates; without it the status-updates route answers 503. */
  incidentNotifier?(): StatusUpdateNotifier;
}

const errors = standardErrors;
const changeErrors = { ...errors, 409: json(ErrorBody, 'Not allowed in the incident’s current stage') };
const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const idParam = z.object({ id: z.string().regex(/^INC-\d+$/, 'an incident id looks like INC-12') });

function view(i: Incident): IncidentView {
  const { seq: _seq, alertGroup: _group, ...rest } = i;
  return rest;
}

function detail(i: IncidentWithTimeline): IncidentDetail {
  return { ...view(i), timeline: i.timeline };
}

export function incidentRoutes(deps: IncidentRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/incidents',
      tags: ['incidents'],
      summary: 'Incidents, newest first, with filters',
      request: {
        query: z.object({
          stage: IncidentStage.optional(),
          severity: IncidentSeverity.optional(),
          service: z.string().optional(),
          open: z
            .enum(['true', 'false'])
            .optional()
            .describe('only open (detection to resolution) or only ended (post-incident, closed)'),
          limit: limitParam(100, 1000),
        }),
      },
      responses: { 200: json(IncidentList, 'Incidents'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const items = await deps.incidents().list({
        stage: q.stage,
        severity: q.severity,
        service: q.service,
        open: q.open === undefined ? undefined : q.open === 'true',
      });
      return c.json({ items: items.slice(0, q.limit).map(view), total: items.length }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/incidents/{id}',
      tags: ['incidents'],
      summary: 'One incident with its alerts and timeline',
      request: { params: idParam },
      responses: { 200: json(IncidentDetail, 'Incident'), ...errors },
    }),
    async (c) => c.json(detail(await deps.incidents().get(c.req.valid('param').id)), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/incidents',
      tags: ['incidents'],
      summary: 'Declare an incident by hand',
      request: body(IncidentCreate),
      responses: { 201: json(IncidentView, 'Created'), ...errors },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const incident = await deps.incidents().create({ ...b, actor: actorOf(c, b.actor) });
      return c.json(view(incident), 201);
    },
  );

  const action = <T extends z.ZodType<{ actor?: string | undefined }>>(
    path: string,
    summary: string,
    schema: T,
    run: (service: IncidentService, id: string, b: z.infer<T> & { actor: string }) => Promise<Incident>,
  ) =>
    router.openapi(
      createRoute({
        method: 'post',
        path: `/incidents/{id}/${path}`,
        tags: ['incidents'],
        summary,
        request: { params: idParam, ...body(schema) },
        responses: { 200: json(IncidentView, 'Changed'), ...changeErrors },
      }),
      async (c) => {
        // The generic schema hides the validated types from Hono; they are checked by then.
        const req = c.req as unknown as {
          valid(target: 'param'): { id: string };
          valid(target: 'json'): z.infer<T>;
        };
        const id = req.valid('param').id;
        const b = req.valid('json');
        return c.json(view(await run(deps.incidents(), id, { ...b, actor: actorOf(c, b.actor) })), 200);
      },
    );

  action(
    'acknowledge',
    'Acknowledge (stops the response clock; detection moves to triage)',
    IncidentActorBody,
    (s, id, b) => s.acknowledge(id, b.actor),
  );
  action('assign', 'Give a person a role (commander, scribe, ...)', IncidentAssign, (s, id, b) =>
    s.assign(id, b.role, b.person, b.actor),
  );
  action(
    'stage',
    'Move to a later stage (or reopen: post-incident → investigation)',
    IncidentStageChange,
    (s, id, b) => s.setStage(id, b.stage, b.actor),
  );
  action('notes', 'Add a note to the timeline', IncidentNote, (s, id, b) => s.addNote(id, b.text, b.actor));
  action('resolve', 'Resolve: move to post-incident', IncidentActorBody, (s, id, b) =>
    s.resolve(id, b.actor),
  );
  action('close', 'Close after post-incident', IncidentActorBody, (s, id, b) => s.close(id, b.actor));

  router.openapi(
    createRoute({
      method: 'post',
      path: '/incidents/{id}/status-updates',
      tags: ['incidents'],
      summary:
        'Communicate status: a status entry on the timeline at once, then a message to the incident’s channels (incidents.channels, or the receivers named) through the outbox',
      request: { params: idParam, ...body(IncidentStatusUpdate) },
      responses: {
        202: json(IncidentStatusUpdateResult, 'On the timeline and queued for delivery'),
        ...changeErrors,
      },
    }),
    async (c) => {
      if (!deps.incidentNotifier)
        throw new UnavailableError('status updates are not available: notifications are not running');
      const b = c.req.valid('json');
      const result = await postStatusUpdate(deps.incidents(), deps.incidentNotifier(), {
        id: c.req.valid('param').id,
        text: b.text,
        actor: actorOf(c, b.actor),
        receivers: b.receivers,
      });
      return c.json(result, 202);
    },
  );

  return router;
}
