import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpProbeSpec } from '../../config/schema.js';
import { tcpProbe } from './tcp.probe.js';
import { close, listen, probeContext } from './testing.js';
import { Cancellation } from '../../lib/cancellation.js';

const spec = (host: string, port: number): TcpProbeSpec => ({ kind: 'tcp', host, port });

describe('tcpProbe', () => {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    socket.resume();
  });
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));

  it('is up when the port accepts a connection', async () => {
    const outcome = await tcpProbe(spec('127.0.0.1', port), probeContext());
    expect(outcome).toMatchObject({
      status: 'up',
      message: `connected to 127.0.0.1:${port}`,
      detail: { address: '127.0.0.1', port },
    });
    await expect.poll(() => accepted).toBe(1);
  });

  it('is down with ECONNREFUSED on a closed port', async () => {
    const closed = createServer();
    const closedPort = await listen(closed);
    await close(closed);
    const outcome = await tcpProbe(spec('127.0.0.1', closedPort), probeContext());
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connect ECONNREFUSED 127.0.0.1:${closedPort}`,
      detail: { code: 'ECONNREFUSED' },
    });
  });

  it('is down with the DNS error for an unresolvable host', async () => {
    const outcome = await tcpProbe(spec('nope.invalid', 80), probeContext());
    expect(outcome).toMatchObject({ status: 'down', message: 'getaddrinfo ENOTFOUND nope.invalid' });
  });

  it('returns cancelled at once for an already aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const outcome = await tcpProbe(spec('127.0.0.1', port), {
      cancel: Cancellation.fromSignal(controller.signal),
      timeoutMs: 1_000,
      baseDir: '.',
    });
    expect(outcome).toMatchObject({ status: 'down', message: 'cancelled' });
  });
});
