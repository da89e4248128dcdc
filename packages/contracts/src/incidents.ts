import { z } from 'zod';
import { OpsbookWebhookPayload } from './notifications.js';

export const IncidentSeverity = z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']);
export const IncidentStage = z.enum([
  'detection',
  'triage',
  'investigation',
  'resolution',
  'post-incident',
  'closed',
]);
export const TimelineKind = z.enum([
  'alert.firing',
  'alert.resolved',
  'stage',
  'note',
  'ack',
  'assign',
  'sla.breach',
  'runbook.step',
  'notification',
  'status',
  'escalation',
]);

export const StageChange = z.object({
  stage: IncidentStage,
  at: z.number().describe('epoch ms'),
  by: z.string(),
});

export const TimelineEntryView = z.object({
  id: z.number(),
  at: z.number().describe('epoch ms'),
  kind: TimelineKind,
  actor: z.string(),
  text: z.string(),
  data: z.record(z.string(), z.unknown()),
});

export const IncidentAlertView = z.object({
  fingerprint: z.string(),
  alertname: z.string(),
  labels: z.record(z.string(), z.string()),
  status: z.enum(['firing', 'resolved']),
  firstFiringAt: z.number(),
  resolvedAt: z.number().nullable(),
});

export const IncidentView = z.object({
  id: z.string().describe('INC-<n>'),
  title: z.string(),
  severity: IncidentSeverity,
  stage: IncidentStage,
  services: z.array(z.string()),
  commander: z.string().nullable(),
  roles: z.record(z.string(), z.string()),
  createdAt: z.number(),
  createdBy: z.string(),
  acknowledgedAt: z.number().nullable(),
  acknowledgedBy: z.string().nullable(),
  stageHistory: z.array(StageChange),
  resolvedAt: z.number().nullable(),
  closedAt: z.number().nullable(),
  responseDueAt: z.number(),
  responseBreachedAt: z.number().nullable(),
  resolutionDueAt: z.number().nullable(),
  resolutionBreachedAt: z.number().nullable(),
  alertsResolvedAt: z
    .number()
    .nullable()
    .describe('when the last linked alert resolved; null while any fires'),
  alerts: z.array(IncidentAlertView),
});

export const IncidentDetail = IncidentView.extend({ timeline: z.array(TimelineEntryView) });
export const IncidentList = z.object({ items: z.array(IncidentView), total: z.number() });

const actor = z
  .string()
  .min(1)
  .optional()
  .describe(
    'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
  );

export const IncidentCreate = z.object({
  title: z.string().min(1).max(300),
  severity: IncidentSeverity,
  services: z.array(z.string().min(1)).default([]),
  commander: z.string().min(1).optional(),
  actor,
});
export const IncidentActorBody = z.object({ actor });
export const IncidentAssign = z.object({
  role: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'a role is lowercase letters, digits and dashes, e.g. commander, scribe')
    .max(63),
  person: z.string().min(1),
  actor,
});
export const IncidentStageChange = z.object({ stage: IncidentStage, actor });
export const IncidentNote = z.object({ text: z.string().min(1).max(10_000), actor });

export type IncidentSeverity = z.infer<typeof IncidentSeverity>;
export type IncidentStage = z.infer<typeof IncidentStage>;
export type TimelineKind = z.infer<typeof TimelineKind>;
export type TimelineEntryView = z.infer<typeof TimelineEntryView>;
export type IncidentView = z.infer<typeof IncidentView>;
export type IncidentDetail = z.infer<typeof IncidentDetail>;

/** POST /incidents/{id}/status-updates: "communicate status" (guide 4.2) to the incident's channels. */
export const IncidentStatusUpdate = z.object({
  text: z.string().trim().min(1).max(4000),
  actor,
  receivers: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('receiver names from notifications.receivers; incidents.channels when omitted'),
});
export const IncidentStatusUpdateResult = z.object({
  incidentId: z.string(),
  text: z.string(),
  actor: z.string(),
  receivers: z.array(z.string()).describe('where it was queued; see GET /notifications?groupKey='),
  groupKey: z.string().describe('incident/<id>/status'),
});

/** What a notification about an incident (rather than an alert group) carries to every channel. */
export const IncidentMessage = z.object({
  id: z.string().describe('INC-<n>'),
  title: z.string(),
  severity: IncidentSeverity,
  stage: IncidentStage,
  commander: z.string().nullable(),
  services: z.array(z.string()),
  url: z.string().describe('{externalUrl}/incidents/<id>'),
  kind: z
    .enum(['page', 'status-update', 'acknowledged', 'resolved'])
    .describe('acknowledged and resolved follow a page, in the same group (incident/<id>/page)'),
  text: z.string().describe('the status update; for other kinds a sentence saying what happened'),
  actor: z.string().describe('who posted the update, acknowledged or resolved; opsbook for pages'),
  page: z
    .object({ target: z.string(), level: z.number().int(), loop: z.number().int() })
    .optional()
    .describe('who is paged, at which escalation level and loop (pages only)'),
});

/** The `opsbook` webhook body of an incident message: no alerts, and an `incident` object. */
export const OpsbookIncidentWebhookPayload = OpsbookWebhookPayload.extend({ incident: IncidentMessage });

export type IncidentStatusUpdate = z.infer<typeof IncidentStatusUpdate>;
export type IncidentStatusUpdateResult = z.infer<typeof IncidentStatusUpdateResult>;
export type IncidentMessage = z.infer<typeof IncidentMessage>;
export type OpsbookIncidentWebhookPayload = z.infer<typeof OpsbookIncidentWebhookPayload>;
