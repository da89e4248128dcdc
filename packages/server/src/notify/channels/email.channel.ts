// Email over SMTP with nodemailer: one unpooled connection per message, text and HTML bodies.
import { createTransport, type NodemailerError } from 'nodemailer';
import type { AlertSnapshot } from '../../alerts/alert.types.js';
import { incidentFacts, incidentTitle } from '../incident-message.js';
import type { Notification } from '../notification.types.js';
import {
  alertName,
  descriptionOf,
  distinguishingLabels,
  firing,
  iso,
  resolved,
  summaryOf,
  title,
} from '../payloads.js';
import { abortMessage, describeError, type Channel, type ChannelConfig, type SendResult } from './channel.js';

type EmailConfig = ChannelConfig<'email'>;

export interface EmailPayload {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Derived from the idempotency key, so a resent message can be recognised as the same one. */
  messageId: string;
  headers: Record<string, string>;
}

// Errors raised before anything reached the server that a retry cannot fix.
const PERMANENT_CODES = new Set([
  'ECONFIG',
  'EENVELOPE',
  'EMESSAGE',
  'ENOAUTH',
  'EMAXRECIPIENTS',
  'EREQUIRETLS',
]);

export function messageId(idempotencyKey: string, from: string): string {
  const domain = from.split('@')[1] || 'opsbook.invalid';
  return `<${idempotencyKey}@${domain}>`;
}

function alertLines(n: Notification, alert: AlertSnapshot): string[] {
  const labels = distinguishingLabels(n, alert);
  const lines = [`- ${alertName(n)}${labels ? ` ${labels}` : ''}`];
  const summary = summaryOf(n, alert);
  const description = descriptionOf(n, alert);
  if (summary) lines.push(`  Summary: ${summary}`);
  if (description) lines.push(`  Description: ${description}`);
  lines.push(
    `  Started: ${iso(alert.startsAt)}${alert.endsAt !== null ? `, resolved: ${iso(alert.endsAt)}` : ''}`,
  );
  if (alert.generatorUrl) lines.push(`  Source: ${alert.generatorUrl}`);
  return lines;
}

export function emailText(n: Notification): string {
  const sections: string[] = [title(n), ''];
  for (const [heading, alerts] of [
    ['Firing', firing(n)],
    ['Resolved', resolved(n)],
  ] as const) {
    if (alerts.length === 0) continue;
    sections.push(`${heading} (${alerts.length}):`, ...alerts.flatMap((a) => alertLines(n, a)), '');
  }
  sections.push(`Group: ${n.groupKey}`);
  if (n.externalUrl) sections.push(`Open: ${n.externalUrl}`);
  return `${sections.join('\n')}\n`;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function alertRow(n: Notification, alert: AlertSnapshot): string {
  const summary = summaryOf(n, alert);
  const description = descriptionOf(n, alert);
  const labels = distinguishingLabels(n, alert);
  const color = alert.status === 'firing' ? '#b42318' : '#067647';
  const source = /^https?:\/\//i.test(alert.generatorUrl)
    ? ` <a href="${escapeHtml(alert.generatorUrl)}">source</a>`
    : '';
  return [
    '<tr>',
    `<td style="padding:6px;color:${color};font-weight:bold;vertical-align:top">${alert.status}</td>`,
    '<td style="padding:6px">',
    `<div><strong>${escapeHtml(alertName(n))}</strong>${labels ? ` <code>${escapeHtml(labels)}</code>` : ''}</div>`,
    summary ? `<div>${escapeHtml(summary)}</div>` : '',
    description ? `<div style="color:#555">${escapeHtml(description)}</div>` : '',
    `<div style="color:#777;font-size:12px">started ${iso(alert.startsAt)}${source}</div>`,
    '</td>',
    '</tr>',
  ].join('');
}

export function emailHtml(n: Notification): string {
  const link = /^https?:\/\//i.test(n.externalUrl)
    ? `<p><a href="${escapeHtml(n.externalUrl)}">Open in Opsbook</a></p>`
    : '';
  return [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${escapeHtml(title(n))}</h2>`,
    `<table style="border-collapse:collapse">${n.alerts.map((a) => alertRow(n, a)).join('')}</table>`,
    `<p style="color:#777;font-size:12px">Group ${escapeHtml(n.groupKey)}</p>`,
    link,
    '</body></html>',
  ].join('\n');
}

type IncidentMessage = NonNullable<Notification['incident']>;

/** An incident message as plain text: the title, the text, the facts and the link. */
export function incidentEmailText(m: IncidentMessage): string {
  const facts = incidentFacts(m).map((f) => `${f.title}: ${f.value}`);
  return `${[incidentTitle(m), '', m.text, '', ...facts, '', `Open: ${m.url}`].join('\n')}\n`;
}

export function incidentEmailHtml(m: IncidentMessage): string {
  const color = m.kind === 'page' ? '#b42318' : m.kind === 'resolved' ? '#067647' : '#344054';
  const rows = incidentFacts(m)
    .map(
      (f) =>
        `<tr><td style="padding:4px 12px 4px 0;color:#777">${escapeHtml(f.title)}</td><td style="padding:4px 0">${escapeHtml(f.value)}</td></tr>`,
    )
    .join('');
  const link = /^https?:\/\//i.test(m.url)
    ? `<p><a href="${escapeHtml(m.url)}">Open ${escapeHtml(m.id)} in Opsbook</a></p>`
    : '';
  return [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2 style="color:${color}">${escapeHtml(incidentTitle(m))}</h2>`,
    `<p style="white-space:pre-wrap">${escapeHtml(m.text)}</p>`,
    `<table style="border-collapse:collapse">${rows}</table>`,
    link,
    '</body></html>',
  ].join('\n');
}

export function emailPayload(n: Notification, config: EmailConfig, idempotencyKey: string): EmailPayload {
  if (n.incident)
    return {
      from: config.from,
      to: config.to,
      subject: incidentTitle(n.incident),
      text: incidentEmailText(n.incident),
      html: incidentEmailHtml(n.incident),
      messageId: messageId(idempotencyKey, config.from),
      headers: {
        'X-Opsbook-Idempotency-Key': idempotencyKey,
        'X-Opsbook-Group-Key': n.groupKey,
        'X-Opsbook-Incident': n.incident.id,
        // Mail clients thread every message about the incident under one root.
        References: messageId(`incident.${n.incident.id}`, config.from),
      },
    };
  return {
    from: config.from,
    to: config.to,
    subject: title(n),
    text: emailText(n),
    html: emailHtml(n),
    messageId: messageId(idempotencyKey, config.from),
    headers: { 'X-Opsbook-Idempotency-Key': idempotencyKey, 'X-Opsbook-Group-Key': n.groupKey },
  };
}

/** SMTP 4xx replies are temporary and retried, 5xx refuse the message for good; no reply means the
 * connection failed, which is worth retrying. 503 (bad sequence) is a session problem, not a refusal. */
export function classifySmtpError(error: unknown, signal: AbortSignal): SendResult {
  if (signal.aborted) return { ok: false, retryable: true, error: abortMessage(signal) };
  const e = error as NodemailerError;
  const code = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  const response = typeof e?.response === 'string' ? e.response.slice(0, 300) : undefined;
  if (code !== undefined) {
    const permanent = code >= 500 && code !== 503;
    return { ok: false, retryable: !permanent, status: code, response, error: describeError(error) };
  }
  const retryable = !(typeof e?.code === 'string' && PERMANENT_CODES.has(e.code));
  return { ok: false, retryable, error: describeError(error) };
}

export const emailChannel: Channel<EmailConfig, EmailPayload> = {
  render: (notification, config, { idempotencyKey }) => emailPayload(notification, config, idempotencyKey),

  async send(payload, config, { signal }) {
    const { smtp } = config;
    try {
      const transport = createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        requireTLS: smtp.requireTLS,
        ...(smtp.user && { auth: { user: smtp.user, pass: smtp.password ?? '' } }),
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      });
      try {
        const info = await transport.sendMail({ ...payload, signal });
        const status = Number.parseInt(info.response, 10);
        const rejected = info.rejected.length > 0 ? ` (rejected: ${info.rejected.join(', ')})` : '';
        return {
          ok: true,
          retryable: false,
          ...(Number.isFinite(status) && { status }),
          response: `${info.response}${rejected}`.slice(0, 300),
        };
      } finally {
        transport.close();
      }
    } catch (error) {
      return classifySmtpError(error, signal);
    }
  },

  target: (config) => `smtp://${config.smtp.host}:${config.smtp.port} → ${config.to.join(', ')}`,

  secrets: (config) => (config.smtp.password ? [config.smtp.password] : []),
};
