import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpProbeSpec } from '../../config/schema.js';
import { httpProbe } from './http.probe.js';
import { CertificateDir, close, listen, probeContext, type KeyPair } from './testing.js';
import { Cancellation } from '../../lib/cancellation.js';

function spec(url: string, extra: Partial<HttpProbeSpec> = {}): HttpProbeSpec {
  return { kind: 'http', url, method: 'GET', headers: {}, insecure: false, followRedirects: true, ...extra };
}

const seenPaths: string[] = [];
const seen: { userAgent?: string; method?: string; body?: string } = {};

function handle(request: IncomingMessage, response: ServerResponse): void {
  const path = request.url ?? '/';
  seenPaths.push(path);
  seen.userAgent = request.headers['user-agent'];
  seen.method = request.method;
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    seen.body = body;
    if (path === '/ok') return void response.end('fine');
    if (path === '/unavailable') return void response.writeHead(503).end('database is down');
    if (path === '/moved') return void response.writeHead(302, { location: '/ok' }).end();
    if (path === '/see-other') return void response.writeHead(303, { location: '/ok' }).end('see /ok');
    if (path === '/loop') return void response.writeHead(302, { location: '/loop' }).end();
    const hop = /^\/hop\/(\d+)$/.exec(path);
    if (hop) return void response.writeHead(302, { location: `/hop/${Number(hop[1]) + 1}` }).end();
    if (path === '/health')
      return void response
        .setHeader('content-type', 'application/json')
        .end('{"status":"UP","checks":[{"name":"db"}]}');
    if (path === '/slow') return void setTimeout(() => response.end('late'), 120);
    if (path === '/hang') return; // never answers
    response.writeHead(404).end();
  });
}

describe('httpProbe over http', () => {
  const server = createServer(handle);
  let base = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => close(server));

  it('is up on 200 and says so with the latency', async () => {
    const outcome = await httpProbe(spec(`${base}/ok`), probeContext());
    expect(outcome).toMatchObject({ status: 'up', detail: { statusCode: 200 } });
    expect(outcome.message).toMatch(/^HTTP 200 in \d+ ms$/);
    expect(outcome.latencyMs).toBeGreaterThan(0);
    expect(seen.userAgent).toBe('opsbook-probe/0.1');
  });

  it('reuses one pooled connection across probes of the same origin', async () => {
    let connections = 0;
    const counted = createServer(handle).on('connection', () => connections++);
    const port = await listen(counted);
    const paths = ['/ok', '/unavailable', '/health', '/moved', '/ok'];
    for (const path of [...paths, ...paths])
      await httpProbe(spec(`http://127.0.0.1:${port}${path}`), probeContext());
    await close(counted);
    // undici opens a second connection while the first finishes its bookkeeping, then reuses both.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('is down on 503 with a snippet of the body', async () => {
    const outcome = await httpProbe(spec(`${base}/unavailable`), probeContext());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'HTTP 503',
      detail: { statusCode: 503, bodySnippet: 'database is down' },
    });
  });

  it('follows redirects by default, and reports the 302 when told not to', async () => {
    const followed = await httpProbe(spec(`${base}/moved`), probeContext());
    expect(followed).toMatchObject({ status: 'up', detail: { statusCode: 200 } });
    const notFollowed = await httpProbe(spec(`${base}/moved`, { followRedirects: false }), probeContext());
    expect(notFollowed.detail.statusCode).toBe(302);
  });

  it('turns a POST into a GET without its body after a 303, as browsers do', async () => {
    const outcome = await httpProbe(
      spec(`${base}/see-other`, { method: 'POST', body: 'ping' }),
      probeContext(),
    );
    expect(outcome).toMatchObject({ status: 'up', detail: { statusCode: 200 } });
    expect(seenPaths.slice(-2)).toEqual(['/see-other', '/ok']);
    expect(seen).toMatchObject({ method: 'GET', body: '' });
  });

  it('does not send credentials on to another origin when following a redirect', async () => {
    const seenThere: (string | undefined)[] = [];
    const other = createServer((request, response) => {
      seenThere.push(request.headers.authorization);
      response.end('fine');
    });
    const port = await listen(other);
    const away = createServer((_request, response) =>
      response.writeHead(302, { location: `http://127.0.0.1:${port}/landed` }).end(),
    );
    const awayPort = await listen(away);
    try {
      const outcome = await httpProbe(
        spec(`http://localhost:${awayPort}/go`, { headers: { Authorization: 'Bearer secret' } }),
        probeContext(),
      );
      expect(outcome).toMatchObject({ status: 'up', detail: { statusCode: 200 } });
      expect(seenThere).toEqual([undefined]);
    } finally {
      await close(away);
      await close(other);
    }
  });

  it('stops after 10 redirects and judges the last response', async () => {
    const outcome = await httpProbe(
      spec(`${base}/hop/0`, { conditions: ['[STATUS] == 200'] }),
      probeContext(),
    );
    expect(outcome).toMatchObject({ status: 'down', detail: { statusCode: 302 } });
    expect(seenPaths.at(-1)).toBe('/hop/10');
  });

  it('is down on a redirect loop', async () => {
    const outcome = await httpProbe(spec(`${base}/loop`), probeContext());
    expect(outcome).toMatchObject({ status: 'down', message: 'redirect loop detected' });
  });

  it('sends the method, headers and body it is given', async () => {
    const outcome = await httpProbe(
      spec(`${base}/ok`, { method: 'POST', headers: { 'User-Agent': 'custom/1' }, body: 'ping' }),
      probeContext(),
    );
    expect(outcome.status).toBe('up');
    expect(seen).toMatchObject({ method: 'POST', userAgent: 'custom/1', body: 'ping' });
  });

  it('passes conditions on a JSON body path', async () => {
    const conditions = [
      '[STATUS] == 200',
      '[BODY].status == UP',
      'len([BODY].checks) == 1',
      '[BODY].checks[0].name == db',
    ];
    const outcome = await httpProbe(spec(`${base}/health`, { conditions }), probeContext());
    expect(outcome.status).toBe('up');
    expect(outcome.detail.conditions).toEqual([
      { condition: '[STATUS] (200) == 200', ok: true },
      { condition: '[BODY].status (UP) == UP', ok: true },
      { condition: 'len([BODY].checks) (1) == 1', ok: true },
      { condition: '[BODY].checks[0].name (db) == db', ok: true },
    ]);
  });

  it('fails conditions with the observed value in the message', async () => {
    const outcome = await httpProbe(
      spec(`${base}/health`, { conditions: ['[BODY].status == DOWN'] }),
      probeContext(),
    );
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'condition failed: [BODY].status (UP) == DOWN',
    });
    expect(outcome.detail.bodySnippet).toContain('"status":"UP"');
  });

  it('lets conditions decide even for an error status', async () => {
    const outcome = await httpProbe(
      spec(`${base}/unavailable`, { conditions: ['[STATUS] == 503'] }),
      probeContext(),
    );
    expect(outcome.status).toBe('up');
  });

  it('fails [RESPONSE_TIME] on a slow handler', async () => {
    const outcome = await httpProbe(
      spec(`${base}/slow`, { conditions: ['[RESPONSE_TIME] < 50'] }),
      probeContext(),
    );
    expect(outcome.status).toBe('down');
    expect(outcome.message).toMatch(/^condition failed: \[RESPONSE_TIME\] \(\d+\) < 50$/);
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(100);
  });

  it('times out quickly when the server never answers', async () => {
    const started = performance.now();
    const outcome = await httpProbe(spec(`${base}/hang`), probeContext(200));
    expect(outcome).toMatchObject({ status: 'down', message: 'timed out after 200ms' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('says cancelled when aborted for another reason', async () => {
    const controller = new AbortController();
    const running = httpProbe(spec(`${base}/hang`), {
      cancel: Cancellation.fromSignal(controller.signal),
      timeoutMs: 5_000,
      baseDir: '.',
    });
    setTimeout(() => controller.abort(), 50);
    expect(await running).toMatchObject({ status: 'down', message: 'cancelled' });
  });

  it('is down with the DNS error for an unresolvable host', async () => {
    const outcome = await httpProbe(spec('http://nope.invalid/'), probeContext());
    expect(outcome.status).toBe('down');
    expect(outcome.message).toMatch(/ENOTFOUND nope\.invalid/);
  });

  it('is down with ECONNREFUSED when nothing listens', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await close(closed);
    const outcome = await httpProbe(spec(`http://127.0.0.1:${port}/`), probeContext());
    expect(outcome).toMatchObject({ status: 'down', message: `connect ECONNREFUSED 127.0.0.1:${port}` });
    expect(outcome.detail.code).toBe('ECONNREFUSED');
  });
});

describe('httpProbe over https with a self-signed certificate', () => {
  const certs = new CertificateDir();
  let pair: KeyPair;
  let server: ReturnType<typeof createHttpsServer>;
  let base = '';
  beforeAll(async () => {
    pair = certs.selfSigned('localhost', { days: 30, altNames: ['DNS:localhost', 'IP:127.0.0.1'] });
    server = createHttpsServer({ key: pair.key, cert: pair.cert }, handle);
    base = `https://localhost:${await listen(server)}`;
  });
  afterAll(async () => {
    await close(server);
    certs.remove();
  });

  it('fails verification without the ca', async () => {
    const outcome = await httpProbe(spec(`${base}/ok`), probeContext());
    expect(outcome.status).toBe('down');
    expect(outcome.message).toMatch(/self.signed certificate/i);
  });

  it('verifies with the ca file, relative to the config directory', async () => {
    const outcome = await httpProbe(
      spec(`${base}/ok`, { ca: 'localhost.crt' }),
      probeContext(5_000, certs.dir),
    );
    expect(outcome).toMatchObject({ status: 'up', detail: { statusCode: 200 } });
  });

  it('is down with the file error when the ca file is missing', async () => {
    const outcome = await httpProbe(
      spec(`${base}/ok`, { ca: 'missing.crt' }),
      probeContext(5_000, certs.dir),
    );
    expect(outcome).toMatchObject({ status: 'down', detail: { code: 'ENOENT' } });
  });

  it('skips verification when insecure', async () => {
    const outcome = await httpProbe(spec(`${base}/ok`, { insecure: true }), probeContext());
    expect(outcome.status).toBe('up');
  });

  it('offers [CERTIFICATE_EXPIRATION] from the connection', async () => {
    const conditions = ['[CERTIFICATE_EXPIRATION] > 29d', '[CERTIFICATE_EXPIRATION] < 31d'];
    const outcome = await httpProbe(spec(`${base}/ok`, { insecure: true, conditions }), probeContext());
    expect(outcome.detail.conditions).toMatchObject([{ ok: true }, { ok: true }]);
    expect(outcome.status).toBe('up');
  });
});
