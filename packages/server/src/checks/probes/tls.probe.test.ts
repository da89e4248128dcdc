import { createServer as createTcpServer } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsProbeSpec } from '../../config/schema.js';
import { tlsProbe } from './tls.probe.js';
import { CertificateDir, close, listen, probeContext, type KeyPair } from './testing.js';

const LOCAL_NAMES = ['DNS:localhost', 'IP:127.0.0.1'];

describe('tlsProbe', () => {
  const certs = new CertificateDir();
  const servers: Server[] = [];
  const ports: Record<'valid' | 'short' | 'other' | 'expired', number> = {
    valid: 0,
    short: 0,
    other: 0,
    expired: 0,
  };

  async function serve(pair: KeyPair): Promise<number> {
    const server = createServer({ key: pair.key, cert: pair.cert }, (socket) => socket.end());
    servers.push(server);
    return listen(server);
  }

  beforeAll(async () => {
    const ca = certs.authority('opsbook-test-ca');
    ports.valid = await serve(certs.issue(ca, 'valid', { days: 90, altNames: LOCAL_NAMES }));
    ports.short = await serve(certs.issue(ca, 'short', { days: 3, altNames: LOCAL_NAMES }));
    ports.other = await serve(certs.issue(ca, 'other', { days: 90, altNames: ['DNS:other.example'] }));
    // openssl accepts negative days: notAfter a day in the past.
    ports.expired = await serve(certs.issue(ca, 'expired', { days: -1, altNames: LOCAL_NAMES }));
  });
  afterAll(async () => {
    await Promise.all(servers.map(close));
    certs.remove();
  });

  function spec(port: number, extra: Partial<TlsProbeSpec> = {}): TlsProbeSpec {
    return { kind: 'tls', host: 'localhost', port, ca: 'opsbook-test-ca.crt', minDaysRemaining: 7, ...extra };
  }
  const context = () => probeContext(5_000, certs.dir);

  it('is up for a trusted 90-day certificate, with its facts', async () => {
    const outcome = await tlsProbe(spec(ports.valid), context());
    expect(outcome.status).toBe('up');
    expect(outcome.message).toMatch(/^certificate valid for 89 more days$/);
    expect(outcome.detail).toMatchObject({
      subject: 'CN=valid',
      issuer: 'CN=opsbook-test-ca',
      daysRemaining: 89,
      authorized: true,
      authorizationError: null,
      hostnameValid: true,
      fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
    expect(Date.parse(outcome.detail.validTo as string) - Date.now()).toBeGreaterThan(89 * 86_400_000);
  });

  it('checks an IP address against the certificate IP names, without SNI', async () => {
    const outcome = await tlsProbe(spec(ports.valid, { host: '127.0.0.1' }), context());
    expect(outcome).toMatchObject({ status: 'up', detail: { hostnameValid: true } });
  });

  it('is down when fewer days remain than minDaysRemaining', async () => {
    const outcome = await tlsProbe(spec(ports.short), context());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'certificate expires in 2 days (minimum 7)',
      detail: { daysRemaining: 2, authorized: true },
    });
    const lenient = await tlsProbe(spec(ports.short, { minDaysRemaining: 1 }), context());
    expect(lenient.status).toBe('up');
  });

  it('is down for an expired certificate, saying so rather than naming the chain error', async () => {
    const outcome = await tlsProbe(spec(ports.expired), context());
    expect(outcome).toMatchObject({
      status: 'down',
      message: expect.stringMatching(/^certificate expired on \d{4}-\d\d-\d\dT/),
      detail: { daysRemaining: -1, authorized: false, authorizationError: 'CERT_HAS_EXPIRED' },
    });
  });

  it('is down when the hostname does not match', async () => {
    const outcome = await tlsProbe(spec(ports.other), context());
    expect(outcome.status).toBe('down');
    expect(outcome.message).toMatch(/Host: localhost\. is not in the cert's altnames: DNS:other\.example/);
    expect(outcome.detail).toMatchObject({ hostnameValid: false, authorized: true });
    const named = await tlsProbe(
      spec(ports.other, { host: '127.0.0.1', serverName: 'other.example' }),
      context(),
    );
    expect(named.status).toBe('up');
  });

  it('is down for a chain it does not trust', async () => {
    const outcome = await tlsProbe(spec(ports.valid, { ca: undefined }), context());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      detail: {
        authorized: false,
        authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        hostnameValid: true,
      },
    });
  });

  it('evaluates conditions on the expiry', async () => {
    const passing = await tlsProbe(
      spec(ports.valid, { conditions: ['[CERTIFICATE_EXPIRATION] > 48h', '[CONNECTED] == true'] }),
      context(),
    );
    expect(passing.status).toBe('up');
    const failing = await tlsProbe(
      spec(ports.valid, { conditions: ['[CERTIFICATE_EXPIRATION] > 100d'] }),
      context(),
    );
    expect(failing).toMatchObject({
      status: 'down',
      message: expect.stringMatching(/^condition failed: \[CERTIFICATE_EXPIRATION\] \(\d+\) > 100d$/),
    });
  });

  it('is down with the connection error when nothing listens', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await close(closed);
    const outcome = await tlsProbe(spec(port), context());
    expect(outcome).toMatchObject({ status: 'down', detail: { code: 'ECONNREFUSED' } });
  });

  it('is down with the DNS error for an unresolvable host', async () => {
    const outcome = await tlsProbe(spec(443, { host: 'nope.invalid' }), context());
    expect(outcome.status).toBe('down');
    expect(outcome.message).toMatch(/ENOTFOUND nope\.invalid/);
  });

  it('times out when the server never completes the handshake', async () => {
    const silent = createTcpServer((socket) => socket.resume()); // reads the hello, never answers
    const port = await listen(silent);
    const started = performance.now();
    const outcome = await tlsProbe(spec(port), probeContext(200, certs.dir));
    expect(outcome).toMatchObject({ status: 'down', message: 'timed out after 200ms' });
    expect(performance.now() - started).toBeLessThan(1_000);
    await close(silent);
  });
});
