import { z } from 'zod';
import { durationMs } from './duration.schema.js';
import { parseMatcher } from '../alerts/matchers.js';
import { parseExpr } from '../telemetry/promql/parser.js';
import { validateTemplate } from '../alerts/template.js';
import { DEFAULT_RULE_NAMES } from '../alerts/default-rules.js';

/** Rule expressions may write [$window]; it stands for the rule's window (default 5m, guide 3.4). */
export function expandWindow(expr: string, windowMs: number): string {
  return expr.replaceAll('$window', `${Math.round(windowMs / 1000)}s`);
}

export const matcherList = z
  .array(z.string())
  .default([])
  .superRefine((list, ctx) => {
    list.forEach((text, index) => {
      try {
        parseMatcher(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: [index], message: (error as Error).message });
      }
    });
  });

/** Checked as a field, so its problems are listed even when other fields of the rule are wrong. */
const template = z.string().superRefine((text, ctx) => {
  const problem = validateTemplate(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const ruleSchema = z
  .strictObject({
    alert: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an alert name is letters, digits and _ (like HighErrorRate)'),
    /** A query in the PromQL subset; the alert fires for every series the expression returns. */
    expr: z.string().min(1),
    window: durationMs.prefault('5m'),
    for: durationMs.prefault('0s'),
    keepFiringFor: durationMs.prefault('0s'),
    severity: z.enum(['critical', 'warning', 'info']),
    labels: z.record(z.string(), template).default({}),
    annotations: z.record(z.string(), template).default({}),
  })
  .superRefine((rule, ctx) => {
    try {
      parseExpr(expandWindow(rule.expr, rule.window));
    } catch (error) {
      const position = (error as { position?: number }).position;
      ctx.addIssue({
        code: 'custom',
        path: ['expr'],
        message: `${(error as Error).message}${position !== undefined ? ` (at character ${position + 1})` : ''}`,
      });
    }
  });

const defaultRuleName = z.string().refine((name) => DEFAULT_RULE_NAMES.includes(name), {
  error: (issue) => `no default rule "${String(issue.input)}"; they are ${DEFAULT_RULE_NAMES.join(', ')}`,
});

export const inhibitRuleSchema = z.strictObject({
  sourceMatchers: matcherList,
  targetMatchers: matcherList,
  /** Labels that must be equal on source and target for the target to be muted. */
  equal: z.array(z.string()).default([]),
});

export const maintenanceSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Services muted during the window (their alerts carry a `service` label). */
    services: z.array(z.string()).default([]),
    /** Or any alerts matching these. */
    matchers: matcherList,
    /** A one-off window: ISO 8601 start and end. */
    start: z.iso.datetime({ offset: true }).optional(),
    end: z.iso.datetime({ offset: true }).optional(),
    /** A recurring window: cron expression, how long each lasts, and its time zone. */
    schedule: z.string().optional(),
    duration: durationMs.optional(),
    timezone: z.string().default('UTC'),
    comment: z.string().default(''),
  })
  .superRefine((window, ctx) => {
    const oneOff = window.start !== undefined || window.end !== undefined;
    const recurring = window.schedule !== undefined || window.duration !== undefined;
    if (oneOff === recurring)
      ctx.addIssue({ code: 'custom', message: 'give either start and end, or schedule and duration' });
    if (oneOff && (!window.start || !window.end))
      ctx.addIssue({ code: 'custom', message: 'a one-off window needs start and end' });
    if (recurring && (!window.schedule || window.duration === undefined))
      ctx.addIssue({ code: 'custom', message: 'a recurring window needs schedule (cron) and duration' });
    if (window.services.length === 0 && window.matchers.length === 0)
      ctx.addIssue({ code: 'custom', message: 'name the services (or matchers) the window mutes' });
    if (!isTimeZone(window.timezone))
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone "${window.timezone}"` });
  });

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const alertingSchema = z
  .strictObject({
    /** Guide 3.4: rules evaluate every minute. */
    evaluationInterval: durationMs.prefault('1m'),
    /** Alerts received without endsAt resolve after this, as in Alertmanager. */
    resolveTimeout: durationMs.prefault('5m'),
    /** The guide's section 3.3 rules, applied to every service; `false` or `{ disable: [names] }` to opt out. */
    defaultRules: z
      .union([z.boolean(), z.strictObject({ disable: z.array(defaultRuleName).default([]) })])
      .default(true),
    rules: z.array(ruleSchema).default([]),
    /** Default: a critical alert mutes the warnings and infos of the same service. */
    inhibitRules: z.array(inhibitRuleSchema).default([
      {
        sourceMatchers: ['severity="critical"'],
        targetMatchers: ['severity=~"warning|info"'],
        equal: ['service'],
      },
    ]),
    maintenance: z.array(maintenanceSchema).default([]),
  })
  .prefault({});

export type AlertingConfig = z.output<typeof alertingSchema>;
export type RuleConfig = AlertingConfig['rules'][number];
export type MaintenanceConfig = AlertingConfig['maintenance'][number];
