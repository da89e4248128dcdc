// Test fixtures for notifications: real loopback HTTP receivers, a real SMTP server, sample notifications.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { AlertSnapshot } from '../alerts/alert.types.js';
import type { Notification } from './notification.types.js';

export const T0 = Date.UTC(2026, 10, 26, 9, 0, 0, 0);

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer only after this long (ms). */
  delayMs?: number;
}

export interface TestReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Decides each answer; 200 "ok" by default. Requests are recorded before it is asked. */
  reply: (request: ReceivedRequest, index: number) => Reply;
  /** Requests being answered right now, and the most at once. */
  active: number;
  maxActive: number;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request body as JSON. */
export async function startReceiver(port = 0): Promise<TestReceiver> {
  const receiver = {
    requests: [],
    active: 0,
    maxActive: 0,
    reply: () => ({ status: 200, body: 'ok' }),
  } as unknown as TestReceiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        at: Date.now(),
      };
      receiver.requests.push(request);
      receiver.active++;
      receiver.maxActive = Math.max(receiver.maxActive, receiver.active);
      const reply = receiver.reply(request, receiver.requests.length - 1);
      setTimeout(() => {
        receiver.active--;
        res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
        res.end(reply.body ?? '');
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** A loopback port nothing listens on (connections are refused) until a receiver takes it. */
export async function freePort(): Promise<number> {
  const probe = await startReceiver();
  await probe.close();
  return probe.port;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  text: string;
  html: string;
}

export interface TestSmtp {
  port: number;
  mails: ReceivedMail[];
  /** Passwords the server saw in AUTH. */
  logins: { user: string; password: string }[];
  /** Rejects the next messages at the end of DATA with these SMTP replies (e.g. 451, 550). */
  rejectWith: number[];
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 without STARTTLS, parsing each message it accepts. */
export async function startSmtp(options: Partial<SMTPServerOptions> = {}): Promise<TestSmtp> {
  const smtp = { mails: [], logins: [], rejectWith: [] } as unknown as TestSmtp;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      smtp.logins.push({ user: auth.username ?? '', password: auth.password ?? '' });
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const code = smtp.rejectWith.shift();
        if (code !== undefined) {
          const error = Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), {
            responseCode: code,
          });
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        smtp.mails.push({ ...parseMail(raw), from, to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback(null, 'queued as test');
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  smtp.port = (server.server.address() as AddressInfo).port;
  smtp.close = () => new Promise((resolve) => server.close(() => resolve()));
  return smtp;
}

/** Enough of RFC 5322 and MIME for nodemailer's output: headers, multipart/alternative, QP and base64. */
export function parseMail(raw: string): Pick<ReceivedMail, 'headers' | 'text' | 'html'> {
  const { headers, body } = splitPart(raw);
  const result = { headers, text: '', html: '' };
  const visit = (partHeaders: Record<string, string>, partBody: string) => {
    const type = partHeaders['content-type'] ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (boundary) {
      for (const piece of partBody.split(`--${boundary}`).slice(1)) {
        if (piece.startsWith('--')) break;
        const part = splitPart(piece.replace(/^\r?\n/, ''));
        visit(part.headers, part.body);
      }
      return;
    }
    const decoded = decodeBody(partBody, partHeaders['content-transfer-encoding'] ?? '7bit');
    if (type.startsWith('text/html')) result.html = decoded;
    else if (type.startsWith('text/plain')) result.text = decoded;
  };
  visit(headers, body);
  return result;
}

function splitPart(text: string): { headers: Record<string, string>; body: string } {
  const end = text.search(/\r?\n\r?\n/);
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeBody(body: string, encoding: string): string {
  const trimmed = body.replace(/\r?\n$/, '');
  if (/quoted-printable/i.test(encoding)) {
    const bytes = trimmed
      .replace(/=\r?\n/g, '')
      .replace(/\r\n/g, '\n')
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  if (/base64/i.test(encoding)) return Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
  return trimmed.replace(/\r\n/g, '\n');
}

export function alert(overrides: Partial<AlertSnapshot> & { instance?: string } = {}): AlertSnapshot {
  const { instance = 'shop-1', ...rest } = overrides;
  return {
    fingerprint: `fp-${instance}`,
    labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical', instance },
    annotations: {
      summary: `Error rate above 5% on ${instance}`,
      description: 'More than 5% of requests failed for 5 minutes.',
    },
    status: 'firing',
    startsAt: T0,
    endsAt: null,
    generatorUrl: 'http://opsbook.example/query?expr=rate',
    suppressedBy: { silences: [], inhibitedBy: [], maintenance: [] },
    ...rest,
  };
}

/** A firing HighErrorRate group of two alerts for service=shop, to the receiver named "ops". */
export function sampleNotification(overrides: Partial<Notification> = {}): Notification {
  return {
    receiver: 'ops',
    groupKey: '{}/{severity="critical"}:{alertname="HighErrorRate", service="shop"}',
    status: 'firing',
    groupLabels: { alertname: 'HighErrorRate', service: 'shop' },
    commonLabels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical' },
    commonAnnotations: { description: 'More than 5% of requests failed for 5 minutes.' },
    alerts: [alert({ instance: 'shop-1' }), alert({ instance: 'shop-2', startsAt: T0 + 1500 })],
    reason: 'new',
    createdAt: T0 + 30_000,
    sequence: 1,
    externalUrl: 'http://opsbook.example',
    ...overrides,
  };
}

/** The same group resolved: every alert ended. */
export function resolvedNotification(overrides: Partial<Notification> = {}): Notification {
  const base = sampleNotification();
  return sampleNotification({
    status: 'resolved',
    reason: 'resolved',
    sequence: 2,
    createdAt: T0 + 600_000,
    alerts: base.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: T0 + 590_000 })),
    ...overrides,
  });
}
