import { z } from 'zod';

export const OncallShiftView = z.object({
  person: z.string().describe('person id from oncall.people'),
  personName: z.string(),
  start: z.number().describe('epoch ms'),
  end: z.number().describe('epoch ms'),
  override: z.boolean().describe('taken by an override rather than the rotation'),
  overrideId: z
    .string()
    .nullable()
    .describe('id of the API override (null for the rotation and config overrides)'),
});

export const OncallScheduleNow = z.object({
  id: z.string(),
  name: z.string(),
  timeZone: z.string(),
  rotation: z.object({
    type: z.enum(['daily', 'weekly']),
    handoff: z.string().describe('HH:MM, local time in timeZone'),
    handoffDay: z.string().describe('weekly rotations hand off on this day'),
    start: z.string(),
    participants: z.array(z.string()),
  }),
  current: OncallShiftView.nullable().describe('who is on call now and until when; null for nobody'),
  next: OncallShiftView.nullable().describe('the next person to take over'),
});

export const OncallNow = z.object({ at: z.number(), items: z.array(OncallScheduleNow) });

export const OncallShiftList = z.object({
  schedule: z.string(),
  timeZone: z.string(),
  from: z.number(),
  to: z.number(),
  items: z.array(OncallShiftView),
});

const time = z
  .union([z.string().min(1), z.number().int()])
  .describe("ISO 8601 (without an offset: wall-clock time in the schedule's zone) or epoch ms");

export const OncallOverrideCreate = z.object({
  person: z.string().min(1).describe('person id from oncall.people'),
  start: time,
  end: time,
  actor: z
    .string()
    .min(1)
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
});

export const OncallOverrideView = z.object({
  id: z.string(),
  schedule: z.string(),
  person: z.string(),
  personName: z.string(),
  start: z.number(),
  end: z.number(),
  createdBy: z.string(),
  createdAt: z.number(),
  deletedAt: z.number().nullable(),
  deletedBy: z.string().nullable(),
});

export const EscalationTargetView = z.object({
  kind: z.enum(['schedule', 'person']),
  id: z.string(),
  name: z.string(),
  onCallNow: z
    .object({ id: z.string(), name: z.string() })
    .nullable()
    .describe('who this target pages right now; null when nobody is on call'),
});

export const EscalationPolicyView = z.object({
  id: z.string(),
  default: z.boolean().describe('oncall.defaultPolicy: incidents of services no policy names use it'),
  services: z.array(z.string()),
  repeat: z.number().int(),
  loops: z.number().int().describe('repeat + 1: how many times the chain runs'),
  levels: z.array(
    z.object({
      level: z.number().int(),
      escalateAfter: z.number().describe('ms without acknowledgement before the next level is paged'),
      targets: z.array(EscalationTargetView),
    }),
  ),
});

export const EscalationStatus = z.enum(['none', 'active', 'acknowledged', 'ended', 'exhausted']);

export const EscalationPageView = z.object({
  at: z.number(),
  level: z.number().int(),
  loop: z.number().int(),
  person: z.string().nullable().describe('null when the level found nobody to page'),
  personName: z.string().nullable(),
  via: z.string().describe('why this person, e.g. "on call for primary"'),
  receivers: z.array(z.string()),
  reason: z.enum(['opened', 'timeout', 'breach']),
  status: z.enum(['pending', 'sent', 'failed', 'nobody']),
  error: z.string().nullable(),
});

export const EscalationStateView = z.object({
  incidentId: z.string(),
  policy: z.string().nullable(),
  status: EscalationStatus,
  detail: z.string().describe('the state in a sentence'),
  level: z.number().int().describe('the level last paged; 0 before the first'),
  loop: z.number().int(),
  loops: z.number().int(),
  levels: z.number().int(),
  startedAt: z.number().nullable(),
  nextAt: z.number().nullable().describe('when the next level is paged (or the escalation ends), if active'),
  next: z
    .object({ level: z.number().int(), loop: z.number().int() })
    .nullable()
    .describe('what is paged at nextAt; null when nextAt ends the escalation'),
  history: z.array(EscalationPageView),
});

export type OncallShiftView = z.infer<typeof OncallShiftView>;
export type OncallScheduleNow = z.infer<typeof OncallScheduleNow>;
export type OncallNow = z.infer<typeof OncallNow>;
export type OncallShiftList = z.infer<typeof OncallShiftList>;
export type OncallOverrideCreate = z.infer<typeof OncallOverrideCreate>;
export type OncallOverrideView = z.infer<typeof OncallOverrideView>;
export type EscalationTargetView = z.infer<typeof EscalationTargetView>;
export type EscalationPolicyView = z.infer<typeof EscalationPolicyView>;
export type EscalationStatus = z.infer<typeof EscalationStatus>;
export type EscalationPageView = z.infer<typeof EscalationPageView>;
export type EscalationStateView = z.infer<typeof EscalationStateView>;
