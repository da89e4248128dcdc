// Child process for bench/alerts.bench.ts scenario "outbox": a webhook receiver on loopback that
// answers 200 to every POST and notes when each delivery arrived (by its Idempotency-Key header).
// Started with fork(..., { execArgv: ['--import', 'tsx'] }); sends { port } over IPC once listening.
// Messages: 'count' → { count, unique, bytes }; 'times' → { times: [key, epochMs][] } (first receipt
// of each key); 'cpu' → { cpu }; 'stop' → exits. Exits by itself when the parent goes away.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** A hard stop so a forgotten child never outlives a benchmark for long. */
const MAX_LIFETIME_MS = 10 * 60_000;
const OK = Buffer.from('{"ok":true}');

let count = 0;
let bytes = 0;
const firstSeen = new Map<string, number>();

const server = createServer((req, res) => {
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
  });
  req.on('end', () => {
    const at = performance.timeOrigin + performance.now();
    count++;
    bytes += size;
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && !firstSeen.has(key)) firstSeen.set(key, at);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': OK.length });
    res.end(OK);
  });
});
server.keepAliveTimeout = 60_000;

function shutdown(): void {
  server.closeAllConnections();
  server.close();
  process.exit(0);
}

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

process.on('message', (message) => {
  if (message === 'count') process.send?.({ count, unique: firstSeen.size, bytes });
  else if (message === 'times') process.send?.({ times: [...firstSeen] });
  else if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  else if (message === 'stop') shutdown();
});
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
setTimeout(shutdown, MAX_LIFETIME_MS).unref();
