import { z } from 'zod';

export const CheckRole = z.enum(['liveness', 'readiness', 'startup']);
export const ProbeKind = z.enum(['http', 'tcp', 'tls', 'dns', 'postgres']);
export const CheckHealth = z.enum(['unknown', 'healthy', 'unhealthy']);
export const ProbeStatus = z.enum(['up', 'down']);

export const ProbeTiming = z.object({
  initialDelaySeconds: z.number().int(),
  periodSeconds: z.number().int(),
  timeoutSeconds: z.number().int(),
  successThreshold: z.number().int(),
  failureThreshold: z.number().int(),
});

export const LastResult = z.object({
  at: z.number().int().describe('epoch milliseconds'),
  status: ProbeStatus,
  latencyMs: z.number(),
  message: z.string(),
});

export const CheckView = z.object({
  id: z.string().describe('service/check'),
  service: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  kind: ProbeKind,
  role: CheckRole,
  target: z.string(),
  timing: ProbeTiming,
  status: CheckHealth,
  since: z.number().int().nullable().describe('when the status last changed, epoch ms'),
  consecutiveSuccesses: z.number().int(),
  consecutiveFailures: z.number().int(),
  lastResult: LastResult.nullable(),
});
export type CheckView = z.infer<typeof CheckView>;

export const CheckDetail = CheckView.extend({ spec: z.record(z.string(), z.unknown()) });
export type CheckDetail = z.infer<typeof CheckDetail>;

export const CheckList = z.object({
  items: z.array(CheckView),
  total: z.number().int(),
  nextCursor: z.string().nullable(),
});
export type CheckList = z.infer<typeof CheckList>;

export const CheckResult = z.object({
  at: z.number().int(),
  status: ProbeStatus,
  latencyMs: z.number(),
  message: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type CheckResult = z.infer<typeof CheckResult>;

export const CheckResultList = z.object({ checkId: z.string(), items: z.array(CheckResult) });

export const StatsWindow = z.enum(['1h', '24h', '7d', '30d']);

export const CheckStats = z.object({
  checkId: z.string(),
  window: StatsWindow,
  from: z.number().int(),
  to: z.number().int(),
  total: z.number().int(),
  failures: z.number().int(),
  availability: z.number().nullable().describe('percent of probe runs that were up'),
  latency: z.object({
    avg: z.number().nullable(),
    p50: z.number().nullable(),
    p95: z.number().nullable(),
    p99: z.number().nullable(),
  }),
});
export type CheckStats = z.infer<typeof CheckStats>;

export const ProbeRun = z.object({
  checkId: z.string(),
  status: ProbeStatus,
  latencyMs: z.number(),
  message: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type ProbeRun = z.infer<typeof ProbeRun>;
