import type { IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import { rootCertificates, TLSSocket } from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { HttpProbeSpec } from '../../config/schema.js';
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

const USER_AGENT = 'opsbook-probe/0.1';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 10;
const SNIPPET_CHARS = 200;

/** What one HTTP exchange gave: status, where a redirect points, and the body when it was kept. */
interface Exchange {
  status: number;
  location: string | undefined;
  body: string;
}

interface TlsSetting {
  key: string;
  rejectUnauthorized: boolean;
  ca?: string[];
}

/** "host:port" → when the certificate seen on the last TLS connection there expires (epoch ms). */
const certificateExpiry = new Map<string, number>();

/** One pooled keep-alive Agent per TLS setting; redirects share the Agent's connections. */
const dispatchers = new Map<string, Dispatcher>();

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

function dispatcherFor(setting: TlsSetting): Dispatcher {
  let found = dispatchers.get(setting.key);
  if (!found) {
    found = new Agent({ connect: certificateNotingConnector(setting) });
    dispatchers.set(setting.key, found);
  }
  return found;
}

const DEFAULT_TLS: TlsSetting = { key: 'default', rejectUnauthorized: true };
const INSECURE_TLS: TlsSetting = { key: 'insecure', rejectUnauthorized: false };

/** Synchronous for the common settings, so most probes start without waiting on a promise. */
function dispatcherOf(spec: HttpProbeSpec, baseDir: string): Dispatcher | Promise<Dispatcher> {
  if (spec.insecure) return dispatcherFor(INSECURE_TLS);
  if (!spec.ca) return dispatcherFor(DEFAULT_TLS);
  const ca = spec.ca;
  // The ca file adds to the public roots rather than replacing them.
  return loadCaFile(baseDir, ca).then((pem) =>
    dispatcherFor({
      key: `ca:${resolve(baseDir, ca)}`,
      rejectUnauthorized: true,
      ca: [...rootCertificates, pem],
    }),
  );
}

/** What every run of a spec sends, worked out once per spec (the config keeps its objects). */
interface Plan {
  url: URL;
  target: Target;
  headers: Record<string, string>;
}

const plans = new WeakMap<HttpProbeSpec, Plan>();

function planOf(spec: HttpProbeSpec): Plan {
  let plan = plans.get(spec);
  if (!plan) {
    const hasUserAgent = Object.keys(spec.headers).some((name) => name.toLowerCase() === 'user-agent');
    const url = new URL(spec.url);
    plan = {
      url,
      target: targetOf(url),
      headers: hasUserAgent ? spec.headers : { ...spec.headers, 'user-agent': USER_AGENT },
    };
    plans.set(spec, plan);
  }
  return plan;
}

/** Where a request goes, as undici's dispatch takes it. */
interface Target {
  origin: string;
  path: string;
}

function targetOf(url: URL): Target {
  return { origin: url.origin, path: url.pathname + url.search };
}

/**
 * One request through undici's dispatch API: no response stream and no AbortSignal per request, which
 * is most of what `request()` costs above the socket work. The body is kept only when conditions
 * may read it or the status is an error to show, and at most MAX_BODY_BYTES of it.
 * A class rather than closures: one allocation per request on the probes' hottest path.
 */
class ExchangeHandler implements Dispatcher.DispatchHandler {
  private readonly result: Exchange = { status: 0, location: undefined, body: '' };
  private chunks: Buffer[] | undefined;
  private size = 0;
  private settled = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly cancel: Cancellation,
    /** The spec has conditions, which may read the body whatever the status. */
    private readonly keepAlways: boolean,
    private readonly resolve: (exchange: Exchange) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const cancel = this.cancel;
    if (cancel.aborted) return controller.abort(cancel.reason as Error);
    this.unsubscribe = cancel.onAbort(() => controller.abort(cancel.reason as Error));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.result.status = statusCode;
    const location = headers.location;
    this.result.location = Array.isArray(location) ? location[0] : location;
    this.chunks = this.keepAlways || !isSuccessStatus(statusCode) ? [] : undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    this.chunks?.push(chunk);
    // An endless body: answer with what arrived; aborting closes that one connection.
    if (this.size > MAX_BODY_BYTES) {
      this.finish();
      controller.abort(new Error('response body over the probe limit'));
    }
  }

  onResponseEnd(): void {
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finish(error);
  }

  private finish(error?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.unsubscribe?.();
    if (error) return this.reject(error);
    if (this.chunks)
      this.result.body = Buffer.concat(this.chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
    this.resolve(this.result);
  }
}

function exchange(
  dispatcher: Dispatcher,
  target: Target,
  spec: HttpProbeSpec,
  headers: Record<string, string>,
  cancel: Cancellation,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    dispatcher.dispatch(
      { origin: target.origin, path: target.path, method: spec.method, headers, body: spec.body },
      new ExchangeHandler(cancel, spec.conditions !== undefined, resolve, reject),
    );
  });
}

function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

function certificateExpirationMs(url: URL): number | undefined {
  if (url.protocol !== 'https:') return undefined;
  const validTo = certificateExpiry.get(originKey(url.hostname, url.port));
  return validTo === undefined ? undefined : validTo - Date.now();
}

function judgeResponse(
  spec: HttpProbeSpec,
  url: URL,
  response: Exchange,
  elapsed: () => number,
): ProbeOutcome {
  const { status, body } = response;
  const latencyMs = elapsed();
  const detail: Record<string, unknown> = { statusCode: status };
  const passed = `HTTP ${status} in ${Math.round(latencyMs)} ms`;
  if (spec.conditions) {
    const verdict = judgeConditions(spec.conditions, {
      status,
      body,
      responseTimeMs: latencyMs,
      connected: true,
      certificateExpirationMs: certificateExpirationMs(url),
    });
    detail.conditions = verdict.results;
    if (verdict.ok) return up(latencyMs, passed, detail);
    return down(latencyMs, verdict.failure!, { ...detail, bodySnippet: body.slice(0, SNIPPET_CHARS) });
  }
  if (isSuccessStatus(status)) return up(latencyMs, passed, detail);
  return down(latencyMs, `HTTP ${status}`, { ...detail, bodySnippet: body.slice(0, SNIPPET_CHARS) });
}

export const httpProbe: Probe<HttpProbeSpec> = async (spec, ctx) => {
  const elapsed = startClock();
  try {
    const found = dispatcherOf(spec, ctx.baseDir);
    const dispatcher = found instanceof Promise ? await found : found;
    const plan = planOf(spec);
    let url = plan.url;
    let response = await exchange(dispatcher, plan.target, spec, plan.headers, ctx.cancel);
    // Redirects are followed here rather than by undici's interceptor, which costs every request.
    let visited: Set<string> | undefined;
    for (let hops = 0; spec.followRedirects && isRedirect(response.status) && response.location; hops++) {
      if (hops === MAX_REDIRECTS) break;
      const next = new URL(response.location, url);
      visited ??= new Set([url.href]);
      if (visited.has(next.href))
        return down(elapsed(), 'redirect loop detected', { statusCode: response.status });
      visited.add(next.href);
      url = next;
      // 303, and 301/302 after a POST, turn into a GET without a body, as browsers and undici do.
      const asGet =
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && spec.method === 'POST');
      const nextSpec = asGet ? { ...spec, method: 'GET' as const, body: undefined } : spec;
      const target = targetOf(url);
      // Credentials given for the configured origin never go to another one (as fetch and undici do).
      const headers = target.origin === plan.target.origin ? plan.headers : withoutCredentials(plan.headers);
      response = await exchange(dispatcher, target, nextSpec, headers, ctx.cancel);
    }
    return judgeResponse(spec, url, response, elapsed);
  } catch (error) {
    if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
    return down(elapsed(), describeError(error), errorDetail(error));
  }
};

const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase())),
  );
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
