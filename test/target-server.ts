// A real HTTP server on loopback whose answers a test can change while checks probe it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Target {
  url: string;
  port: number;
  /** Status code per path; unknown paths answer 200. */
  status: Map<string, number>;
  hits: Map<string, number>;
  delayMs: number;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const status = new Map<string, number>();
  const hits = new Map<string, number>();
  const target = { status, hits, delayMs: 0 } as Target;
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const code = status.get(path) ?? 200;
    setTimeout(() => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: code < 400 ? 'UP' : 'DOWN' }));
    }, target.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.port = (server.address() as AddressInfo).port;
  target.url = `http://127.0.0.1:${target.port}`;
  target.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return target;
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
