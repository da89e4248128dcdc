import { z } from 'zod';
import { durationMs } from './duration.schema.js';
import { matcherList } from './alerting.schema.js';

const url = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const receiverSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Send a notification when a group resolves (Alertmanager's send_resolved). */
    sendResolved: z.boolean().default(true),
    webhook: z
      .strictObject({
        url,
        /** `opsbook` (documented JSON) or `alertmanager` (webhook v4 payload, for existing receivers). */
        format: z.enum(['opsbook', 'alertmanager']).default('opsbook'),
        headers: z.record(z.string(), z.string()).default({}),
      })
      .optional(),
    slack: z.strictObject({ url, channel: z.string().optional() }).optional(),
    teams: z.strictObject({ url }).optional(),
    email: z
      .strictObject({
        to: z.array(z.email()).min(1),
        from: z.email(),
        smtp: z.strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).default(587),
          /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
          secure: z.boolean().default(false),
          /** Refuse to send without STARTTLS. */
          requireTLS: z.boolean().default(false),
          user: z.string().optional(),
          password: z.string().optional(),
        }),
      })
      .optional(),
    pagerduty: z
      .strictObject({
        routingKey: z.string().min(1),
        url: url.default('https://events.pagerduty.com/v2/enqueue'),
      })
      .optional(),
  })
  .superRefine((receiver, ctx) => {
    const channels = (['webhook', 'slack', 'teams', 'email', 'pagerduty'] as const).filter(
      (c) => receiver[c],
    );
    if (channels.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: 'a receiver needs a channel: webhook, slack, teams, email or pagerduty',
      });
  });

export interface RouteInput {
  receiver?: string;
  matchers?: string[];
  groupBy?: string[];
  groupWait?: string | number;
  groupInterval?: string | number;
  repeatInterval?: string | number;
  continue?: boolean;
  sendResolvedWhenSilenced?: boolean;
  routes?: RouteInput[];
}

export interface RouteConfig {
  receiver?: string;
  matchers: string[];
  groupBy?: string[];
  groupWait?: number;
  groupInterval?: number;
  repeatInterval?: number;
  continue: boolean;
  /** Also tell receivers when a silenced alert resolves (Alertmanager #226). */
  sendResolvedWhenSilenced?: boolean;
  routes: RouteConfig[];
}

export const routeSchema: z.ZodType<RouteConfig, RouteInput> = z.lazy(() =>
  z.strictObject({
    receiver: z.string().optional(),
    matchers: matcherList,
    groupBy: z.array(z.string()).optional(),
    groupWait: durationMs.optional(),
    groupInterval: durationMs.optional(),
    repeatInterval: durationMs.optional(),
    continue: z.boolean().default(false),
    sendResolvedWhenSilenced: z.boolean().optional(),
    routes: z.array(routeSchema).default([]),
  }),
);

/** Alertmanager's defaults: group_wait 30s, group_interval 5m, repeat_interval 4h. */
export const ROUTE_DEFAULTS = {
  groupBy: ['alertname', 'service'],
  groupWait: 30_000,
  groupInterval: 300_000,
  repeatInterval: 4 * 3_600_000,
  sendResolvedWhenSilenced: false,
};

export const notificationsSchema = z
  .strictObject({
    receivers: z.array(receiverSchema).default([]),
    route: routeSchema.optional(),
    /** Base URL of this Opsbook for links in notifications. */
    externalUrl: z.string().optional(),
  })
  .prefault({})
  .superRefine((config, ctx) => {
    const names = new Set(config.receivers.map((r) => r.name));
    config.receivers.forEach((r, i) => {
      if (config.receivers.findIndex((o) => o.name === r.name) !== i)
        ctx.addIssue({
          code: 'custom',
          path: ['receivers', i, 'name'],
          message: `duplicate receiver name "${r.name}"`,
        });
    });
    const visit = (route: RouteConfig, path: (string | number)[]) => {
      if (route.receiver && !names.has(route.receiver))
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'receiver'],
          message: `no receiver named "${route.receiver}"; define it under notifications.receivers`,
        });
      route.routes.forEach((child, i) => visit(child, [...path, 'routes', i]));
    };
    if (config.route) {
      if (!config.route.receiver)
        ctx.addIssue({
          code: 'custom',
          path: ['route', 'receiver'],
          message: 'the root route needs a receiver',
        });
      visit(config.route, ['route']);
    }
  });

export type NotificationsConfig = z.output<typeof notificationsSchema>;
export type ReceiverConfig = NotificationsConfig['receivers'][number];
