// The whole path of issue 3 with real parts: the example service is scraped, a rule goes pending then
// firing, one grouped notification reaches a webhook receiver, and the resolve follows.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { freePort } from '../../../../test/postgres-cluster.js';
import { waitFor } from '../../../../test/target-server.js';
import { startExampleService } from '../../../../examples/example-service/src/service.js';
import { startDemoReceiver, type DemoReceiver } from '../../../../examples/demo-receiver.js';
import { Opsbook } from '../runtime/opsbook.js';
import { testAuth } from '../../../../test/api-caller.js';

const logger = pino({ level: 'silent' });
type Notification = {
  status: string;
  reason: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
};

describe('alerts end to end', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-alerts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an error-rate rule goes pending then firing, one grouped notification, then the resolve', async () => {
    const example = await startExampleService({ port: 0 });
    const receiver = await startDemoReceiver(0, '127.0.0.1', false);
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
metrics:
  scrape:
    - { job: example-service, url: "${example.url}/metrics", interval: 1s, service: example-service }
alerting:
  evaluationInterval: 1s
  defaultRules: false
  rules:
    - alert: HighErrorRate
      expr: 100 * sum by (service) (rate(http_requests_total{status=~"5.."}[$window])) / sum by (service) (rate(http_requests_total[$window])) > 5
      window: 6s
      for: 2s
      severity: critical
      annotations: { summary: "{{ $labels.service }} error rate is {{ $value }}%" }
notifications:
  receivers:
    - { name: hook, webhook: { url: "${receiver.url}/notify" } }
  route: { receiver: hook, groupBy: [service], groupWait: 1s, groupInterval: 1s }
`,
    );
    const opsbook = new Opsbook({ configFile: file, port: 0, logger });
    let traffic = true;
    const load = (async () => {
      for (let i = 0; traffic && i < 2000; i++) {
        await fetch(`${example.url}/api/orders`)
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await opsbook.start();
      await opsbook.ready();
      const alerts = async () =>
        (
          (await (
            await fetch(`${opsbook.url}/api/v1/alerts?alertname=HighErrorRate`, { headers: testAuth() })
          ).json()) as {
            items: { state: string; labels: Record<string, string>; annotations: Record<string, string> }[];
          }
        ).items;
      await new Promise((r) => setTimeout(r, 2500)); // some healthy traffic first
      await fetch(`${example.url}/admin/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 1 }) });

      const pending = await waitFor(
        async () => (await alerts()).find((a) => a.state === 'pending'),
        20_000,
        'pending',
      );
      expect(pending.labels).toMatchObject({
        alertname: 'HighErrorRate',
        service: 'example-service',
        severity: 'critical',
      });
      const firing = await waitFor(
        async () => (await alerts()).find((a) => a.state === 'firing'),
        20_000,
        'firing',
      );
      expect(firing.annotations.summary).toMatch(/^example-service error rate is [\d.]+%$/);

      const first = await waitFor(
        () => receiver.received[0] as Notification | undefined,
        20_000,
        'notification',
      );
      expect(first).toMatchObject({
        status: 'firing',
        reason: 'new',
        groupLabels: { service: 'example-service' },
      });
      expect(first.alerts.map((a) => a.labels.alertname)).toEqual(['HighErrorRate']);

      await fetch(`${example.url}/admin/faults`, { method: 'DELETE' });
      await waitFor(async () => (await alerts()).find((a) => a.state === 'resolved'), 30_000, 'resolved');
      const resolved = await waitFor(
        () => (receiver.received as Notification[]).find((n) => n.status === 'resolved'),
        20_000,
        'resolve notification',
      );
      expect(resolved.alerts[0]).toMatchObject({
        status: 'resolved',
        labels: { alertname: 'HighErrorRate' },
      });
      expect((receiver.received as Notification[]).filter((n) => n.status === 'firing')).toHaveLength(1);

      const history = (await (
        await fetch(`${opsbook.url}/api/v1/alerts/history?alertname=HighErrorRate`, { headers: testAuth() })
      ).json()) as { items: { state: string }[] };
      expect(history.items.map((h) => h.state)).toEqual(['resolved', 'firing', 'pending']);
      const log = (await (
        await fetch(`${opsbook.url}/api/v1/notifications`, { headers: testAuth() })
      ).json()) as {
        items: { status: string }[];
      };
      expect(log.items.map((d) => d.status)).toEqual(['delivered', 'delivered']);
    } finally {
      traffic = false;
      await load;
      await opsbook.stop();
      await example.close();
      await receiver.close();
    }
  }, 120_000);

  it('a notification queued before kill -9 is delivered after the restart', async () => {
    const port = await freePort();
    const receiverPort = await freePort();
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
server: { port: ${port}, host: 127.0.0.1 }
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
notifications:
  receivers:
    - { name: hook, webhook: { url: "http://127.0.0.1:${receiverPort}/notify" } }
  route: { receiver: hook, groupWait: 0s }
`,
    );
    const bin = resolve(import.meta.dirname, '../../bin/opsbook.js');
    const serve = () =>
      spawn(process.execPath, [bin, 'serve', '--config', file], {
        env: { ...process.env, OPSBOOK_LOG_LEVEL: 'error' },
        stdio: 'ignore',
      });
    const url = `http://127.0.0.1:${port}`;
    const ready = () =>
      waitFor(
        async () => (await fetch(`${url}/actuator/health/readiness`).catch(() => undefined))?.ok,
        20_000,
        'ready',
      );
    let receiver: DemoReceiver | undefined;
    let child = serve();
    try {
      await ready();
      const posted = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { ...testAuth(), 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname: 'DiskFull', service: 'db', severity: 'critical' },
            annotations: { summary: 'disk full' },
          },
        ]),
      });
      expect(posted.status).toBe(200);
      // The receiver is down: the delivery is written and retried, not dropped.
      await waitFor(
        async () => {
          const log = (await (
            await fetch(`${url}/api/v1/notifications`, { headers: testAuth() })
          ).json()) as {
            items: { attemptCount: number; status: string }[];
          };
          return log.items[0] && log.items[0].attemptCount >= 1 && log.items[0].status === 'pending';
        },
        20_000,
        'a failed attempt',
      );
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      receiver = await startDemoReceiver(receiverPort, '127.0.0.1', false);
      child = serve();
      await ready();
      const got = await waitFor(
        () => receiver!.received[0] as Notification | undefined,
        30_000,
        'delivery after restart',
      );
      expect(got.alerts[0]!.labels).toMatchObject({ alertname: 'DiskFull', service: 'db' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      await receiver?.close();
    }
  }, 90_000);
});
