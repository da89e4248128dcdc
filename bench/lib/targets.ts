// Child process for the benchmarks: HTTP targets on loopback, off the benchmark's event loop.
// Started with fork(..., { execArgv: ['--import', 'tsx'] }); sends { ports } over IPC once listening.
// Any path answers 200 with a tiny JSON body, except paths under /fail/ which answer 503.
// Messages: 'cpu' → replies { cpu: process.cpuUsage(), requests }. Exits when the parent goes away.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SERVERS = Number(process.argv[2] ?? 4);
/** A hard stop so a forgotten child never outlives a benchmark for long. */
const MAX_LIFETIME_MS = Number(process.argv[3] ?? 15 * 60_000);

const UP = Buffer.from('{"status":"UP"}');
const DOWN = Buffer.from('{"status":"DOWN"}');
let requests = 0;

function start(): Promise<Server> {
  const server = createServer((req, res) => {
    requests++;
    const fail = req.url?.startsWith('/fail/') ?? false;
    const body = fail ? DOWN : UP;
    res.writeHead(fail ? 503 : 200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  // Probes come back every few seconds per connection; keep connections for the whole run.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const servers = await Promise.all(Array.from({ length: SERVERS }, () => start()));
const ports = servers.map((s) => (s.address() as AddressInfo).port);

function shutdown(): void {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  process.exit(0);
}

process.on('message', (message) => {
  if (message === 'cpu') process.send?.({ cpu: process.cpuUsage(), requests });
  else if (message === 'stop') shutdown();
});
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
setTimeout(shutdown, MAX_LIFETIME_MS).unref();
process.send?.({ ports });
