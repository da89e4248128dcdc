import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeSpec } from '../../config/schema.js';
import { probes, runProbe } from './index.js';
import { close, listen } from './testing.js';
import { Cancellation } from '../../lib/cancellation.js';

describe('runProbe', () => {
  const server = createServer((request, response) => {
    if (request.url === '/hang') return; // never answers
    response.end('ok');
  });
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));

  const http = (path: string): ProbeSpec => ({
    kind: 'http',
    url: `http://127.0.0.1:${port}${path}`,
    method: 'GET',
    headers: {},
    insecure: false,
    followRedirects: true,
  });
  /** A context whose own signal never fires, so only runProbe's deadline can stop the probe. */
  const patient = (timeoutMs: number) => ({ cancel: new Cancellation(), timeoutMs, baseDir: '.' });

  it('has a probe for every kind', () => {
    expect(Object.keys(probes).sort()).toEqual(['dns', 'http', 'postgres', 'tcp', 'tls']);
  });

  it('dispatches by kind', async () => {
    expect(await runProbe(http('/'), patient(5_000))).toMatchObject({
      status: 'up',
      detail: { statusCode: 200 },
    });
    expect(await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, patient(5_000))).toMatchObject({
      status: 'up',
      message: `connected to 127.0.0.1:${port}`,
    });
  });

  it('enforces timeoutMs itself when the caller signal never fires', async () => {
    const started = performance.now();
    const outcome = await runProbe(http('/hang'), patient(200));
    expect(outcome).toMatchObject({ status: 'down', message: 'timed out after 200ms' });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(1_000);
  });

  it('says cancelled when the caller aborts for shutdown', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const outcome = await runProbe(http('/hang'), {
      cancel: Cancellation.fromSignal(controller.signal),
      timeoutMs: 5_000,
      baseDir: '.',
    });
    expect(outcome).toMatchObject({ status: 'down', message: 'cancelled' });
  });

  it('says timed out when the caller aborts with a timeout reason', async () => {
    const outcome = await runProbe(http('/hang'), {
      cancel: Cancellation.timeout(100),
      timeoutMs: 100,
      baseDir: '.',
    });
    expect(outcome).toMatchObject({ status: 'down', message: 'timed out after 100ms' });
  });

  it('turns a throwing probe into a down outcome', async () => {
    // The dns probe parses conditions outside its own error handling; a bad one throws.
    const spec: ProbeSpec = {
      kind: 'dns',
      name: 'localhost',
      type: 'A',
      server: `127.0.0.1:${port}`,
      conditions: ['[NOPE] == 1'],
    };
    const outcome = await runProbe(spec, patient(1_000));
    expect(outcome.status).toBe('down');
    expect(outcome.message).toMatch(/^probe failed: .*unknown placeholder \[NOPE\]/);
  });

  it('is down for an unknown kind instead of throwing', async () => {
    const outcome = await runProbe({ kind: 'smtp' } as unknown as ProbeSpec, patient(1_000));
    expect(outcome).toMatchObject({ status: 'down', message: 'unknown probe kind "smtp"' });
  });
});
