import { isIP } from 'node:net';
import { resolve } from 'node:path';
import {
  checkServerIdentity,
  connect,
  createSecureContext,
  rootCertificates,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import type { TlsProbeSpec } from '../../config/schema.js';
import type { Cancellation } from '../../lib/cancellation.js';
import type { Probe, ProbeOutcome } from '../probe.js';
import {
  abortedOutcome,
  describeError,
  down,
  errorDetail,
  judgeConditions,
  loadCaFile,
  startClock,
  up,
} from './common.js';

const DAY_MS = 86_400_000;

/** Secure contexts with the public roots plus a ca file, built once per file. */
const secureContexts = new Map<string, SecureContext>();

async function secureContextFor(baseDir: string, ca: string): Promise<SecureContext> {
  const path = resolve(baseDir, ca);
  let context = secureContexts.get(path);
  if (!context) {
    context = createSecureContext({ ca: [...rootCertificates, await loadCaFile(baseDir, ca)] });
    secureContexts.set(path, context);
  }
  return context;
}

/** Completes a handshake without verifying, so an untrusted or expired certificate can still be inspected. */
function handshake(
  spec: TlsProbeSpec,
  secureContext: SecureContext | undefined,
  cancel: Cancellation,
): Promise<TLSSocket> {
  const servername = spec.serverName ?? (isIP(spec.host) ? undefined : spec.host);
  return new Promise((resolvePromise, reject) => {
    const socket = connect({
      host: spec.host,
      port: spec.port,
      servername,
      secureContext,
      rejectUnauthorized: false,
      // The hostname is checked separately, so `authorized` speaks of the chain alone.
      checkServerIdentity: () => undefined,
    });
    const unsubscribe = cancel.onAbort(() => socket.destroy(cancel.reason as Error));
    socket.once('secureConnect', () => {
      unsubscribe();
      resolvePromise(socket);
    });
    socket.on('error', (error) => {
      unsubscribe();
      socket.destroy();
      reject(error);
    });
  });
}

function formatName(name: PeerCertificate['subject'] | undefined): string {
  return Object.entries(name ?? {})
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');
}

/** Whole days, toward zero: 2.9 days left is 2, expired 1.1 days ago is -1 (never -0). */
function wholeDays(ms: number): number {
  return Math.trunc(ms / DAY_MS) || 0;
}

function certificateFacts(spec: TlsProbeSpec, socket: TLSSocket, cert: PeerCertificate) {
  const validTo = Date.parse(cert.valid_to);
  const msRemaining = validTo - Date.now();
  const hostnameError = checkServerIdentity(spec.serverName ?? spec.host, cert);
  // Node reports the verification failure as an OpenSSL code string, though typed as an Error.
  const authorizationError = socket.authorizationError as Error | string | null | undefined;
  return {
    msRemaining,
    hostnameError,
    detail: {
      subject: formatName(cert.subject),
      issuer: formatName(cert.issuer),
      validFrom: new Date(Date.parse(cert.valid_from)).toISOString(),
      validTo: new Date(validTo).toISOString(),
      daysRemaining: wholeDays(msRemaining),
      authorized: socket.authorized,
      authorizationError:
        authorizationError instanceof Error ? authorizationError.message : (authorizationError ?? null),
      hostnameValid: hostnameError === undefined,
      fingerprint256: cert.fingerprint256,
    },
  };
}

type Facts = ReturnType<typeof certificateFacts>;

/** The first reason the certificate is not acceptable, most specific first; undefined when it is. */
function certificateProblem(spec: TlsProbeSpec, facts: Facts): string | undefined {
  const { detail, msRemaining, hostnameError } = facts;
  if (msRemaining <= 0) return `certificate expired on ${detail.validTo}`;
  if (!detail.authorized) return `certificate not trusted: ${detail.authorizationError ?? 'unknown reason'}`;
  if (hostnameError) return hostnameError.message;
  if (detail.daysRemaining < spec.minDaysRemaining)
    return `certificate expires in ${detail.daysRemaining} days (minimum ${spec.minDaysRemaining})`;
  return undefined;
}

function judgeCertificate(spec: TlsProbeSpec, socket: TLSSocket, latencyMs: number): ProbeOutcome {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.valid_to) return down(latencyMs, 'the server sent no certificate');
  const facts = certificateFacts(spec, socket, cert);
  const detail: Record<string, unknown> = { ...facts.detail };
  let problem = certificateProblem(spec, facts);
  if (spec.conditions) {
    const verdict = judgeConditions(spec.conditions, {
      responseTimeMs: latencyMs,
      connected: true,
      certificateExpirationMs: facts.msRemaining,
    });
    detail.conditions = verdict.results;
    problem ??= verdict.failure;
  }
  if (problem) return down(latencyMs, problem, detail);
  return up(latencyMs, `certificate valid for ${facts.detail.daysRemaining} more days`, detail);
}

export const tlsProbe: Probe<TlsProbeSpec> = async (spec, ctx) => {
  const elapsed = startClock();
  try {
    const secureContext = spec.ca ? await secureContextFor(ctx.baseDir, spec.ca) : undefined;
    const socket = await handshake(spec, secureContext, ctx.cancel);
    try {
      return judgeCertificate(spec, socket, elapsed());
    } finally {
      socket.destroy();
    }
  } catch (error) {
    if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
    return down(elapsed(), describeError(error), errorDetail(error));
  }
};
