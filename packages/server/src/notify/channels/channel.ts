// The contract every notification channel meets, and helpers they share.
import type { ReceiverConfig } from '../../config/notifications.schema.js';
import type { Notification } from '../notification.types.js';

export const CHANNEL_KINDS = ['webhook', 'slack', 'teams', 'email', 'pagerduty'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export type ChannelConfig<K extends ChannelKind> = NonNullable<ReceiverConfig[K]>;

export interface RenderContext {
  /** Stable per notification and channel; receivers use it to drop repeats. */
  idempotencyKey: string;
}

export interface SendContext {
  /** Aborted on timeout or shutdown; the send must stop and return promptly. */
  signal: AbortSignal;
  idempotencyKey: string;
}

/** What one attempt achieved. Channels return it and never throw. */
export interface SendResult {
  ok: boolean;
  /** Worth trying again later: network errors, timeouts, 429, 5xx, SMTP 4xx. */
  retryable: boolean;
  /** HTTP status or SMTP reply code. */
  status?: number;
  /** The start of the HTTP body, or the SMTP reply. */
  response?: string;
  error?: string;
  /** The receiver asked to wait this long (Retry-After). */
  retryAfterMs?: number;
}

export interface Channel<C, P> {
  /** The message, rendered once when the notification is stored. Holds no credentials. */
  render(notification: Notification, config: C, context: RenderContext): P;
  send(payload: P, config: C, context: SendContext): Promise<SendResult>;
  /** Where it goes, for the delivery log: tokens and passwords hidden. */
  target(config: C): string;
  /** Values that must never be stored or logged: tokens, passwords, secret URLs. */
  secrets(config: C): string[];
}

// Method parameters are bivariant, so each channel keeps its own payload type in the table.
export type ChannelTable = { [K in ChannelKind]: Channel<ChannelConfig<K>, unknown> };

/** One line for an error, keeping Node's code ("connect ECONNREFUSED 127.0.0.1:9"). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Happy-eyeballs connects fail with an AggregateError whose own message is empty.
  if (!error.message && error instanceof AggregateError && error.errors.length > 0)
    return describeError(error.errors[0]);
  const code = (error as { code?: unknown }).code;
  const message = error.message || (typeof code === 'string' ? code : '') || error.name;
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Why a send was stopped by its signal: the timeout's message, or "cancelled". */
export function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error || reason instanceof DOMException)
    return reason.name === 'TimeoutError' ? reason.message || 'timed out' : `cancelled: ${reason.message}`;
  return 'cancelled';
}

/** Shows a URL's origin only: Slack and Teams webhook URLs carry their token in the path. */
export function originOnly(url: string): string {
  try {
    return `${new URL(url).origin}/***`;
  } catch {
    return '***';
  }
}

/** The secret-bearing parts of a URL: the whole URL, its path and query, and any password. */
export function urlSecrets(url: string, parts: { path: boolean }): string[] {
  const secrets = [url];
  try {
    const parsed = new URL(url);
    if (parsed.password) secrets.push(parsed.password, decodeURIComponent(parsed.password));
    if (parts.path && parsed.pathname.length > 1) secrets.push(parsed.pathname);
    if (parsed.search.length > 1) secrets.push(parsed.search.slice(1));
  } catch {
    // not a URL: the whole value is the secret
  }
  return secrets;
}
