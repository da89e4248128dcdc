import type { ProbeKind, ProbeSpec } from '../config/schema.js';
import type { Cancellation } from '../lib/cancellation.js';

/** What one probe run observed. Probes return values; they never throw for a failing target. */
export interface ProbeOutcome {
  status: 'up' | 'down';
  latencyMs: number;
  /** One human line: why it is up or down ("HTTP 503", "connect ECONNREFUSED 127.0.0.1:9"). */
  message: string;
  /** Structured facts for the API and evidence (status code, days to expiry, answers...). Never secrets. */
  detail: Record<string, unknown>;
}

export interface ProbeContext {
  /** Aborted on timeout or shutdown; probes must stop work and return promptly (`cancel.signal` for APIs that take an AbortSignal). */
  cancel: Cancellation;
  timeoutMs: number;
  /** Directory of the config file, for relative file references (ca, passwordFile). */
  baseDir: string;
}

export type Probe<S extends ProbeSpec = ProbeSpec> = (
  spec: S,
  context: ProbeContext,
) => Promise<ProbeOutcome>;

export type ProbeTable = { [K in ProbeKind]: Probe<Extract<ProbeSpec, { kind: K }>> };

/** A human-readable target for listings: the URL, host:port or name the probe reaches. */
export function probeTarget(spec: ProbeSpec): string {
  switch (spec.kind) {
    case 'http':
      return `${spec.method} ${spec.url}`;
    case 'tcp':
      return `${spec.host}:${spec.port}`;
    case 'tls':
      return `${spec.host}:${spec.port}`;
    case 'dns':
      return `${spec.type} ${spec.name}${spec.server ? ` @${spec.server}` : ''}`;
    case 'postgres':
      return redactUrl(spec.url);
  }
}

/** Removes any password from a connection URL before it is shown or stored. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
  }
}
