import { z } from 'zod';

export const AlertSeverity = z.enum(['critical', 'warning', 'info']);
export const AlertState = z.enum(['pending', 'firing', 'resolved']);

export const SuppressedBy = z.object({
  silences: z.array(z.string()).describe('ids of silences that match'),
  inhibitedBy: z.array(z.string()).describe('fingerprints of firing alerts that inhibit this one'),
  maintenance: z.array(z.string()).describe('names of active maintenance windows'),
});

export const AlertView = z.object({
  fingerprint: z.string(),
  alertname: z.string(),
  severity: z.string(),
  service: z.string().nullable(),
  state: AlertState,
  source: z.enum(['rule', 'external']),
  rule: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  value: z.number().nullable(),
  activeAt: z.number().int().describe('condition first held (pending since), epoch ms'),
  firedAt: z.number().int().nullable(),
  resolvedAt: z.number().int().nullable(),
  generatorUrl: z.string(),
  suppressed: z.boolean(),
  suppressedBy: SuppressedBy,
});
export type AlertView = z.infer<typeof AlertView>;

export const AlertList = z.object({ items: z.array(AlertView), total: z.number().int() });

export const AlertHistoryEntry = z.object({
  id: z.number().int(),
  fingerprint: z.string(),
  at: z.number().int(),
  state: z.enum(['pending', 'firing', 'resolved', 'inactive']),
  alertname: z.string(),
  severity: z.string(),
  service: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  value: z.number().nullable(),
  summary: z.string(),
});
export const AlertHistoryList = z.object({
  items: z.array(AlertHistoryEntry),
  nextCursor: z.string().nullable(),
});

export const RuleView = z.object({
  id: z.string().describe('alert name and a hash of the rule; two rules may share an alert name'),
  alert: z.string(),
  source: z.enum(['default', 'config']),
  severity: AlertSeverity,
  expr: z.string().describe('the query with $window expanded'),
  windowSeconds: z.number(),
  forSeconds: z.number(),
  keepFiringForSeconds: z.number(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  state: z.enum(['inactive', 'pending', 'firing']),
  activeAlerts: z.object({ pending: z.number().int(), firing: z.number().int() }),
  health: z.enum(['unknown', 'ok', 'err']),
  lastError: z.string().nullable(),
  lastEvaluation: z.number().int().nullable(),
  evaluationMs: z.number().nullable(),
});
export const RuleList = z.object({ items: z.array(RuleView) });

export const SilenceView = z.object({
  id: z.string(),
  matchers: z.array(z.string()),
  startsAt: z.number().int(),
  endsAt: z.number().int().nullable(),
  untilResolved: z.boolean(),
  status: z.enum(['pending', 'active', 'expired']),
  createdBy: z.string(),
  comment: z.string(),
  createdAt: z.number().int(),
  expiredAt: z.number().int().nullable(),
});
export type SilenceView = z.infer<typeof SilenceView>;
export const SilenceList = z.object({ items: z.array(SilenceView) });

const Time = z.union([z.number().int(), z.iso.datetime({ offset: true })]).describe('epoch ms or ISO 8601');
const Duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d|w)$/, 'write a duration like 30m, 2h or 1d');

export const SilenceCreate = z.object({
  matchers: z.array(z.string()).min(1, 'give at least one matcher, e.g. service="shop"'),
  startsAt: Time.optional(),
  endsAt: Time.optional(),
  duration: Duration.optional().describe('instead of endsAt'),
  untilResolved: z.boolean().optional().describe('end when the alerts matching now have resolved'),
  createdBy: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
  comment: z.string().min(1),
});
export type SilenceCreate = z.infer<typeof SilenceCreate>;

export const MaintenanceView = z.object({
  id: z.string(),
  name: z.string(),
  source: z.enum(['config', 'api']),
  services: z.array(z.string()),
  matchers: z.array(z.string()),
  startsAt: z.number().int().nullable(),
  endsAt: z.number().int().nullable(),
  schedule: z.string().nullable(),
  durationSeconds: z.number().nullable(),
  timezone: z.string(),
  comment: z.string(),
  active: z.boolean(),
  nextStart: z.number().int().nullable(),
  createdBy: z.string(),
  createdAt: z.number().int(),
  expiredAt: z.number().int().nullable(),
});
export type MaintenanceView = z.infer<typeof MaintenanceView>;
export const MaintenanceList = z.object({ items: z.array(MaintenanceView) });

export const MaintenanceCreate = z.object({
  name: z.string().min(1),
  services: z.array(z.string()).optional(),
  matchers: z.array(z.string()).optional(),
  startsAt: Time.optional(),
  endsAt: Time.optional(),
  duration: Duration.optional().describe('with startsAt instead of endsAt, or with schedule'),
  schedule: z.string().optional().describe('cron expression for a recurring window'),
  timezone: z.string().optional(),
  comment: z.string().optional(),
  createdBy: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
});
export type MaintenanceCreate = z.infer<typeof MaintenanceCreate>;

/** The body Prometheus POSTs to Alertmanager's /api/v2/alerts. */
export const PostableAlerts = z.array(
  z
    .object({
      labels: z
        .record(z.string(), z.string())
        .refine(
          (labels) => typeof labels.alertname === 'string' && labels.alertname !== '',
          'labels.alertname is required',
        ),
      annotations: z.record(z.string(), z.string()).optional(),
      startsAt: z.iso.datetime({ offset: true }).optional(),
      endsAt: z.iso.datetime({ offset: true }).optional(),
      generatorURL: z.string().optional(),
    })
    .refine((a) => !a.startsAt || !a.endsAt || Date.parse(a.startsAt) <= Date.parse(a.endsAt), {
      message: 'startsAt must not be after endsAt',
      path: ['startsAt'],
    }),
);

/** Alertmanager's webhook (version 4) payload. */
export const AlertmanagerWebhook = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()),
  commonLabels: z.record(z.string(), z.string()),
  commonAnnotations: z.record(z.string(), z.string()),
  externalURL: z.string(),
  truncatedAlerts: z.number().int().optional(),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels: z.record(z.string(), z.string()),
      annotations: z.record(z.string(), z.string()),
      startsAt: z.string(),
      endsAt: z.string(),
      generatorURL: z.string(),
      fingerprint: z.string(),
    }),
  ),
});
