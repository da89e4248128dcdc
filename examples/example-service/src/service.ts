// The guide's example-service: actuator-style probes, an in-memory /api/orders API, Prometheus metrics and
// run-time fault injection, built on node:http only. Used for demos and by tests that need a sick service.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FaultController,
  FaultValidationError,
  parseFaultsPatch,
  type Faults,
  type HealthStatus,
} from './faults.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry } from './metrics.js';

export interface ExampleServiceOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; defaults to 127.0.0.1. */
  host?: string;
  /** Initial faults; anything left out is healthy. Invalid values throw a FaultValidationError. */
  faults?: Partial<Faults>;
  /** Startup (and readiness) probes answer DOWN until this many milliseconds have passed since start. */
  startupDelayMs?: number;
  /** Write one JSON log line per request to stdout. */
  log?: boolean;
}

export interface ExampleService {
  port: number;
  /** Base URL reachable from this machine, e.g. http://127.0.0.1:8081 */
  url: string;
  faults: FaultController;
  /** Stops accepting connections, cuts injected delays short and resolves once the server is closed. */
  close(): Promise<void>;
}

export interface Order {
  id: string;
  item: string;
  quantity: number;
  createdAt: string;
}

const MAX_BODY_BYTES = 64 * 1024;
const MAX_ITEM_LENGTH = 200;
/** After close(), connections still open after this long are cut. */
const CLOSE_GRACE_MS = 5_000;

type JsonBody = Record<string, unknown> | readonly unknown[];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.error === 'string' ? body.error : `HTTP ${status}`);
  }
}

interface HealthComponent {
  status: HealthStatus;
  components?: Record<string, HealthComponent>;
  details?: Record<string, unknown>;
}

function group(components: Record<string, HealthComponent>): HealthComponent {
  const up = Object.values(components).every((component) => component.status === 'UP');
  return { status: up ? 'UP' : 'DOWN', components };
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
}

type Handler = (ctx: Context) => Promise<void> | void;

interface Route {
  /** Normalized route, used as the metrics label. */
  route: string;
  pattern: RegExp;
  methods: Record<string, Handler>;
}

function localUrl(host: string, port: number): string {
  let shown = host;
  if (host === '0.0.0.0' || host === '') shown = '127.0.0.1';
  else if (host === '::') shown = '[::1]';
  else if (host.includes(':')) shown = `[${host}]`;
  return `http://${shown}:${port}`;
}

function pathOf(rawUrl: string | undefined): string {
  try {
    return new URL(rawUrl ?? '/', 'http://localhost').pathname;
  } catch {
    return rawUrl ?? '/';
  }
}

export function writeJsonLog(entry: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', ...entry })}\n`);
}

export async function startExampleService(options: ExampleServiceOptions = {}): Promise<ExampleService> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 0;
  const startupDelayMs = options.startupDelayMs ?? 0;
  const log = options.log ?? false;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    throw new RangeError(`port must be an integer between 0 and 65535, got ${requestedPort}`);
  }
  if (!Number.isFinite(startupDelayMs) || startupDelayMs < 0) {
    throw new RangeError(`startupDelayMs must be a non-negative number, got ${startupDelayMs}`);
  }

  const faults = new FaultController(options.faults ?? {});
  const metrics = new MetricsRegistry();
  const startedAt = performance.now();
  const shutdown = new AbortController();

  const orders = new Map<string, Order>();
  let nextOrderId = 1;
  const addOrder = (item: string, quantity: number): Order => {
    const order: Order = { id: String(nextOrderId++), item, quantity, createdAt: new Date().toISOString() };
    orders.set(order.id, order);
    return order;
  };
  addOrder('coffee beans', 2);
  addOrder('paper filters', 1);

  // ---- responses -------------------------------------------------------------------------------------------

  const send = (res: ServerResponse, status: number, contentType: string, payload: string): void => {
    res.statusCode = status;
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', Buffer.byteLength(payload));
    if (shutdown.signal.aborted) res.setHeader('Connection', 'close');
    res.end(payload);
  };
  const sendJson = (res: ServerResponse, status: number, body: JsonBody): void =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

  // ---- request helpers -------------------------------------------------------------------------------------

  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      throw new HttpError(413, { error: `body larger than ${MAX_BODY_BYTES} bytes`, field: 'body' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk); // keep draining past the limit so the answer still arrives
    }
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, { error: `body larger than ${MAX_BODY_BYTES} bytes`, field: 'body' });
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') throw new HttpError(400, { error: 'body must be a JSON object', field: 'body' });
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, { error: 'body is not valid JSON', field: 'body' });
    }
  };

  /** Injected latency and errors, applied to the /api/orders endpoints only. */
  const applyFaults = async (): Promise<void> => {
    const { latencyMs } = faults.get();
    if (latencyMs > 0) {
      try {
        await sleep(latencyMs, undefined, { signal: shutdown.signal });
      } catch {
        throw new HttpError(503, { error: 'service shutting down' });
      }
    }
    if (faults.shouldInjectError()) throw new HttpError(500, { error: 'injected fault' });
  };

  // ---- health ----------------------------------------------------------------------------------------------

  const healthGroups = (): Record<'liveness' | 'readiness' | 'startup', HealthComponent> => {
    const current = faults.get();
    const started = performance.now() - startedAt >= startupDelayMs;
    const startupComplete: HealthComponent = { status: started ? 'UP' : 'DOWN', details: { startupDelayMs } };
    return {
      liveness: group({ livenessState: { status: current.liveness } }),
      readiness: group({ readinessState: { status: current.readiness }, startupComplete }),
      startup: group({ startupState: { status: current.startup }, startupComplete }),
    };
  };
  const sendHealth = (res: ServerResponse, health: HealthComponent): void =>
    sendJson(res, health.status === 'UP' ? 200 : 503, { ...health });

  // ---- routes ----------------------------------------------------------------------------------------------

  const routes: Route[] = [
    {
      route: '/actuator/health',
      pattern: /^\/actuator\/health$/,
      methods: { GET: ({ res }) => sendHealth(res, group(healthGroups())) },
    },
    ...(['liveness', 'readiness', 'startup'] as const).map((name): Route => ({
      route: `/actuator/health/${name}`,
      pattern: new RegExp(`^/actuator/health/${name}$`),
      methods: { GET: ({ res }) => sendHealth(res, healthGroups()[name]) },
    })),
    {
      route: '/api/orders',
      pattern: /^\/api\/orders$/,
      methods: {
        GET: async ({ res }) => {
          await applyFaults();
          sendJson(res, 200, [...orders.values()]);
        },
        POST: async ({ req, res }) => {
          const body = await readJson(req);
          await applyFaults();
          if (typeof body !== 'object' || body === null || Array.isArray(body)) {
            throw new HttpError(400, { error: 'body must be a JSON object', field: 'body' });
          }
          const { item, quantity } = body as Record<string, unknown>;
          if (typeof item !== 'string' || item.trim() === '') {
            throw new HttpError(400, { error: 'item must be a non-empty string', field: 'item' });
          }
          if (item.length > MAX_ITEM_LENGTH) {
            throw new HttpError(400, {
              error: `item must be at most ${MAX_ITEM_LENGTH} characters`,
              field: 'item',
            });
          }
          if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 1) {
            throw new HttpError(400, { error: 'quantity must be a positive integer', field: 'quantity' });
          }
          const order = addOrder(item.trim(), quantity);
          res.setHeader('Location', `/api/orders/${order.id}`);
          sendJson(res, 201, { ...order });
        },
      },
    },
    {
      route: '/api/orders/:id',
      pattern: /^\/api\/orders\/([^/]+)$/,
      methods: {
        GET: async ({ res, params }) => {
          await applyFaults();
          let id = params[0] ?? '';
          try {
            id = decodeURIComponent(id);
          } catch {
            // keep the raw id; it will simply not be found
          }
          const order = orders.get(id);
          if (!order) throw new HttpError(404, { error: 'order not found', id });
          sendJson(res, 200, { ...order });
        },
      },
    },
    {
      route: '/metrics',
      pattern: /^\/metrics$/,
      methods: { GET: ({ res }) => send(res, 200, METRICS_CONTENT_TYPE, metrics.render()) },
    },
    {
      route: '/admin/faults',
      pattern: /^\/admin\/faults$/,
      methods: {
        GET: ({ res }) => sendJson(res, 200, { ...faults.get() }),
        PUT: async ({ req, res }) => {
          const body = await readJson(req);
          let updated: Faults;
          try {
            updated = faults.update(parseFaultsPatch(body));
          } catch (error) {
            if (error instanceof FaultValidationError) {
              throw new HttpError(400, { error: error.message, field: error.field });
            }
            throw error;
          }
          if (log) writeJsonLog({ msg: 'faults changed', faults: updated });
          sendJson(res, 200, { ...updated });
        },
        DELETE: ({ res }) => {
          const reset = faults.reset();
          if (log) writeJsonLog({ msg: 'faults reset', faults: reset });
          sendJson(res, 200, { ...reset });
        },
      },
    },
  ];

  const match = (path: string): { route: Route; params: string[] } | undefined => {
    for (const route of routes) {
      const found = route.pattern.exec(path);
      if (found) return { route, params: found.slice(1) };
    }
    return undefined;
  };

  // ---- server ----------------------------------------------------------------------------------------------

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const start = performance.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = pathOf(req.url);
    const found = match(path);
    const routeLabel = found?.route.route ?? 'other';

    res.on('finish', () => {
      const durationMs = performance.now() - start;
      metrics.observeRequest(
        { method, route: routeLabel, status: String(res.statusCode) },
        durationMs / 1000,
      );
      if (log) {
        writeJsonLog({
          level: res.statusCode >= 500 ? 'error' : 'info',
          msg: 'request',
          method,
          path,
          status: res.statusCode,
          durationMs: Math.round(durationMs * 1000) / 1000,
        });
      }
    });

    try {
      if (!found) throw new HttpError(404, { error: 'not found', path });
      const handler =
        found.route.methods[method] ?? (method === 'HEAD' ? found.route.methods.GET : undefined);
      if (!handler) {
        res.setHeader('Allow', Object.keys(found.route.methods).join(', '));
        throw new HttpError(405, { error: `method ${method} not allowed`, path });
      }
      await handler({ req, res, params: found.params });
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        if (error.status === 413) res.setHeader('Connection', 'close');
        sendJson(res, error.status, error.body);
        return;
      }
      if (log) writeJsonLog({ level: 'error', msg: 'unhandled error', path, error: String(error) });
      sendJson(res, 500, { error: 'internal error' });
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      shutdown.abort();
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      force.unref();
      server.close((error) => {
        clearTimeout(force);
        if (error) reject(error);
        else resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  return { port, url: localUrl(host, port), faults, close };
}
