// Intake, silences, maintenance windows and inhibition through the public API of a running Opsbook.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { apiCaller } from '../../../../test/api-caller.js';
import { startTarget, waitFor } from '../../../../test/target-server.js';
import { startDemoReceiver, type DemoReceiver } from '../../../../examples/demo-receiver.js';
import { Opsbook } from '../runtime/opsbook.js';

const logger = pino({ level: 'silent' });

describe('alerts API', () => {
  let dir: string;
  let opsbook: Opsbook;
  let receiver: DemoReceiver;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-alerts-api-'));
    receiver = await startDemoReceiver(0, '127.0.0.1', false);
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting:
  defaultRules: true
  maintenance:
    - { name: nightly, services: [batch], schedule: "0 3 * * *", duration: 1h, timezone: Europe/Berlin, comment: nightly jobs }
notifications:
  receivers:
    - { name: hook, webhook: { url: "${receiver.url}/notify" } }
  route: { receiver: hook, groupBy: [alertname, service], groupWait: 0s, groupInterval: 1s }
`,
    );
    opsbook = new Opsbook({ configFile: file, port: 0, logger });
    await opsbook.start();
    await opsbook.ready();
  }, 30_000);

  afterAll(async () => {
    await opsbook.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = apiCaller(() => opsbook.url);
  const post = (labels: Record<string, string>, extra: Record<string, unknown> = {}) =>
    call('POST', '/api/v2/alerts', [
      { labels, annotations: { summary: `${labels.alertname} on ${labels.service}` }, ...extra },
    ]);
  const alert = async (alertname: string, service: string) =>
    ((await call('GET', `/api/v1/alerts?alertname=${alertname}&service=${service}`)).body.items as any[])[0];

  it('lists the default rule pack with its health', async () => {
    const { body } = await call('GET', '/api/v1/rules');
    const high = body.items.find((r: any) => r.alert === 'HighErrorRate');
    expect(high).toMatchObject({
      source: 'default',
      severity: 'critical',
      windowSeconds: 300,
      state: 'inactive',
    });
    expect(high.expr).toContain('[300s]');
    await waitFor(
      async () => (await call('GET', '/api/v1/rules')).body.items.every((r: any) => r.health === 'ok'),
      10_000,
      'rules evaluated',
    );
  });

  it('takes alerts from Prometheus; a malformed body is a 400 that writes nothing', async () => {
    const bad = await call('POST', '/api/v2/alerts', [
      { labels: { service: 'x' } },
      { labels: { alertname: 'Ok' } },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/alertname is required/);
    expect(bad.body.error.field).toBe('[0].labels');
    const notJson = await call('POST', '/api/v2/alerts', '{"labels": ');
    expect(notJson.status).toBe(400);
    expect((await call('GET', '/api/v1/alerts?alertname=Ok')).body.total).toBe(0);

    expect((await post({ alertname: 'DiskFull', service: 'db', severity: 'critical' })).status).toBe(200);
    const listed = await alert('DiskFull', 'db');
    expect(listed).toMatchObject({
      state: 'firing',
      source: 'external',
      severity: 'critical',
      annotations: { summary: 'DiskFull on db' },
    });
    await waitFor(
      () => receiver.received.some((n: any) => n.alerts[0]?.labels.alertname === 'DiskFull'),
      10_000,
      'notified',
    );

    await post(
      { alertname: 'DiskFull', service: 'db', severity: 'critical' },
      { endsAt: new Date(Date.now() - 1000).toISOString() },
    );
    expect((await alert('DiskFull', 'db')).state).toBe('resolved');
    const history = await call('GET', '/api/v1/alerts/history?alertname=DiskFull');
    expect(history.body.items.map((h: any) => h.state)).toEqual(['resolved', 'firing']);
  });

  it('silences with matchers, expiry, and until the alert resolves', async () => {
    await post({ alertname: 'QueueBacklog', service: 'orders', severity: 'warning' });
    const bad = await call('POST', '/api/v1/silences', {
      matchers: ['service=~"(unclosed"'],
      duration: '1h',
      createdBy: 'ann',
      comment: 'x',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('matchers[0]');

    const created = await call('POST', '/api/v1/silences', {
      matchers: ['service="orders"'],
      duration: '1h',
      createdBy: 'ann',
      comment: 'deploying',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'active',
      matchers: ['service="orders"'],
      createdBy: 'ann',
    });
    expect(await alert('QueueBacklog', 'orders')).toMatchObject({
      suppressed: true,
      suppressedBy: { silences: [created.body.id] },
    });
    const expired = await call('DELETE', `/api/v1/silences/${created.body.id}`);
    expect(expired.body.status).toBe('expired');
    expect((await alert('QueueBacklog', 'orders')).suppressed).toBe(false);
    expect((await call('DELETE', `/api/v1/silences/${created.body.id}`)).status).toBe(409);

    const nothing = await call('POST', '/api/v1/silences', {
      matchers: ['service="ghost"'],
      untilResolved: true,
      createdBy: 'ann',
      comment: 'x',
    });
    expect(nothing.status).toBe(400);
    const until = await call('POST', '/api/v1/silences', {
      matchers: ['alertname="QueueBacklog"'],
      untilResolved: true,
      createdBy: 'ann',
      comment: 'known',
    });
    expect(until.body).toMatchObject({ untilResolved: true, endsAt: null, status: 'active' });
    await post(
      { alertname: 'QueueBacklog', service: 'orders', severity: 'warning' },
      { endsAt: new Date(Date.now() - 1000).toISOString() },
    );
    const silences = (await call('GET', '/api/v1/silences')).body.items as any[];
    expect(silences.find((s) => s.id === until.body.id).status).toBe('expired');
  });

  it('a critical alert inhibits the warnings of the same service', async () => {
    await post({ alertname: 'HighLatency', service: 'cart', severity: 'warning' });
    await post({ alertname: 'HighLatency', service: 'shop', severity: 'warning' });
    await post({ alertname: 'CartDown', service: 'cart', severity: 'critical' });
    const cartDown = await alert('CartDown', 'cart');
    expect((await alert('HighLatency', 'cart')).suppressedBy.inhibitedBy).toEqual([cartDown.fingerprint]);
    expect((await alert('HighLatency', 'shop')).suppressed).toBe(false);
  });

  it('maintenance windows mute a service; an alert still firing at the end notifies at once', async () => {
    const listed = (await call('GET', '/api/v1/maintenance')).body.items as any[];
    expect(listed.find((w) => w.name === 'nightly')).toMatchObject({
      source: 'config',
      schedule: '0 3 * * *',
      timezone: 'Europe/Berlin',
    });
    const bad = await call('POST', '/api/v1/maintenance', {
      name: 'x',
      services: ['a'],
      schedule: 'every day',
      duration: '1h',
      createdBy: 'ann',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('schedule');

    const window = await call('POST', '/api/v1/maintenance', {
      name: 'db upgrade',
      services: ['billing'],
      startsAt: Date.now(),
      duration: '2s',
      createdBy: 'ann',
      comment: 'PostgreSQL 16',
    });
    expect(window.status).toBe(201);
    expect(window.body.active).toBe(true);
    await post({ alertname: 'BillingErrors', service: 'billing', severity: 'critical' });
    expect((await alert('BillingErrors', 'billing')).suppressedBy.maintenance).toEqual(['db upgrade']);
    await new Promise((r) => setTimeout(r, 500));
    expect(
      receiver.received.some((n: any) => n.alerts.some((a: any) => a.labels.alertname === 'BillingErrors')),
    ).toBe(false);

    const got: any = await waitFor(
      () =>
        receiver.received.find((n: any) => n.alerts.some((a: any) => a.labels.alertname === 'BillingErrors')),
      6000,
      'notification when the window ends',
    );
    expect(got.reason).toBe('maintenance-ended');
    expect((await alert('BillingErrors', 'billing')).suppressed).toBe(false);
    expect(
      (await call('DELETE', `/api/v1/maintenance/${listed.find((w) => w.name === 'nightly').id}`)).status,
    ).toBe(409);
  }, 20_000);
});

describe('from alerts to incidents', () => {
  it('a critical alert opens an incident a person acknowledges; its resolve does not close it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-incidents-'));
    const file = join(dir, 'opsbook.yaml');
    const target = await startTarget();
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(
      join(dir, 'runbooks', 'errors.yaml'),
      `
id: shop-errors
title: Shop errors
triggers: { alerts: [HighErrorRate] }
steps:
  - { id: probe, title: Probe the shop, kind: http, url: "${target.url}/health" }
  - { id: look, title: Read the error logs, kind: manual }
`,
    );
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }\nalerting: { defaultRules: false }\nrunbooks: { dirs: [runbooks], builtin: false }\n`,
    );
    const opsbook = new Opsbook({ configFile: file, port: 0, logger });
    await opsbook.start();
    await opsbook.ready();
    const call = apiCaller(() => opsbook.url);
    try {
      const alert = {
        labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical' },
        annotations: { summary: '12% errors' },
      };
      await call('POST', '/api/v2/alerts', [
        alert,
        { labels: { alertname: 'SlowQueries', service: 'db', severity: 'warning' } },
      ]);
      const list = await waitFor(
        async () => {
          const { body } = await call('GET', '/api/v1/incidents');
          return body.items?.length ? body.items : undefined;
        },
        5000,
        'an incident',
      );
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ severity: 'SEV2', stage: 'detection' });
      const id = list[0].id as string;
      // The matching runbook's investigation ran at once; its evidence is on the timeline before the ack.
      const withRunbook = await waitFor(
        async () => {
          const { body } = await call('GET', `/api/v1/incidents/${id}`);
          return body.timeline?.some((e: any) => e.kind === 'runbook.step' && e.data?.stepId === 'probe')
            ? body
            : undefined;
        },
        10_000,
        'runbook evidence on the timeline',
      );
      const probe = withRunbook.timeline.find((e: any) => e.data?.stepId === 'probe');
      expect(probe).toMatchObject({ actor: 'opsbook', data: { status: 'succeeded', kind: 'http' } });
      expect(probe.text).toMatch(/^Probe the shop: succeeded/);
      expect(withRunbook.timeline.find((e: any) => e.data?.stepId === 'look').data.status).toBe('waiting');
      const ack = await call('POST', `/api/v1/incidents/${id}/acknowledge`, { actor: 'ann' });
      expect(ack.status).toBe(200);
      expect(ack.body).toMatchObject({ stage: 'triage', acknowledgedBy: 'ann' });

      await call('POST', '/api/v2/alerts', [{ ...alert, endsAt: new Date(Date.now() - 1000).toISOString() }]);
      const detail = await waitFor(
        async () => {
          const { body } = await call('GET', `/api/v1/incidents/${id}`);
          return body.timeline?.some((e: any) => e.kind === 'alert.resolved') ? body : undefined;
        },
        5000,
        'the resolve on the timeline',
      );
      expect(detail.stage).toBe('triage');
      expect(detail.timeline.map((e: any) => e.kind)).toEqual(
        expect.arrayContaining(['alert.firing', 'ack', 'alert.resolved']),
      );
    } finally {
      await opsbook.stop();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
