import { z } from 'zod';
import { durationMs } from './duration.schema.js';
import { WEEKDAYS } from '../oncall/schedule.js';
import { isTimeZone, parseDate, parseDateTime } from '../oncall/zoned-time.js';

const id = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, 'use lowercase letters, digits, dots, dashes and underscores')
  .max(63);

const personSchema = z.strictObject({
  id,
  name: z.string().min(1),
  email: z.email().optional(),
  /** Receivers (notifications.receivers) a page to this person is delivered to. */
  notify: z.array(z.string().min(1)).min(1, 'name at least one receiver from notifications.receivers'),
});

const timeZone = z
  .string()
  .refine(isTimeZone, {
    error: (issue) => `"${String(issue.input)}" is not an IANA time zone; write e.g. Europe/Berlin or UTC`,
  })
  .default('UTC');

const rotationSchema = z.strictObject({
  type: z.enum(['daily', 'weekly']),
  /** Local wall-clock time in the schedule's zone. */
  handoff: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'write the handoff time as HH:MM, e.g. 09:00')
    .default('09:00'),
  handoffDay: z.enum(WEEKDAYS).default('monday'),
  start: z
    .string()
    .refine((text) => parseDate(text) !== undefined, 'write the start as a date, e.g. 2026-01-05'),
  participants: z.array(z.string().min(1)).min(1, 'a rotation needs at least one participant (a person id)'),
});

const configOverrideSchema = z.strictObject({
  person: z.string().min(1),
  /** ISO 8601; without an offset it is wall-clock time in the schedule's zone. */
  start: z.string(),
  end: z.string(),
});

const scheduleSchema = z
  .strictObject({
    id,
    name: z.string().optional(),
    timeZone,
    rotation: rotationSchema,
    overrides: z.array(configOverrideSchema).default([]),
  })
  .transform((schedule, ctx) => {
    const overrides = schedule.overrides.map((o, index) => {
      const start = parseDateTime(o.start, schedule.timeZone);
      const end = parseDateTime(o.end, schedule.timeZone);
      for (const [key, value, text] of [
        ['start', start, o.start],
        ['end', end, o.end],
      ] as const)
        if (value === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['overrides', index, key],
            message: `"${text}" is not a date-time; write e.g. 2026-03-02T09:00 (in the schedule's zone) or 2026-03-02T08:00Z`,
          });
      if (start !== undefined && end !== undefined && end <= start)
        ctx.addIssue({
          code: 'custom',
          path: ['overrides', index, 'end'],
          message: 'the end must be after the start',
        });
      return { person: o.person, start: start ?? 0, end: end ?? 0 };
    });
    return { ...schedule, overrides };
  });

const targetSchema = z
  .strictObject({ schedule: z.string().min(1).optional(), person: z.string().min(1).optional() })
  .refine((t) => (t.schedule === undefined) !== (t.person === undefined), {
    error: 'name one schedule or one person: { schedule: primary } or { person: alice }',
  });

const MIN_ESCALATE_AFTER = 60_000;

const levelSchema = z.strictObject({
  notify: z.array(targetSchema).min(1, 'a level notifies at least one schedule or person'),
  /** Page the next level when nobody has acknowledged this long after this level was paged. */
  escalateAfter: durationMs
    .refine((ms) => ms >= MIN_ESCALATE_AFTER, 'escalate after at least 1m')
    .prefault('30m'),
});

const policySchema = z.strictObject({
  id,
  levels: z.array(levelSchema).min(1, 'a policy needs at least one level'),
  /** Times the whole chain runs again after the last level; 0 runs it once. */
  repeat: z.number().int().min(0).max(9).default(0),
  /** Incidents of these services use this policy. */
  services: z.array(z.string().min(1)).default([]),
});

export const oncallSchema = z
  .strictObject({
    people: z.array(personSchema).default([]),
    schedules: z.array(scheduleSchema).default([]),
    escalationPolicies: z.array(policySchema).default([]),
    /** The policy for incidents whose services no policy names; without it they page nobody. */
    defaultPolicy: z.string().optional(),
  })
  .prefault({})
  .superRefine((config, ctx) => {
    const people = new Set(config.people.map((p) => p.id));
    const schedules = new Set(config.schedules.map((s) => s.id));
    const policies = new Set(config.escalationPolicies.map((p) => p.id));
    const known = (set: Set<string>) => [...set].join(', ') || 'none yet';
    unique(config.people, 'people', 'person', ctx);
    unique(config.schedules, 'schedules', 'schedule', ctx);
    unique(config.escalationPolicies, 'escalationPolicies', 'policy', ctx);
    const person = (name: string, path: (string | number)[]) => {
      if (!people.has(name))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no person "${name}" in oncall.people (known: ${known(people)})`,
        });
    };
    config.schedules.forEach((s, i) => {
      s.rotation.participants.forEach((p, j) => person(p, ['schedules', i, 'rotation', 'participants', j]));
      s.overrides.forEach((o, j) => person(o.person, ['schedules', i, 'overrides', j, 'person']));
    });
    const covered = new Map<string, string>();
    config.escalationPolicies.forEach((policy, i) => {
      policy.levels.forEach((level, j) =>
        level.notify.forEach((target, k) => {
          const path = ['escalationPolicies', i, 'levels', j, 'notify', k];
          if (target.person !== undefined) person(target.person, [...path, 'person']);
          if (target.schedule !== undefined && !schedules.has(target.schedule))
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'schedule'],
              message: `no schedule "${target.schedule}" in oncall.schedules (known: ${known(schedules)})`,
            });
        }),
      );
      policy.services.forEach((service, j) => {
        const other = covered.get(service);
        if (other !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['escalationPolicies', i, 'services', j],
            message: `service "${service}" already uses policy "${other}"; a service has one escalation policy`,
          });
        else covered.set(service, policy.id);
      });
    });
    if (config.defaultPolicy !== undefined && !policies.has(config.defaultPolicy))
      ctx.addIssue({
        code: 'custom',
        path: ['defaultPolicy'],
        message: `no escalation policy "${config.defaultPolicy}" in oncall.escalationPolicies (known: ${known(policies)})`,
      });
  });

function unique(items: { id: string }[], key: string, what: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.id))
      ctx.addIssue({
        code: 'custom',
        path: [key, index, 'id'],
        message: `duplicate ${what} id "${item.id}"`,
      });
    seen.add(item.id);
  });
}

/** People page through receivers, which live in another section: checked from the root schema. */
export function checkOncallReceivers(
  oncall: OncallConfig,
  receivers: readonly { name: string }[],
  ctx: z.RefinementCtx,
): void {
  const names = new Set(receivers.map((r) => r.name));
  oncall.people.forEach((person, i) =>
    person.notify.forEach((receiver, j) => {
      if (!names.has(receiver))
        ctx.addIssue({
          code: 'custom',
          path: ['oncall', 'people', i, 'notify', j],
          message: `no receiver named "${receiver}"; define it under notifications.receivers`,
        });
    }),
  );
}

export type OncallConfig = z.output<typeof oncallSchema>;
export type PersonConfig = OncallConfig['people'][number];
export type ScheduleConfig = OncallConfig['schedules'][number];
export type EscalationPolicyConfig = OncallConfig['escalationPolicies'][number];
export type EscalationLevelConfig = EscalationPolicyConfig['levels'][number];
