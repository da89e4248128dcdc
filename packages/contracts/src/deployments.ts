// Deployments recorded by CI pipelines or people, and the watch window after each (guide 5.2:
// "monitor metrics for 30 minutes" after a deployment).
import { z } from 'zod';

export const DeploymentStatus = z.enum(['in_progress', 'succeeded', 'failed', 'rolled_back']);
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

const Time = z
  .union([z.number().int().nonnegative(), z.iso.datetime({ offset: true })])
  .describe('epoch ms or ISO 8601');

export const RecordDeploymentRequest = z.object({
  service: z.string().min(1).describe('a service configured under services:'),
  version: z.string().min(1).max(200).describe('what was deployed: a tag, a commit, a chart version'),
  environment: z.string().min(1).max(100).optional().describe("default: the service's environment"),
  description: z.string().max(4000).optional(),
  url: z
    .url({ protocol: /^https?$/, error: 'use an http:// or https:// link, e.g. to the pipeline run' })
    .max(2000)
    .optional(),
  status: DeploymentStatus.default('succeeded'),
  startedAt: Time.optional().describe('default: finishedAt, else now'),
  finishedAt: Time.optional().describe('default: now unless the status is in_progress'),
  by: z.string().min(1).max(200).optional().describe('who deployed (a signed-in caller is taken instead)'),
});
export type RecordDeploymentRequest = z.input<typeof RecordDeploymentRequest>;

export const UpdateDeploymentRequest = z.object({
  status: DeploymentStatus.optional(),
  finishedAt: Time.optional().describe('default: now when the status becomes final'),
  description: z.string().max(4000).optional(),
  url: z
    .url({ protocol: /^https?$/, error: 'use an http:// or https:// link, e.g. to the pipeline run' })
    .max(2000)
    .optional(),
});
export type UpdateDeploymentRequest = z.input<typeof UpdateDeploymentRequest>;

/** An alert that fired for the deployed service inside its watch window: a possible regression. */
export const DeploymentAlert = z.object({
  fingerprint: z.string(),
  alertname: z.string(),
  severity: z.string(),
  firedAt: z.number().int(),
  summary: z.string(),
});

export const DeploymentView = z.object({
  id: z.string(),
  service: z.string(),
  version: z.string(),
  environment: z.string(),
  description: z.string().nullable(),
  url: z.string().nullable(),
  status: DeploymentStatus,
  startedAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  by: z.string().nullable(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  watchUntil: z
    .number()
    .int()
    .nullable()
    .describe('finishedAt + deployments.watchFor; null while in progress (watched until it ends)'),
  watching: z.boolean().describe('in progress, or now before watchUntil'),
  alerts: z
    .array(DeploymentAlert)
    .describe('alerts that fired for the service between startedAt and watchUntil (or now), oldest first'),
});
export type DeploymentView = z.infer<typeof DeploymentView>;

export const DeploymentList = z.object({
  items: z.array(DeploymentView),
  nextCursor: z.string().nullable(),
});
export type DeploymentList = z.infer<typeof DeploymentList>;
