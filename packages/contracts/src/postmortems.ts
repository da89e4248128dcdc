import { z } from 'zod';
import { IncidentSeverity, IncidentStage } from './incidents.js';

export const PostmortemStatus = z.enum(['draft', 'in-review', 'published']);
export const ActionItemPriority = z.enum(['high', 'medium', 'low']);
export const ActionItemStatus = z.enum(['open', 'done', 'wont-do']);

const actor = z
  .string()
  .min(1)
  .optional()
  .describe(
    'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
  );
const text = z.string().max(100_000);
/** A day means the end of that day in UTC: an item due 2026-12-01 is overdue from 2026-12-02. */
const DueAt = z
  .union([z.number().int(), z.iso.datetime({ offset: true }), z.iso.date()])
  .nullable()
  .describe('epoch ms, ISO 8601 time, or a day (YYYY-MM-DD: the end of that day, UTC); null clears it');

export const ActionItemView = z.object({
  id: z.string().describe('AI-<n>'),
  incidentId: z.string(),
  title: z.string(),
  owner: z.string(),
  dueAt: z.number().nullable(),
  priority: ActionItemPriority,
  status: ActionItemStatus,
  link: z.string().nullable().describe('a ticket or pull request'),
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
  doneAt: z.number().nullable().describe('when it became done or wont-do'),
  doneBy: z.string().nullable(),
  overdue: z.boolean().describe('open and past its due time'),
});
export const ActionItemList = z.object({ items: z.array(ActionItemView), total: z.number() });

export const ActionItemCreate = z.object({
  title: z.string().trim().min(1).max(300),
  owner: z.string().trim().min(1).describe('the person who sees it through'),
  dueAt: DueAt.optional(),
  priority: ActionItemPriority.default('medium'),
  link: z
    .url({ protocol: /^https?$/ })
    .nullable()
    .optional(),
  actor,
});
export const ActionItemUpdate = z.object({
  title: z.string().trim().min(1).max(300).optional(),
  owner: z.string().trim().min(1).optional(),
  dueAt: DueAt.optional(),
  priority: ActionItemPriority.optional(),
  status: ActionItemStatus.optional(),
  link: z
    .url({ protocol: /^https?$/ })
    .nullable()
    .optional(),
  actor,
});

export const PostmortemLessons = z.object({
  wentWell: z.string(),
  wentWrong: z.string(),
  gotLucky: z.string().describe('where we got lucky'),
});

export const PostmortemView = z.object({
  incidentId: z.string(),
  status: PostmortemStatus,
  summary: z.string(),
  impact: z.string(),
  rootCause: z.string(),
  trigger: z.string(),
  resolution: z.string(),
  lessons: PostmortemLessons,
  author: z.string().nullable(),
  version: z.number().int().describe('send it back in PUT to refuse overwriting someone else’s change'),
  createdAt: z.number(),
  createdBy: z.string(),
  updatedAt: z.number(),
  updatedBy: z.string(),
  publishedAt: z.number().nullable(),
  publishedBy: z.string().nullable(),
  required: z.boolean().describe('the incident’s severity needs a published post-mortem before closing'),
  dueAt: z.number().nullable().describe('publish by then: resolved + incidents.postmortem.dueWithin'),
  overdue: z.boolean(),
  actionItems: z.array(ActionItemView),
});

export const PostmortemUpdate = z.object({
  status: PostmortemStatus.optional(),
  summary: text.optional(),
  impact: text.optional(),
  rootCause: text.optional(),
  trigger: text.optional(),
  resolution: text.optional(),
  lessons: z
    .object({ wentWell: text.optional(), wentWrong: text.optional(), gotLucky: text.optional() })
    .optional(),
  author: z.string().min(1).nullable().optional(),
  version: z.number().int().optional().describe('the version read; a newer one answers 409'),
  actor,
});

export const DurationStats = z
  .object({
    mean: z.number(),
    median: z.number(),
    p90: z.number(),
  })
  .nullable()
  .describe('milliseconds; null when no incident has the time');

export const TargetCompliance = z.object({
  met: z.number(),
  breached: z.number(),
  pending: z.number().describe('still inside the target'),
  compliance: z.number().nullable().describe('percent of met among met and breached'),
});

export const IncidentStats = z.object({
  count: z.number(),
  acknowledged: z.number(),
  resolved: z.number(),
  mtta: DurationStats,
  mttr: DurationStats,
  response: TargetCompliance,
  resolution: TargetCompliance.extend({ noTarget: z.number() }),
});

export const ReportedIncident = z.object({
  id: z.string(),
  title: z.string(),
  severity: IncidentSeverity,
  stage: IncidentStage,
  services: z.array(z.string()),
  createdAt: z.number(),
  acknowledgedAt: z.number().nullable(),
  resolvedAt: z.number().nullable(),
  timeToAcknowledge: z.number().nullable(),
  timeToResolve: z.number().nullable(),
  response: z.enum(['met', 'breached', 'pending']),
  resolution: z.enum(['met', 'breached', 'pending', 'none']),
  postmortem: z.enum(['published', 'in-review', 'draft', 'missing']),
});

export const IncidentReport = z.object({
  from: z.number(),
  to: z.number(),
  generatedAt: z.number(),
  filters: z.object({ severity: IncidentSeverity.nullable(), service: z.string().nullable() }),
  total: IncidentStats,
  bySeverity: z.array(IncidentStats.extend({ severity: IncidentSeverity })),
  byService: z.array(
    IncidentStats.extend({ service: z.string().nullable().describe('null: incidents with no service') }),
  ),
  actionItems: z.object({ open: z.number(), overdue: z.number(), done: z.number(), wontDo: z.number() }),
  postmortems: z.object({
    required: z.number(),
    published: z.number(),
    overdue: z.number().describe('required, not published, past due'),
  }),
  incidents: z.array(ReportedIncident),
});

export type PostmortemStatus = z.infer<typeof PostmortemStatus>;
export type ActionItemPriority = z.infer<typeof ActionItemPriority>;
export type ActionItemStatus = z.infer<typeof ActionItemStatus>;
export type ActionItemView = z.infer<typeof ActionItemView>;
export type ActionItemCreate = z.infer<typeof ActionItemCreate>;
export type ActionItemUpdate = z.infer<typeof ActionItemUpdate>;
export type PostmortemView = z.infer<typeof PostmortemView>;
export type PostmortemUpdate = z.infer<typeof PostmortemUpdate>;
export type DurationStats = z.infer<typeof DurationStats>;
export type TargetCompliance = z.infer<typeof TargetCompliance>;
export type IncidentStats = z.infer<typeof IncidentStats>;
export type ReportedIncident = z.infer<typeof ReportedIncident>;
export type IncidentReport = z.infer<typeof IncidentReport>;
