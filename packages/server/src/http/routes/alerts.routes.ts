import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  AlertHistoryList,
  AlertList,
  AlertSeverity,
  AlertState,
  ErrorBody,
  MaintenanceCreate,
  MaintenanceList,
  MaintenanceView,
  RuleList,
  SilenceCreate,
  SilenceList,
  SilenceView,
} from '@opsbook/contracts';
import type { AlertService } from '../../alerts/alert.service.js';
import { alertView, maintenanceView, silenceView } from '../../alerts/alert.views.js';
import { matchesAll, parseMatcher } from '../../alerts/matchers.js';
import { parseDuration } from '../../config/duration.js';
import { InputError } from '../../errors.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam, timeParam } from './query-params.js';
import { actorOf } from '../auth-context.js';

export interface AlertRoutesDeps {
  alerts(): AlertService;
}

const errors = standardErrors;

function toMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value : Date.parse(value);
}

function durationOf(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new InputError(`"${text}" is not a positive duration`, field);
  return ms;
}

export function alertRoutes(deps: AlertRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/alerts',
      tags: ['alerts'],
      summary: 'Active alerts (pending and firing; resolved ones for 15 minutes), with filters',
      request: {
        query: z.object({
          state: AlertState.optional(),
          severity: AlertSeverity.optional(),
          service: z.string().optional(),
          alertname: z.string().optional(),
          silenced: z
            .enum(['true', 'false'])
            .optional()
            .describe('only suppressed (true) or only unsuppressed (false)'),
          match: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .describe('label matchers, e.g. match=service="shop" (repeatable)'),
          limit: limitParam(1000, 10_000),
        }),
      },
      responses: { 200: json(AlertList, 'Alerts'), ...errors },
    }),
    (c) => {
      const q = c.req.valid('query');
      const matchTexts = q.match === undefined ? [] : Array.isArray(q.match) ? q.match : [q.match];
      const matchers = matchTexts.map((text, i) => {
        try {
          return parseMatcher(text);
        } catch (error) {
          throw new InputError((error as Error).message, `match[${i}]`);
        }
      });
      const severityRank = { critical: 0, warning: 1, info: 2 } as Record<string, number>;
      const items = deps
        .alerts()
        .list()
        .map(({ alert, suppressedBy }) => alertView(alert, suppressedBy))
        .filter(
          (a) =>
            (!q.state || a.state === q.state) &&
            (!q.severity || a.severity === q.severity) &&
            (!q.service || a.service === q.service) &&
            (!q.alertname || a.alertname === q.alertname) &&
            (q.silenced === undefined || a.suppressed === (q.silenced === 'true')) &&
            matchesAll(matchers, a.labels),
        )
        .sort(
          (a, b) =>
            (severityRank[a.severity] ?? 3) - (severityRank[b.severity] ?? 3) || b.activeAt - a.activeAt,
        );
      return c.json({ items: items.slice(0, q.limit), total: items.length }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/alerts/history',
      tags: ['alerts'],
      summary: 'Alert state changes, newest first',
      request: {
        query: z.object({
          fingerprint: z.string().optional(),
          alertname: z.string().optional(),
          service: z.string().optional(),
          severity: AlertSeverity.optional(),
          from: timeParam,
          to: timeParam,
          cursor: z.string().regex(/^\d+$/, 'use the nextCursor of the previous page').optional(),
          limit: limitParam(100, 1000),
        }),
      },
      responses: { 200: json(AlertHistoryList, 'History'), ...errors },
    }),
    async (c) => {
      const { cursor, ...q } = c.req.valid('query');
      const rows = await deps.alerts().history({ ...q, before: cursor ? Number(cursor) : undefined });
      const items = rows.map((r) => ({
        id: Number(r.id),
        fingerprint: r.fingerprint,
        at: r.at,
        state: r.state as 'firing',
        alertname: r.alertname,
        severity: r.severity,
        service: r.service,
        labels: JSON.parse(r.labels) as Record<string, string>,
        value: r.value === null || Number.isFinite(r.value) ? r.value : null,
        summary: r.summary,
      }));
      return c.json({ items, nextCursor: items.length === q.limit ? String(items.at(-1)!.id) : null }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/rules',
      tags: ['alerts'],
      summary: 'Alert rules (the default pack and the config) with their state and health',
      responses: { 200: json(RuleList, 'Rules'), ...errors },
    }),
    (c) => {
      const service = deps.alerts();
      const counts = service.countByRule();
      const items = service.ruleList().map((rule) => {
        const active = counts.get(rule.id) ?? { pending: 0, firing: 0 };
        return {
          id: rule.id,
          alert: rule.config.alert,
          source:
            rule.config.labels.source === 'opsbook-default' ? ('default' as const) : ('config' as const),
          severity: rule.config.severity,
          expr: rule.exprText,
          windowSeconds: rule.config.window / 1000,
          forSeconds: rule.config.for / 1000,
          keepFiringForSeconds: rule.config.keepFiringFor / 1000,
          labels: rule.config.labels,
          annotations: rule.config.annotations,
          state:
            active.firing > 0
              ? ('firing' as const)
              : active.pending > 0
                ? ('pending' as const)
                : ('inactive' as const),
          activeAlerts: active,
          health: rule.health,
          lastError: rule.lastError,
          lastEvaluation: rule.lastEvaluation,
          evaluationMs: rule.evaluationMs,
        };
      });
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/silences',
      tags: ['silences'],
      summary: 'Silences, newest first',
      responses: { 200: json(SilenceList, 'Silences'), ...errors },
    }),
    (c) => {
      const now = Date.now();
      return c.json(
        {
          items: deps
            .alerts()
            .silences.listSilences()
            .map((s) => silenceView(s, now)),
        },
        200,
      );
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/silences',
      tags: ['silences'],
      summary:
        'Create a silence: matchers, start, end (or duration, or until the alerts resolve), author and comment',
      request: { body: { content: { 'application/json': { schema: SilenceCreate } }, required: true } },
      responses: { 201: json(SilenceView, 'Created'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const service = deps.alerts();
      const startsAt = toMs(body.startsAt);
      const duration = durationOf(body.duration, 'duration');
      const endsAt =
        toMs(body.endsAt) ?? (duration !== undefined ? (startsAt ?? Date.now()) + duration : undefined);
      const matchers = body.matchers.map((text, i) => {
        try {
          return parseMatcher(text);
        } catch (error) {
          throw new InputError((error as Error).message, `matchers[${i}]`);
        }
      });
      const silence = await service.silences.createSilence(
        {
          matchers: body.matchers,
          startsAt,
          endsAt,
          untilResolved: body.untilResolved,
          createdBy: actorOf(c, body.createdBy),
          comment: body.comment,
        },
        service.matching((labels) => matchesAll(matchers, labels)),
      );
      await service.refresh();
      return c.json(silenceView(silence, Date.now()), 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/silences/{id}',
      tags: ['silences'],
      summary: 'Expire a silence now',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: json(SilenceView, 'Expired'), 409: json(ErrorBody, 'Already expired'), ...errors },
    }),
    async (c) => {
      const service = deps.alerts();
      const silence = await service.silences.expireSilence(c.req.valid('param').id);
      await service.refresh();
      return c.json(silenceView(silence, Date.now()), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/maintenance',
      tags: ['maintenance'],
      summary: 'Maintenance windows (from the config and the API), with whether each is active now',
      responses: { 200: json(MaintenanceList, 'Windows'), ...errors },
    }),
    (c) => {
      const now = Date.now();
      return c.json(
        {
          items: deps
            .alerts()
            .silences.listWindows()
            .map((w) => maintenanceView(w, now)),
        },
        200,
      );
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/maintenance',
      tags: ['maintenance'],
      summary:
        'Create a maintenance window: one-off (start and end or duration) or recurring (cron, duration, time zone)',
      request: { body: { content: { 'application/json': { schema: MaintenanceCreate } }, required: true } },
      responses: { 201: json(MaintenanceView, 'Created'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const service = deps.alerts();
      const startsAt = toMs(body.startsAt);
      const durationMs = durationOf(body.duration, 'duration');
      const endsAt =
        toMs(body.endsAt) ??
        (body.schedule === undefined && durationMs !== undefined && startsAt !== undefined
          ? startsAt + durationMs
          : undefined);
      const window = await service.silences.createWindow({
        name: body.name,
        services: body.services,
        matchers: body.matchers,
        startsAt,
        endsAt,
        schedule: body.schedule,
        durationMs,
        timezone: body.timezone,
        comment: body.comment,
        createdBy: actorOf(c, body.createdBy),
      });
      await service.refresh();
      return c.json(maintenanceView(window, Date.now()), 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/maintenance/{id}',
      tags: ['maintenance'],
      summary: 'End a maintenance window made through the API',
      request: { params: z.object({ id: z.string() }) },
      responses: {
        200: json(MaintenanceView, 'Ended'),
        409: json(ErrorBody, 'From the config file'),
        ...errors,
      },
    }),
    async (c) => {
      const service = deps.alerts();
      const window = await service.silences.expireWindow(c.req.valid('param').id);
      await service.refresh();
      return c.json(maintenanceView(window, Date.now()), 200);
    },
  );

  return router;
}
