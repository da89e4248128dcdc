import { z } from 'zod';
import { durationMs } from '../config/duration.schema.js';
import { oidcSchema } from './oidc.schema.js';

const role = z.enum(['viewer', 'responder', 'admin']);

/** A token provisioned from config (its secret from env or a file); it is never stored, only its hash kept in memory. */
const configToken = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'use letters, digits, dots, dashes or underscores'),
  /** intake: only POST /api/v2/alerts, the Alertmanager webhook and the metric push. */
  kind: z.enum(['api', 'intake']).default('intake'),
  role: role.default('responder'),
  secret: z.string().min(24, 'a token secret needs at least 24 characters'),
});

export const authSchema = z
  .strictObject({
    session: z
      .strictObject({
        /** A session ends this long after sign-in whatever happens. */
        maxAge: durationMs.prefault('12h'),
        /** ...or after this long without a request. */
        idleTimeout: durationMs.prefault('2h'),
        /** auto: Secure when the request came over HTTPS (directly or via X-Forwarded-Proto). */
        secureCookie: z.union([z.boolean(), z.literal('auto')]).default('auto'),
      })
      .prefault({}),
    lockout: z
      .strictObject({
        /** Failed sign-ins within `window` that lock the account... */
        attempts: z.number().int().min(1).default(5),
        window: durationMs.prefault('15m'),
        /** ...for this long. */
        duration: durationMs.prefault('15m'),
        /** Sign-in attempts per minute from one address, whatever the account. */
        perAddressPerMinute: z.number().int().min(1).default(20),
      })
      .prefault({}),
    /** Take the client address from X-Forwarded-For (behind an ingress); else the socket's. */
    trustProxy: z.boolean().default(false),
    /** Guide 7.3: audit logs are kept for one year. */
    auditRetention: durationMs.prefault('365d'),
    tokens: z.array(configToken).default([]),
    /** Single sign-on (docs/oidc.md). */
    oidc: oidcSchema.optional(),
  })
  .prefault({});

export type AuthConfig = z.output<typeof authSchema>;
