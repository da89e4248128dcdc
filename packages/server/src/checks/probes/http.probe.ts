import { resolve } from 'node:path';
import { rootCertificates, TLSSocket } from 'node:tls';
import { Agent, buildConnector, interceptors, request, type Dispatcher } from 'undici';
import type { HttpProbeSpec } from '../../config/schema.js';
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

const USER_AGENT = 'opsbook-probe/0.1';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 10;
const SNIPPET_CHARS = 200;

type Response = Dispatcher.ResponseData;

interface Dispatchers {
  direct: Dispatcher;
  redirecting: Dispatcher;
}

interface TlsSetting {
  key: string;
  rejectUnauthorized: boolean;
  ca?: string[];
}

/** "host:port" → when the certificate seen on the last TLS connection there expires (epoch ms). */
const certificateExpiry = new Map<string, number>();

/** One pooled keep-alive Agent per TLS setting; redirects share the Agent's connections. */
const dispatchers = new Map<string, Dispatchers>();

function originKey(hostname: string, port: string | number): string {
  return `${hostname}:${port || 443}`;
}

/** Wraps undici's connector to note each server certificate's expiry, which undici does not expose. */
function certificateNotingConnector(setting: TlsSetting): buildConnector.connector {
  const connect = buildConnector({
    rejectUnauthorized: setting.rejectUnauthorized,
    ...(setting.ca && { ca: setting.ca }),
  });
  return (options, callback) =>
    connect(options, (...args) => {
      const socket = args[1];
      if (socket instanceof TLSSocket) {
        const validTo = Date.parse(socket.getPeerCertificate().valid_to ?? '');
        if (Number.isFinite(validTo))
          certificateExpiry.set(originKey(options.hostname, options.port), validTo);
      }
      callback(...args);
    });
}

function dispatchersFor(setting: TlsSetting): Dispatchers {
  let found = dispatchers.get(setting.key);
  if (!found) {
    const agent = new Agent({ connect: certificateNotingConnector(setting) });
    found = {
      direct: agent,
      redirecting: agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS })),
    };
    dispatchers.set(setting.key, found);
  }
  return found;
}

async function tlsSetting(spec: HttpProbeSpec, baseDir: string): Promise<TlsSetting> {
  if (spec.insecure) return { key: 'insecure', rejectUnauthorized: false };
  if (!spec.ca) return { key: 'default', rejectUnauthorized: true };
  // The ca file adds to the public roots rather than replacing them.
  const pem = await loadCaFile(baseDir, spec.ca);
  return { key: `ca:${resolve(baseDir, spec.ca)}`, rejectUnauthorized: true, ca: [...rootCertificates, pem] };
}

function requestHeaders(spec: HttpProbeSpec): Record<string, string> {
  const hasUserAgent = Object.keys(spec.headers).some((name) => name.toLowerCase() === 'user-agent');
  return hasUserAgent ? spec.headers : { ...spec.headers, 'user-agent': USER_AGENT };
}

async function readBody(body: Response['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    // Leaving the loop destroys the stream and that one connection; rare, and cheaper than reading on.
    if (size >= MAX_BODY_BYTES) break;
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}

/** Always drains the body, so the connection goes back to the pool; keeps the text only when needed. */
async function consumeBody(response: Response, keepText: boolean): Promise<string> {
  if (keepText) return readBody(response.body);
  await response.body.dump({ limit: MAX_BODY_BYTES });
  return '';
}

function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

function certificateExpirationMs(url: URL): number | undefined {
  if (url.protocol !== 'https:') return undefined;
  const validTo = certificateExpiry.get(originKey(url.hostname, url.port));
  return validTo === undefined ? undefined : validTo - Date.now();
}

async function judgeResponse(
  spec: HttpProbeSpec,
  response: Response,
  elapsed: () => number,
): Promise<ProbeOutcome> {
  const status = response.statusCode;
  const needsBody = spec.conditions !== undefined || !isSuccessStatus(status);
  const body = await consumeBody(response, needsBody);
  const latencyMs = elapsed();
  const detail: Record<string, unknown> = { statusCode: status };
  const passed = `HTTP ${status} in ${Math.round(latencyMs)} ms`;
  if (spec.conditions) {
    const verdict = judgeConditions(spec.conditions, {
      status,
      body,
      responseTimeMs: latencyMs,
      connected: true,
      certificateExpirationMs: certificateExpirationMs(new URL(spec.url)),
    });
    detail.conditions = verdict.results;
    if (verdict.ok) return up(latencyMs, passed, detail);
    return down(latencyMs, verdict.failure!, { ...detail, bodySnippet: body.slice(0, SNIPPET_CHARS) });
  }
  if (isSuccessStatus(status)) return up(latencyMs, passed, detail);
  return down(latencyMs, `HTTP ${status}`, { ...detail, bodySnippet: body.slice(0, SNIPPET_CHARS) });
}

function errorLine(error: unknown): string {
  const line = describeError(error);
  // undici's loop message names only the origin and blames Client/Pool, which misleads here.
  return line.includes('Redirect loop detected') ? 'redirect loop detected' : line;
}

export const httpProbe: Probe<HttpProbeSpec> = async (spec, ctx) => {
  const elapsed = startClock();
  try {
    const { direct, redirecting } = dispatchersFor(await tlsSetting(spec, ctx.baseDir));
    const response = await request(spec.url, {
      method: spec.method,
      headers: requestHeaders(spec),
      body: spec.body,
      dispatcher: spec.followRedirects ? redirecting : direct,
      signal: ctx.signal,
    });
    return await judgeResponse(spec, response, elapsed);
  } catch (error) {
    if (ctx.signal.aborted) return abortedOutcome(ctx.signal, ctx.timeoutMs, elapsed());
    return down(elapsed(), errorLine(error), errorDetail(error));
  }
};
