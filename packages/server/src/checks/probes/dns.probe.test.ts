import dns2, { type Resource } from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsProbeSpec } from '../../config/schema.js';
import { dnsProbe } from './dns.probe.js';
import { probeContext } from './testing.js';
import { Cancellation } from '../../lib/cancellation.js';

const { Packet } = dns2;
// Response codes from RFC 1035; dns2 has Packet.RCODE but its types do not declare it.
const SERVFAIL = 2;
const NXDOMAIN = 3;

/** A real DNS server on 127.0.0.1: svc.test has two A records, slow.test never answers, the rest is NXDOMAIN. */
const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const name = request.questions[0]?.name;
    if (name === 'slow.test') return;
    if (name === 'svc.test') {
      for (const address of ['127.0.0.9', '127.0.0.10'])
        response.answers.push({
          name,
          type: Packet.TYPE.A,
          class: Packet.CLASS.IN,
          ttl: 60,
          address,
        } as Resource);
    } else if (name === 'empty.test') {
      // NOERROR without answers
    } else if (name === 'broken.test') {
      response.header.rcode = SERVFAIL;
    } else {
      response.header.rcode = NXDOMAIN;
    }
    void send(response);
  },
});

describe('dnsProbe', () => {
  let address = '';
  beforeAll(async () => {
    const { udp } = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
    address = `127.0.0.1:${udp!.port}`;
  });
  afterAll(() => server.close());

  const spec = (name: string, extra: Partial<DnsProbeSpec> = {}): DnsProbeSpec => ({
    kind: 'dns',
    name,
    type: 'A',
    server: address,
    ...extra,
  });

  it('is up with the answers', async () => {
    const outcome = await dnsProbe(spec('svc.test'), probeContext());
    expect(outcome).toMatchObject({
      status: 'up',
      message: 'A svc.test: 127.0.0.9, 127.0.0.10',
      detail: { rcode: 'NOERROR', answers: ['127.0.0.9', '127.0.0.10'] },
    });
  });

  it('is down on NXDOMAIN', async () => {
    const outcome = await dnsProbe(spec('missing.test'), probeContext());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'A missing.test: NXDOMAIN',
      detail: { rcode: 'NXDOMAIN', answers: [] },
    });
  });

  it('is down on SERVFAIL and on an empty answer', async () => {
    expect(await dnsProbe(spec('broken.test'), probeContext())).toMatchObject({
      status: 'down',
      detail: { rcode: 'SERVFAIL' },
    });
    expect(await dnsProbe(spec('empty.test'), probeContext())).toMatchObject({
      status: 'down',
      message: 'A empty.test: no answers',
      detail: { rcode: 'NOERROR' },
    });
  });

  it('lets conditions decide, with [IP] the first address', async () => {
    const passing = await dnsProbe(
      spec('svc.test', { conditions: ['[IP] == 127.0.0.9', '[DNS_RCODE] == NOERROR'] }),
      probeContext(),
    );
    expect(passing.status).toBe('up');
    const failing = await dnsProbe(spec('svc.test', { conditions: ['[IP] == 127.0.0.1'] }), probeContext());
    expect(failing).toMatchObject({
      status: 'down',
      message: 'condition failed: [IP] (127.0.0.9) == 127.0.0.1',
    });
  });

  it('can expect NXDOMAIN through conditions', async () => {
    const outcome = await dnsProbe(
      spec('gone.test', { conditions: ['[DNS_RCODE] == NXDOMAIN'] }),
      probeContext(),
    );
    expect(outcome).toMatchObject({ status: 'up', detail: { rcode: 'NXDOMAIN' } });
  });

  it('stops waiting when its signal times out', async () => {
    const started = performance.now();
    const outcome = await dnsProbe(spec('slow.test'), probeContext(200));
    expect(outcome).toMatchObject({ status: 'down', message: 'timed out after 200ms' });
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('reports TIMEOUT when the resolver gives up first', async () => {
    const patient = { cancel: new Cancellation(), timeoutMs: 200, baseDir: '.' };
    const outcome = await dnsProbe(spec('slow.test'), patient);
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'A slow.test: TIMEOUT',
      detail: { rcode: 'TIMEOUT' },
    });
  });

  it('is down for a malformed server address instead of throwing', async () => {
    const outcome = await dnsProbe(spec('svc.test', { server: 'not an address' }), probeContext());
    expect(outcome).toMatchObject({ status: 'down', message: expect.stringContaining('bad DNS server') });
  });
});
