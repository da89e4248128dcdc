// Runbooks as code: one YAML file per runbook, parsed once at load with every problem reported.
// Commands are argv arrays written in the file; only enum/number/boolean parameters may appear in
// them, so no free text (from an alert, an incident or the API) can ever reach a command.
import { z } from 'zod';
import { parseMatcher } from '../alerts/matchers.js';
import { parseCondition } from '../checks/conditions.js';
import { durationMs } from '../config/duration.schema.js';
import { parseExpr } from '../telemetry/promql/parser.js';

const ID = /^[a-z0-9][a-z0-9_-]*$/;
/** `${name}` in a command argument or URL. */
export const PARAMETER_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

const parameterSchema = z
  .object({
    type: z.enum(['string', 'number', 'boolean', 'enum']),
    description: z.string().optional(),
    values: z.array(z.string()).min(1).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    required: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.type === 'enum' && !p.values)
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: 'an enum parameter needs its allowed values',
      });
    if (p.type !== 'enum' && p.values)
      ctx.addIssue({ code: 'custom', path: ['values'], message: 'values is only for enum parameters' });
    if (p.default !== undefined && checkParameter(p as RunbookParameter, p.default) !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: checkParameter(p as RunbookParameter, p.default)!,
      });
  });

const condition = z.string().superRefine((text, ctx) => {
  try {
    parseCondition(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const promql = z.string().superRefine((text, ctx) => {
  try {
    parseExpr(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid PromQL: ${(error as Error).message}` });
  }
});

const argv = z.array(z.string().min(1)).min(1);

const httpRequest = {
  url: z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  /** An env variable holding a bearer token (e.g. an Opsbook API token): sent, never stored or shown. */
  bearerTokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable')
    .optional(),
};

const base = {
  id: z.string().regex(ID, 'lowercase letters, digits, - and _'),
  title: z.string().min(1),
  description: z.string().optional(),
  phase: z.enum(['investigation', 'resolution']).default('investigation'),
  /** Omitted: the kind's default (stepTimeoutMs). */
  timeout: durationMs.optional(),
  continueOnFailure: z.boolean().default(false),
};

export const stepSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('manual'), checklist: z.array(z.string()).default([]) }).strict(),
  z.object({ ...base, kind: z.literal('approval'), role: z.string().default('operator') }).strict(),
  z
    .object({
      ...base,
      kind: z.literal('http'),
      ...httpRequest,
      conditions: z.array(condition).default(['[STATUS] < 400']),
    })
    .strict(),
  z.object({ ...base, kind: z.literal('check'), check: z.string().min(1) }).strict(),
  z
    .object({
      ...base,
      kind: z.literal('metrics'),
      query: promql,
      /** The step fails when any result sample satisfies `value op threshold`. */
      failIf: z
        .object({ op: z.enum(['>', '>=', '<', '<=', '==', '!=']), value: z.number() })
        .strict()
        .optional(),
    })
    .strict(),
  z
    .object({
      ...base,
      kind: z.literal('sql'),
      database: z.string().min(1),
      query: z.string().min(1),
      maxRows: z.number().int().positive().max(1000).default(100),
      /** The step fails when the query returns more rows than this (e.g. 0 blocking queries). */
      failIfRowsAbove: z.number().int().nonnegative().optional(),
    })
    .strict(),
  z.object({ ...base, kind: z.literal('shell'), command: argv }).strict(),
  z
    .object({
      ...base,
      kind: z.literal('action'),
      command: argv.optional(),
      request: z.object(httpRequest).strict().optional(),
      /** Always true: an action changes the world. */
      destructive: z.literal(true).default(true),
    })
    .strict()
    .refine((s) => (s.command === undefined) !== (s.request === undefined), {
      message: 'an action needs exactly one of command or request',
    }),
]);

export const runbookSchema = z
  .object({
    id: z.string().regex(ID, 'lowercase letters, digits, - and _'),
    title: z.string().min(1),
    description: z.string().default(''),
    triggers: z
      .object({
        alerts: z.array(z.string().min(1)).default([]),
        matchers: z
          .array(
            z.string().superRefine((text, ctx) => {
              try {
                parseMatcher(text);
              } catch (error) {
                ctx.addIssue({ code: 'custom', message: (error as Error).message });
              }
            }),
          )
          .default([]),
        manual: z.boolean().default(true),
      })
      .strict()
      .default({ alerts: [], matchers: [], manual: true }),
    parameters: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), parameterSchema).default({}),
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((runbook, ctx) => {
    const seen = new Set<string>();
    let approved = false;
    runbook.steps.forEach((step, index) => {
      if (seen.has(step.id))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'id'],
          message: `duplicate step id ${step.id}`,
        });
      seen.add(step.id);
      if (step.kind === 'approval') approved = true;
      if (step.kind === 'action' && !approved)
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'kind'],
          message: 'an action step must come after an approval step',
        });
      const templated: [string, string][] = [];
      if (step.kind === 'shell') step.command.forEach((a, i) => templated.push([`command.${i}`, a]));
      if (step.kind === 'action' && step.command)
        step.command.forEach((a, i) => templated.push([`command.${i}`, a]));
      if (step.kind === 'action' && step.request) templated.push(['request.url', step.request.url]);
      if (step.kind === 'http') templated.push(['url', step.url]);
      // Lookup keys into configured checks and databases may use any parameter: they name, never run.
      const lookups: [string, string][] = [];
      if (step.kind === 'check') lookups.push(['check', step.check]);
      if (step.kind === 'sql') lookups.push(['database', step.database]);
      for (const [key, text] of lookups)
        for (const match of text.matchAll(PARAMETER_REFERENCE))
          if (!runbook.parameters[match[1]!])
            ctx.addIssue({
              code: 'custom',
              path: ['steps', index, key],
              message: `\${${match[1]}} is not a parameter of this runbook`,
            });
      for (const [key, text] of templated) {
        for (const match of text.matchAll(PARAMETER_REFERENCE)) {
          const name = match[1]!;
          const parameter = runbook.parameters[name];
          const path = ['steps', index, ...key.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k))];
          if (!parameter)
            ctx.addIssue({ code: 'custom', path, message: `\${${name}} is not a parameter of this runbook` });
          else if (parameter.type === 'string')
            ctx.addIssue({
              code: 'custom',
              path,
              message: `\${${name}} is a free string parameter; only enum, number and boolean parameters may appear in commands and URLs`,
            });
        }
      }
    });
  });

export type Runbook = z.infer<typeof runbookSchema>;
export type RunbookStep = z.infer<typeof stepSchema>;
export type StepKind = RunbookStep['kind'];
export type RunbookParameter = z.infer<typeof parameterSchema>;
export type ParameterValue = string | number | boolean;

/** Default timeouts: approvals wait an hour, manual steps wait for a person indefinitely. */
export function stepTimeoutMs(step: RunbookStep): number | undefined {
  if (step.timeout !== undefined) return step.timeout;
  if (step.kind === 'manual') return undefined;
  if (step.kind === 'approval') return 60 * 60_000;
  return 30_000;
}

/** Undefined when the value fits the parameter, else why not. */
export function checkParameter(parameter: RunbookParameter, value: unknown): string | undefined {
  switch (parameter.type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && parameter.values?.includes(value)
        ? undefined
        : `must be one of ${parameter.values?.join(', ')}`;
  }
}

/** The parameters of a run: defaults applied, every value checked, unknown names refused. */
export function resolveParameters(
  runbook: Runbook,
  given: Record<string, unknown>,
): { ok: true; values: Record<string, ParameterValue> } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const values: Record<string, ParameterValue> = {};
  for (const name of Object.keys(given))
    if (!(name in runbook.parameters)) errors.push(`${name}: not a parameter of ${runbook.id}`);
  for (const [name, parameter] of Object.entries(runbook.parameters)) {
    const value = given[name] ?? parameter.default;
    if (value === undefined) {
      if (parameter.required) errors.push(`${name}: required`);
      continue;
    }
    const problem = checkParameter(parameter, value);
    if (problem) errors.push(`${name}: ${problem}`);
    else values[name] = value as ParameterValue;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values };
}

/** Replaces `${name}` with a validated parameter value; names were checked at load. */
export function interpolate(text: string, parameters: Record<string, ParameterValue>): string {
  return text.replace(PARAMETER_REFERENCE, (_, name: string) => {
    const value = parameters[name];
    if (value === undefined) throw new Error(`parameter ${name} has no value`);
    return String(value);
  });
}
