import { z } from 'zod';

export const RunbookRunStatus = z.enum([
  'running',
  'waiting',
  'succeeded',
  'completed_with_failures',
  'failed',
]);
export const RunbookStepStatus = z.enum([
  'pending',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'timed_out',
  'rejected',
  'skipped',
]);

export const RunbookStepView = z.object({
  id: z.string(),
  title: z.string(),
  kind: z.string(),
  phase: z.enum(['investigation', 'resolution']),
  status: RunbookStepStatus,
  destructive: z.boolean(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  deadline: z.number().nullable().describe('when a waiting approval times out'),
  message: z.string(),
  evidence: z.record(z.string(), z.unknown()).describe('redacted output of the step'),
  actor: z.string().nullable().describe('who ticked, approved or rejected it'),
});

export const RunbookRunView = z.object({
  id: z.string(),
  runbookId: z.string(),
  title: z.string(),
  status: RunbookRunStatus,
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  trigger: z.record(z.string(), z.unknown()).describe('incident id, alert labels: data only'),
  startedBy: z.string(),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
  steps: z.array(RunbookStepView),
});

export const RunbookAuditEntry = z.object({
  at: z.number(),
  actor: z.string(),
  action: z.string(),
  runId: z.string(),
  stepId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});

export const StartRunbookRequest = z.object({
  runbookId: z.string(),
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  trigger: z.record(z.string(), z.unknown()).default({}),
});

export type RunbookRunStatus = z.infer<typeof RunbookRunStatus>;
export type RunbookStepStatus = z.infer<typeof RunbookStepStatus>;
export type RunbookStepView = z.infer<typeof RunbookStepView>;
export type RunbookRunView = z.infer<typeof RunbookRunView>;
export type RunbookAuditEntry = z.infer<typeof RunbookAuditEntry>;
export type StartRunbookRequest = z.infer<typeof StartRunbookRequest>;
