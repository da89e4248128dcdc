// Through a running Opsbook: a critical alert opens an incident, and the person on call gets the page on
// their webhook (a real HTTP server on loopback) through the notification outbox.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { waitFor } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';

interface Received {
  path: string;
  body: any;
}

async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', body: text ? JSON.parse(text) : undefined });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('on-call paging end to end', () => {
  let dir: string;
  let opsbook: Opsbook;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let call: ApiCall;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-oncall-'));
    receiver = await startReceiver();
    file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
notifications:
  receivers:
    - { name: ann-hook, webhook: { url: "${receiver.url}/ann" } }
    - { name: ben-hook, webhook: { url: "${receiver.url}/ben" } }
oncall:
  people:
    - { id: ann, name: Ann, notify: [ann-hook] }
    - { id: ben, name: Ben, notify: [ben-hook] }
  schedules:
    - id: primary
      name: Primary
      rotation: { type: daily, handoff: "00:00", start: "2020-01-01", participants: [ann] }
  escalationPolicies:
    - id: shop
      services: [shop]
      levels:
        - notify: [{ schedule: primary }]
          escalateAfter: 5m
        - notify: [{ person: ben }]
`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    call = apiCaller(() => opsbook.url);
  }, 30_000);

  afterAll(async () => {
    await opsbook?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a critical alert pages whoever is on call, and acknowledging stops the escalation', async () => {
    const pushed = await call('POST', '/api/v2/alerts', [
      {
        labels: { alertname: 'CheckoutErrors', service: 'shop', severity: 'critical' },
        annotations: { summary: 'checkout fails for 9% of requests' },
      },
    ]);
    expect(pushed.status).toBeLessThan(300);

    const page = await waitFor(
      () => receiver.received.find((r) => r.path === '/ann'),
      15_000,
      'the page to ann',
    );
    expect(page.body.incident).toMatchObject({
      id: 'INC-1',
      kind: 'page',
      services: ['shop'],
      page: { target: 'Ann (on call for Primary)', level: 1, loop: 1 },
    });
    expect(receiver.received.filter((r) => r.path === '/ben')).toEqual([]);

    const escalation = await call('GET', '/api/v1/incidents/INC-1/escalation');
    expect(escalation.body).toMatchObject({ status: 'active', policy: 'shop', level: 1, next: { level: 2 } });
    expect(escalation.body.history).toMatchObject([
      { person: 'ann', status: 'sent', receivers: ['ann-hook'] },
    ]);
    const incident = await call('GET', '/api/v1/incidents/INC-1');
    expect(incident.body.timeline.map((e: any) => e.text)).toContain(
      'Paged Ann (level 1, on call for Primary)',
    );

    expect((await call('POST', '/api/v1/incidents/INC-1/acknowledge', { actor: 'ann' })).status).toBe(200);
    const stopped = await waitFor(async () => {
      const state = await call('GET', '/api/v1/incidents/INC-1/escalation');
      return state.body.status === 'acknowledged' ? state.body : undefined;
    });
    expect(stopped.nextAt).toBeNull();

    const now = await call('GET', '/api/v1/oncall');
    expect(now.body.items[0].current).toMatchObject({ person: 'ann', personName: 'Ann' });
    const policies = await call('GET', '/api/v1/escalation-policies');
    expect(policies.body.items[0].levels[1].targets[0]).toMatchObject({ kind: 'person', id: 'ben' });
  });

  it('a reloaded config changes who is on call and who gets paged, without a restart', async () => {
    writeFileSync(file, readFileSync(file, 'utf8').replace('participants: [ann]', 'participants: [ben]'));
    expect((await opsbook.reload()).applied).toBe(true);
    const now = await call('GET', '/api/v1/oncall');
    expect(now.body.items[0].current.person).toBe('ben');

    await call('POST', '/api/v1/incidents', {
      title: 'Orders slow',
      severity: 'SEV2',
      services: ['shop'],
      actor: 'ann',
    });
    const page = await waitFor(
      () => receiver.received.find((r) => r.path === '/ben'),
      15_000,
      'the page to ben',
    );
    expect(page.body.incident.page).toMatchObject({ target: 'Ben (on call for Primary)', level: 1 });
  });
});
