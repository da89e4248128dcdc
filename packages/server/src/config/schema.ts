import { z } from 'zod';
import {
  CERT_MIN_DAYS,
  DEFAULT_CONCURRENCY,
  DEFAULT_PORT,
  DEFAULT_RETENTION,
  DEFAULT_STORAGE_URL,
  PROBE_DEFAULTS,
} from './defaults.js';
import { durationMs } from './duration.schema.js';
import { parseCondition, placeholdersOf, type Placeholder } from '../checks/conditions.js';
import { metricsSchema } from './metrics.schema.js';
import { alertingSchema } from './alerting.schema.js';
import { notificationsSchema } from './notifications.schema.js';
import { runbooksSchema } from '../runbooks/runbooks.schema.js';
import { incidentsSchema } from './incidents.schema.js';
import { databaseSchema } from './databases.schema.js';
import { backupsSchema } from '../postgres/backup.schema.js';
import { checkOncallReceivers, oncallSchema } from './oncall.schema.js';
import { authSchema } from '../auth/auth.schema.js';
import { deploymentsSchema } from '../deployments/deployments.schema.js';

const slug = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'use lowercase letters, digits and dashes (like a Kubernetes name)',
  )
  .max(63);

const conditions = z
  .array(z.string())
  .optional()
  .superRefine((list, ctx) => {
    list?.forEach((text, index) => {
      try {
        parseCondition(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: [index], message: (error as Error).message });
      }
    });
  });

const port = z.number().int().min(1).max(65535);

export const httpProbeSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  /** Gatus-style conditions; when present they decide success instead of the 200-399 rule. */
  conditions,
  /** Kubernetes HTTPS probes skip verification; a monitor should not unless told to. */
  insecure: z.boolean().default(false),
  followRedirects: z.boolean().default(true),
  /** PEM file with extra trusted CA certificates (for private CAs). */
  ca: z.string().optional(),
});

export const tcpProbeSchema = z.strictObject({ host: z.string().min(1), port });

export const tlsProbeSchema = z.strictObject({
  host: z.string().min(1),
  port: port.default(443),
  serverName: z.string().optional(),
  ca: z.string().optional(),
  /** The probe is down when fewer days than this remain (guide 5.4: urgent at 7 days). */
  minDaysRemaining: z.number().min(0).default(CERT_MIN_DAYS),
  conditions,
});

export const dnsProbeSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'SOA']).default('A'),
  /** "ip" or "ip:port"; the system resolvers when omitted. */
  server: z.string().optional(),
  conditions,
});

export const postgresProbeSchema = z.strictObject({
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  /** Secrets come from ${ENV} or a file, never from the YAML itself (checked in load.ts). */
  password: z.string().optional(),
  passwordFile: z.string().optional(),
  query: z.string().default('SELECT 1'),
});

const PROBE_KINDS = ['http', 'tcp', 'tls', 'dns', 'postgres'] as const;

/** What each probe kind observes, so a condition on anything else is a config error, not a forever-down check. */
const OBSERVED: Record<'http' | 'tls' | 'dns', Placeholder[]> = {
  http: ['STATUS', 'BODY', 'RESPONSE_TIME', 'CONNECTED', 'CERTIFICATE_EXPIRATION'],
  tls: ['CONNECTED', 'CERTIFICATE_EXPIRATION', 'RESPONSE_TIME'],
  dns: ['DNS_RCODE', 'BODY', 'IP', 'RESPONSE_TIME'],
};

function safePlaceholders(text: string): Placeholder[] {
  try {
    return placeholdersOf(parseCondition(text));
  } catch {
    return []; // already reported by the conditions field itself
  }
}
export type ProbeKind = (typeof PROBE_KINDS)[number];

const timingField = z.number().int();

const checkInput = z.strictObject({
  name: slug,
  description: z.string().optional(),
  role: z.enum(['liveness', 'readiness', 'startup']).default('readiness'),
  initialDelaySeconds: timingField.min(0).optional(),
  periodSeconds: timingField.min(1).optional(),
  timeoutSeconds: timingField.min(1).optional(),
  successThreshold: timingField.min(1).optional(),
  failureThreshold: timingField.min(1).optional(),
  http: httpProbeSchema.optional(),
  tcp: tcpProbeSchema.optional(),
  tls: tlsProbeSchema.optional(),
  dns: dnsProbeSchema.optional(),
  postgres: postgresProbeSchema.optional(),
});

export const checkSchema = checkInput
  .superRefine((check, ctx) => {
    const kinds = PROBE_KINDS.filter((kind) => check[kind] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          kinds.length === 0
            ? 'a check needs one probe: http, tcp, tls, dns or postgres'
            : `a check has exactly one probe, found ${kinds.join(' and ')}`,
      });
    }
    for (const kind of ['http', 'tls', 'dns'] as const) {
      const list = check[kind]?.conditions ?? [];
      list.forEach((text, index) => {
        const unknown = safePlaceholders(text).filter((p) => !OBSERVED[kind].includes(p));
        if (unknown.length > 0)
          ctx.addIssue({
            code: 'custom',
            path: [kind, 'conditions', index],
            message: `a ${kind} probe never fills ${unknown.map((p) => `[${p}]`).join(', ')}; it fills ${OBSERVED[kind].map((p) => `[${p}]`).join(', ')}`,
          });
      });
    }
    // Kubernetes API validation: liveness and startup probes must use successThreshold 1.
    if (check.role !== 'readiness' && check.successThreshold !== undefined && check.successThreshold !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['successThreshold'],
        message: `must be 1 for a ${check.role} probe (as in Kubernetes)`,
      });
    }
  })
  .transform((check) => {
    const kind = PROBE_KINDS.find((k) => check[k] !== undefined) ?? 'http';
    const defaults = PROBE_DEFAULTS[check.role];
    return {
      name: check.name,
      description: check.description,
      role: check.role,
      timing: {
        initialDelaySeconds: check.initialDelaySeconds ?? defaults.initialDelaySeconds,
        periodSeconds: check.periodSeconds ?? defaults.periodSeconds,
        timeoutSeconds: check.timeoutSeconds ?? defaults.timeoutSeconds,
        successThreshold: check.successThreshold ?? defaults.successThreshold,
        failureThreshold: check.failureThreshold ?? defaults.failureThreshold,
      },
      probe: probeOf(check, kind),
    };
  });

function probeOf(check: z.infer<typeof checkInput>, kind: ProbeKind): ProbeSpec {
  switch (kind) {
    case 'http':
      return { kind, ...check.http! };
    case 'tcp':
      return { kind, ...check.tcp! };
    case 'tls':
      return { kind, ...check.tls! };
    case 'dns':
      return { kind, ...check.dns! };
    case 'postgres':
      return { kind, ...check.postgres! };
  }
}

export type HttpProbeSpec = { kind: 'http' } & z.infer<typeof httpProbeSchema>;
export type TcpProbeSpec = { kind: 'tcp' } & z.infer<typeof tcpProbeSchema>;
export type TlsProbeSpec = { kind: 'tls' } & z.infer<typeof tlsProbeSchema>;
export type DnsProbeSpec = { kind: 'dns' } & z.infer<typeof dnsProbeSchema>;
export type PostgresProbeSpec = { kind: 'postgres' } & z.infer<typeof postgresProbeSchema>;
export type ProbeSpec = HttpProbeSpec | TcpProbeSpec | TlsProbeSpec | DnsProbeSpec | PostgresProbeSpec;

export const serviceSchema = z
  .strictObject({
    name: slug,
    description: z.string().optional(),
    owner: z.string().min(1, 'every service needs an owner (a team or a person)'),
    environment: z.string().default('production'),
    tags: z.array(z.string()).default([]),
    checks: z.array(checkSchema).default([]),
  })
  .superRefine((service, ctx) => {
    uniqueNames(service.checks, ctx, 'checks', 'check');
  });

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: port.default(DEFAULT_PORT),
        /** Seconds to keep serving after readiness goes DOWN on SIGTERM, so load balancers drain. */
        shutdownDelaySeconds: z.number().min(0).default(0),
      })
      .prefault({}),
    storage: z
      .strictObject({
        /** sqlite:PATH (default, relative to the working directory) or postgres://... */
        url: z
          .string()
          .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'use sqlite:PATH or postgres://...')
          .default(DEFAULT_STORAGE_URL),
        password: z.string().optional(),
        passwordFile: z.string().optional(),
      })
      .prefault({}),
    retention: z
      .strictObject({
        results: durationMs.prefault(DEFAULT_RETENTION.results),
        minuteRollups: durationMs.prefault(DEFAULT_RETENTION.minuteRollups),
        rollups: durationMs.prefault(DEFAULT_RETENTION.rollups),
        events: durationMs.prefault(DEFAULT_RETENTION.events),
        notifications: durationMs.prefault(DEFAULT_RETENTION.notifications),
      })
      .prefault({}),
    scheduler: z
      .strictObject({
        concurrency: z.number().int().min(1).max(10_000).default(DEFAULT_CONCURRENCY),
        /** Probes on their own worker thread: `auto` from PROBE_THREAD_MIN_CHECKS checks at start. */
        probeThread: z.enum(['auto', 'on', 'off']).default('auto'),
      })
      .prefault({}),
    services: z.array(serviceSchema).default([]),
    metrics: metricsSchema,
    alerting: alertingSchema,
    runbooks: runbooksSchema,
    notifications: notificationsSchema,
    incidents: incidentsSchema,
    oncall: oncallSchema,
    databases: z.array(databaseSchema).default([]),
    backups: backupsSchema,
    auth: authSchema,
    deployments: deploymentsSchema,
  })
  .superRefine((config, ctx) => {
    uniqueNames(config.services, ctx, 'services', 'service');
    checkOncallReceivers(config.oncall, config.notifications.receivers, ctx);
    uniqueNames(
      config.databases.map((d) => ({ name: d.id })),
      ctx,
      'databases',
      'database',
      'id',
    );
    const receivers = new Set(config.notifications.receivers.map((r) => r.name));
    config.incidents.channels.forEach((name, index) => {
      if (!receivers.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['incidents', 'channels', index],
          message: `no receiver named "${name}"; define it under notifications.receivers`,
        });
    });
  });

function uniqueNames(
  items: { name: string }[],
  ctx: z.RefinementCtx,
  key: string,
  what: string,
  field = 'name',
): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name))
      ctx.addIssue({
        code: 'custom',
        path: [key, index, field],
        message: `duplicate ${what} ${field} "${item.name}"`,
      });
    seen.add(item.name);
  });
}

export type OpsbookConfig = z.output<typeof configSchema>;
export type ServiceConfig = OpsbookConfig['services'][number];
export type CheckConfig = ServiceConfig['checks'][number];
export type CheckRole = CheckConfig['role'];
export type ProbeTiming = CheckConfig['timing'];
