import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { OpsbookWebhookPayload } from '@opsbook/contracts';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import { receiverSchema, type ReceiverConfig } from '../config/notifications.schema.js';
import { openStore } from '../storage/db.js';
import {
  OutboxRepository,
  type DeliveryStatus,
  type DeliverySummaryRow,
} from '../storage/outbox.repository.js';
import { dedupKey } from './channels/pagerduty.channel.js';
import { idempotencyKey, Outbox, type OutboxOptions } from './outbox.js';
import {
  alert,
  freePort,
  resolvedNotification,
  sampleNotification,
  startReceiver,
  startSmtp,
  T0,
  type TestReceiver,
} from './outbox.testing.js';
import type { Notification } from './notification.types.js';

const logger = pino({ level: 'silent' });
const GROUP = '{}/{severity="critical"}:{alertname="HighErrorRate", service="shop"}';
const DESCRIPTION = 'More than 5% of requests failed for 5 minutes.';
const SOURCE = 'http://opsbook.example/query?expr=rate';

function receiver(input: Record<string, unknown>): ReceiverConfig {
  return receiverSchema.parse({ name: 'ops', ...input });
}

describe.each(ENGINES)('notification outbox on %s', (engine) => {
  let t: TestStore;
  let repo: OutboxRepository;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    t = await openTestStore(engine);
    repo = new OutboxRepository(t.store.db);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await t.cleanup();
  });

  async function http(): Promise<TestReceiver> {
    const r = await startReceiver();
    cleanups.push(() => r.close());
    return r;
  }

  function outbox(receivers: ReceiverConfig[], options: Partial<OutboxOptions> = {}): Outbox {
    const o = new Outbox({
      store: t.store,
      logger,
      receivers,
      pollIntervalMs: 50,
      backoff: { initialMs: 20, maxMs: 100 },
      timeoutMs: 2000,
      stopTimeoutMs: 200,
      ...options,
    });
    cleanups.push(() => o.stop());
    return o;
  }

  async function settled(count: number, status: DeliveryStatus = 'delivered'): Promise<DeliverySummaryRow[]> {
    return waitFor(
      async () => {
        const rows = await repo.list({ limit: 1000, status });
        return rows.length >= count ? rows : undefined;
      },
      10_000,
      `${count} ${status} deliveries`,
    );
  }

  /** Every stored byte of the outbox, to prove secrets never reach it. */
  async function everythingStored(): Promise<string> {
    const deliveries = await t.store.db.selectFrom('notification_deliveries').selectAll().execute();
    const attempts = await t.store.db.selectFrom('notification_attempts').selectAll().execute();
    return JSON.stringify({ deliveries, attempts });
  }

  it('stores a delivery per receiver channel before sending, once per notification', async () => {
    const hook = await http();
    const ops = receiver({
      webhook: { url: `${hook.url}/hook` },
      slack: { url: `${hook.url}/services/T0/B0/slacktoken` },
    });
    const o = outbox([ops]);
    const n = sampleNotification();
    await o.enqueue(n);
    await o.enqueue(n); // the dispatcher repeating a notification after a crash adds nothing
    const rows = await repo.list({ limit: 10 });
    expect(rows.map((r) => [r.channel, r.status, r.idempotency_key]).sort()).toEqual([
      ['slack', 'pending', idempotencyKey(n, 'slack')],
      ['webhook', 'pending', idempotencyKey(n, 'webhook')],
    ]);
    expect(hook.requests).toHaveLength(0);

    await o.enqueue(sampleNotification({ receiver: 'nobody' }));
    await outbox([{ ...ops, sendResolved: false }]).enqueue(resolvedNotification());
    expect(await repo.list({ limit: 10 })).toHaveLength(2);

    await o.start();
    await settled(2);
    expect(hook.requests.map((r) => r.path).sort()).toEqual(['/hook', '/services/T0/B0/slacktoken']);
  });

  it('posts the documented opsbook JSON with the Idempotency-Key header', async () => {
    const hook = await http();
    const o = outbox([
      receiver({ webhook: { url: `${hook.url}/hook`, headers: { Authorization: 'Bearer hook-secret-1' } } }),
    ]);
    const n = sampleNotification();
    const key = idempotencyKey(n, 'webhook');
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    await o.start();
    await o.enqueue(n);
    const [row] = await settled(1);

    expect(hook.requests).toHaveLength(1);
    const request = hook.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['idempotency-key']).toBe(key);
    expect(request.headers.authorization).toBe('Bearer hook-secret-1');
    expect(request.body).toEqual({
      version: '1',
      idempotencyKey: key,
      groupKey: GROUP,
      sequence: 1,
      status: 'firing',
      reason: 'new',
      receiver: 'ops',
      groupLabels: { alertname: 'HighErrorRate', service: 'shop' },
      commonLabels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical' },
      commonAnnotations: { description: DESCRIPTION },
      externalUrl: 'http://opsbook.example',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical', instance: 'shop-1' },
          annotations: { summary: 'Error rate above 5% on shop-1', description: DESCRIPTION },
          startsAt: '2026-11-26T09:00:00.000Z',
          endsAt: null,
          fingerprint: 'fp-shop-1',
          generatorUrl: SOURCE,
          suppressedBy: { silences: [], inhibitedBy: [], maintenance: [] },
        },
        {
          status: 'firing',
          labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical', instance: 'shop-2' },
          annotations: { summary: 'Error rate above 5% on shop-2', description: DESCRIPTION },
          startsAt: '2026-11-26T09:00:01.500Z',
          endsAt: null,
          fingerprint: 'fp-shop-2',
          generatorUrl: SOURCE,
          suppressedBy: { silences: [], inhibitedBy: [], maintenance: [] },
        },
      ],
    });
    expect(OpsbookWebhookPayload.safeParse(request.body).success).toBe(true);

    expect(row).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200, last_error: null });
    expect(row!.delivered_at).toBeGreaterThan(0);
    const attempts = await repo.attempts(row!.id);
    expect(attempts).toMatchObject([{ attempt: 1, ok: 1, status: 200, response: 'ok', error: null }]);
    expect(attempts[0]!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(await everythingStored()).not.toContain('hook-secret-1');
  });

  it('posts the exact Alertmanager webhook v4 body in alertmanager format', async () => {
    const hook = await http();
    const o = outbox([receiver({ webhook: { url: `${hook.url}/am`, format: 'alertmanager' } })]);
    const n = sampleNotification({
      alerts: [
        alert({ instance: 'shop-1' }),
        alert({ instance: 'shop-2', status: 'resolved', startsAt: T0 + 1500, endsAt: T0 + 60_250 }),
      ],
      reason: 'update',
      sequence: 4,
    });
    await o.start();
    await o.enqueue(n);
    await settled(1);
    expect(hook.requests[0]!.headers['idempotency-key']).toBe(idempotencyKey(n, 'webhook'));
    expect(hook.requests[0]!.body).toEqual({
      receiver: 'ops',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical', instance: 'shop-1' },
          annotations: { summary: 'Error rate above 5% on shop-1', description: DESCRIPTION },
          startsAt: '2026-11-26T09:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: SOURCE,
          fingerprint: 'fp-shop-1',
        },
        {
          status: 'resolved',
          labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical', instance: 'shop-2' },
          annotations: { summary: 'Error rate above 5% on shop-2', description: DESCRIPTION },
          startsAt: '2026-11-26T09:00:01.5Z',
          endsAt: '2026-11-26T09:01:00.25Z',
          generatorURL: SOURCE,
          fingerprint: 'fp-shop-2',
        },
      ],
      groupLabels: { alertname: 'HighErrorRate', service: 'shop' },
      commonLabels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical' },
      commonAnnotations: { description: DESCRIPTION },
      externalURL: 'http://opsbook.example',
      version: '4',
      groupKey: GROUP,
      truncatedAlerts: 0,
    });
  });

  it('sends Slack blocks with a text fallback and never stores the webhook token', async () => {
    const slack = await http();
    const o = outbox([
      receiver({ slack: { url: `${slack.url}/services/T000/B000/XXSLACKTOKENXX`, channel: '#alerts' } }),
    ]);
    const n = sampleNotification({
      alerts: [
        alert({ instance: 'shop-1' }),
        alert({
          instance: 'shop-2',
          annotations: { summary: 'Errors > 5% & <rising>', description: DESCRIPTION },
        }),
      ],
    });
    await o.start();
    await o.enqueue(n);
    const [row] = await settled(1);
    expect(slack.requests[0]!.path).toBe('/services/T000/B000/XXSLACKTOKENXX');
    expect(slack.requests[0]!.body).toEqual({
      text: '[FIRING:2] HighErrorRate service=shop',
      channel: '#alerts',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '[FIRING:2] HighErrorRate service=shop' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Service*\nshop' },
            { type: 'mrkdwn', text: '*Severity*\ncritical' },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `*Firing:* HighErrorRate \`instance=shop-1\`\n*Summary:* Error rate above 5% on shop-1\n*Description:* ${DESCRIPTION}\n<${SOURCE}|Source>`,
          },
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `*Firing:* HighErrorRate \`instance=shop-2\`\n*Summary:* Errors &gt; 5% &amp; &lt;rising&gt;\n*Description:* ${DESCRIPTION}\n<${SOURCE}|Source>`,
          },
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open in Opsbook' },
              url: 'http://opsbook.example',
            },
          ],
        },
      ],
    });
    expect(row!.target).toBe(`${slack.url}/*** #alerts`);
    expect(await everythingStored()).not.toContain('XXSLACKTOKENXX');
  });

  it('sends Teams an Adaptive Card in a message envelope', async () => {
    const teams = await http();
    teams.reply = () => ({ status: 202 });
    const o = outbox([receiver({ teams: { url: `${teams.url}/webhookb2/TEAMSTOKEN/IncomingWebhook/x` } })]);
    await o.start();
    await o.enqueue(
      resolvedNotification({ alerts: [{ ...alert(), status: 'resolved', endsAt: T0 + 590_000 }] }),
    );
    const [row] = await settled(1);
    expect(teams.requests[0]!.body).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              {
                type: 'TextBlock',
                text: '[RESOLVED] HighErrorRate service=shop',
                wrap: true,
                weight: 'Bolder',
                size: 'Medium',
                color: 'Good',
              },
              {
                type: 'FactSet',
                facts: [
                  { title: 'Service', value: 'shop' },
                  { title: 'Severity', value: 'critical' },
                  { title: 'Firing', value: '0' },
                  { title: 'Resolved', value: '1' },
                ],
              },
              {
                type: 'TextBlock',
                text: '**Resolved:** HighErrorRate (instance=shop-1)',
                wrap: true,
                spacing: 'Medium',
                separator: true,
              },
              { type: 'TextBlock', text: 'Error rate above 5% on shop-1', wrap: true },
              { type: 'TextBlock', text: DESCRIPTION, wrap: true, isSubtle: true },
              {
                type: 'TextBlock',
                text: 'Started 2026-11-26T09:00:00.000Z, resolved 2026-11-26T09:09:50.000Z',
                wrap: true,
                isSubtle: true,
              },
            ],
            actions: [
              { type: 'Action.OpenUrl', title: 'Open in Opsbook', url: 'http://opsbook.example' },
              { type: 'Action.OpenUrl', title: 'Source', url: SOURCE },
            ],
            msteams: { width: 'Full' },
          },
        },
      ],
    });
    expect(row).toMatchObject({ status: 'delivered', last_status: 202, target: `${teams.url}/***` });
    expect(await everythingStored()).not.toContain('TEAMSTOKEN');
  });

  it('triggers and then resolves one PagerDuty incident under the same dedup_key', async () => {
    const pd = await http();
    pd.reply = () => ({
      status: 202,
      headers: { 'content-type': 'application/json' },
      body: '{"status":"success","message":"Event processed"}',
    });
    const o = outbox([
      receiver({ pagerduty: { routingKey: 'R0UTINGKEY0123456789', url: `${pd.url}/v2/enqueue` } }),
    ]);
    // Both stored before the worker starts: the resolve must still follow the trigger.
    await o.enqueue(resolvedNotification());
    await o.enqueue(sampleNotification());
    await o.start();
    await settled(2);
    const [trigger, resolve] = pd.requests.map((r) => r.body as any);
    const key = dedupKey(GROUP);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(trigger).toEqual({
      routing_key: 'R0UTINGKEY0123456789',
      event_action: 'trigger',
      dedup_key: key,
      client: 'Opsbook',
      client_url: 'http://opsbook.example',
      payload: {
        summary: '[FIRING:2] HighErrorRate service=shop',
        source: 'shop',
        severity: 'critical',
        timestamp: '2026-11-26T09:00:00.000Z',
        component: 'shop',
        class: 'HighErrorRate',
        custom_details: {
          firing: 2,
          resolved: 0,
          groupKey: GROUP,
          groupLabels: { alertname: 'HighErrorRate', service: 'shop' },
          commonLabels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical' },
          commonAnnotations: { description: DESCRIPTION },
          alerts: [
            {
              labels: 'instance=shop-1',
              summary: 'Error rate above 5% on shop-1',
              startsAt: '2026-11-26T09:00:00.000Z',
            },
            {
              labels: 'instance=shop-2',
              summary: 'Error rate above 5% on shop-2',
              startsAt: '2026-11-26T09:00:01.500Z',
            },
          ],
        },
      },
      links: [
        { href: 'http://opsbook.example', text: 'Open in Opsbook' },
        { href: SOURCE, text: 'Source' },
      ],
    });
    expect(resolve).toEqual({
      routing_key: 'R0UTINGKEY0123456789',
      event_action: 'resolve',
      dedup_key: key,
      client: 'Opsbook',
      client_url: 'http://opsbook.example',
    });
    expect(await everythingStored()).not.toContain('R0UTINGKEY0123456789');
  });

  it('maps PagerDuty severities and keeps the summary within 1024 characters', async () => {
    const pd = await http();
    pd.reply = () => ({ status: 202 });
    const o = outbox([receiver({ pagerduty: { routingKey: 'rk-severity', url: `${pd.url}/v2/enqueue` } })]);
    await o.start();
    const groups = ['warning', 'info', 'page'];
    for (const severity of groups)
      await o.enqueue(
        sampleNotification({
          groupKey: `{}:{severity="${severity}"}`,
          groupLabels: { alertname: 'Disk', severity },
          commonLabels: { alertname: 'Disk', severity },
          commonAnnotations: { summary: 'x'.repeat(2000) },
          alerts: [alert({ labels: { alertname: 'Disk', severity }, annotations: {} })],
        }),
      );
    await settled(3);
    const bodies = pd.requests.map((r) => r.body as any);
    expect(new Set(bodies.map((b) => b.dedup_key)).size).toBe(3);
    expect(bodies.map((b) => b.payload.severity).sort()).toEqual(['error', 'info', 'warning']);
    for (const b of bodies) {
      expect(b.payload.summary).toHaveLength(1024);
      expect(b.payload.summary.startsWith('[FIRING:1] Disk severity=')).toBe(true);
    }
  });

  it('emails through SMTP with subject, text, HTML and a Message-ID from the idempotency key', async () => {
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const o = outbox([
      receiver({
        email: {
          to: ['oncall@example.com', 'sre@example.com'],
          from: 'opsbook@example.com',
          smtp: { host: '127.0.0.1', port: smtp.port, user: 'opsbook', password: 'smtp-pa55word' },
        },
      }),
    ]);
    const n = sampleNotification();
    const key = idempotencyKey(n, 'email');
    await o.start();
    await o.enqueue(n);
    const [row] = await settled(1);
    expect(smtp.logins).toEqual([{ user: 'opsbook', password: 'smtp-pa55word' }]);
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.from).toBe('opsbook@example.com');
    expect(mail.to).toEqual(['oncall@example.com', 'sre@example.com']);
    expect(mail.headers.subject).toBe('[FIRING:2] HighErrorRate service=shop');
    expect(mail.headers['message-id']).toBe(`<${key}@example.com>`);
    expect(mail.headers['x-opsbook-idempotency-key']).toBe(key);
    expect(mail.headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(mail.text.trim()).toBe(
      [
        '[FIRING:2] HighErrorRate service=shop',
        '',
        'Firing (2):',
        '- HighErrorRate instance=shop-1',
        '  Summary: Error rate above 5% on shop-1',
        `  Description: ${DESCRIPTION}`,
        '  Started: 2026-11-26T09:00:00.000Z',
        `  Source: ${SOURCE}`,
        '- HighErrorRate instance=shop-2',
        '  Summary: Error rate above 5% on shop-2',
        `  Description: ${DESCRIPTION}`,
        '  Started: 2026-11-26T09:00:01.500Z',
        `  Source: ${SOURCE}`,
        '',
        `Group: ${GROUP}`,
        'Open: http://opsbook.example',
      ].join('\n'),
    );
    expect(mail.html).toContain('<h2>[FIRING:2] HighErrorRate service=shop</h2>');
    expect(mail.html).toContain('Error rate above 5% on shop-2');
    expect(mail.html).toContain(
      'Group {}/{severity=&quot;critical&quot;}:{alertname=&quot;HighErrorRate&quot;',
    );
    expect(mail.html).toContain('<a href="http://opsbook.example">Open in Opsbook</a>');
    expect(row).toMatchObject({
      status: 'delivered',
      last_status: 250,
      target: `smtp://127.0.0.1:${smtp.port} → oncall@example.com, sre@example.com`,
    });
    expect((await repo.attempts(row!.id))[0]!.response).toMatch(/^250 /);
    expect(await everythingStored()).not.toContain('smtp-pa55word');
  });

  it('retries SMTP 4xx replies and gives up on 5xx', async () => {
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    smtp.rejectWith.push(451);
    const email = (to: string) =>
      receiver({
        name: to,
        email: { to: [to], from: 'opsbook@example.com', smtp: { host: '127.0.0.1', port: smtp.port } },
      });
    const o = outbox([email('a@example.com'), email('b@example.com')]);
    await o.enqueue(sampleNotification({ receiver: 'a@example.com' }));
    await o.start();
    const [a] = await settled(1);
    expect(a).toMatchObject({ receiver: 'a@example.com', attempts: 2 });
    expect((await repo.attempts(a!.id)).map((x) => [x.status, x.retryable])).toEqual([
      [451, 1],
      [250, 0],
    ]);

    smtp.rejectWith.push(550);
    await o.enqueue(sampleNotification({ receiver: 'b@example.com' }));
    const [b] = await settled(1, 'failed');
    expect(b).toMatchObject({ receiver: 'b@example.com', attempts: 1, last_status: 550 });
    expect(b!.last_error).toContain('550');
    expect(smtp.mails).toHaveLength(1);
  });

  it('retries a 500 and sends the same idempotency key again', async () => {
    const hook = await http();
    hook.reply = (_, i) =>
      i === 0 ? { status: 500, body: 'database is down' } : { status: 200, body: 'ok' };
    const o = outbox([receiver({ webhook: { url: `${hook.url}/hook` } })]);
    await o.start();
    await o.enqueue(sampleNotification());
    const [row] = await settled(1);
    expect(hook.requests).toHaveLength(2);
    const keys = hook.requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toBe(keys[1]);
    expect(hook.requests.map((r) => (r.body as any).idempotencyKey)).toEqual(keys);
    expect(row).toMatchObject({ attempts: 2, status: 'delivered', last_error: null });
    expect(await repo.attempts(row!.id)).toMatchObject([
      {
        attempt: 1,
        ok: 0,
        retryable: 1,
        status: 500,
        response: 'database is down',
        error: 'HTTP 500: database is down',
      },
      { attempt: 2, ok: 1, status: 200 },
    ]);
  });

  it('waits as long as a 429 Retry-After says', async () => {
    const hook = await http();
    hook.reply = (_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    const o = outbox([receiver({ webhook: { url: `${hook.url}/hook` } })]);
    await o.start();
    await o.enqueue(sampleNotification());
    const [row] = await settled(1);
    expect(hook.requests).toHaveLength(2);
    // The backoff alone would retry after 10-20 ms.
    expect(hook.requests[1]!.at - hook.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect((await repo.attempts(row!.id)).map((a) => a.status)).toEqual([429, 200]);
  });

  it('does not retry a 400', async () => {
    const hook = await http();
    hook.reply = () => ({ status: 400, body: 'invalid payload' });
    const o = outbox([receiver({ webhook: { url: `${hook.url}/hook` } })]);
    await o.start();
    await o.enqueue(sampleNotification());
    const [row] = await settled(1, 'failed');
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.requests).toHaveLength(1);
    expect(row).toMatchObject({ attempts: 1, last_status: 400, last_error: 'HTTP 400: invalid payload' });
    expect(await repo.attempts(row!.id)).toMatchObject([{ ok: 0, retryable: 0, status: 400 }]);
  });

  it('keeps each group in sequence order while the receiver is down, then delivers all', async () => {
    const port = await freePort();
    const o = outbox([receiver({ webhook: { url: `http://127.0.0.1:${port}/hook` } })]);
    const other = '{}:{alertname="DiskFull"}';
    // Stored out of order and across two groups.
    for (const sequence of [3, 1, 5, 2, 4]) await o.enqueue(sampleNotification({ sequence }));
    for (const sequence of [2, 3, 1]) await o.enqueue(sampleNotification({ sequence, groupKey: other }));
    await o.start();

    // Only the first of each group is tried while the port refuses connections.
    const heads = await waitFor(async () => {
      const rows = await repo.list({ limit: 100 });
      const tried = rows.filter((r) => r.attempts > 0);
      return tried.length === 2 && tried.every((r) => r.attempts >= 3) ? tried : undefined;
    });
    expect(heads.map((r) => r.sequence)).toEqual([1, 1]);
    expect(heads[0]!.last_error).toMatch(/ECONNREFUSED/);
    // Still retrying, never given up: the head may be mid-attempt when read.
    expect(['pending', 'sending']).toContain(heads[0]!.status);

    const hook = await startReceiver(port);
    cleanups.push(() => hook.close());
    await settled(8);
    const order = (group: string) =>
      hook.requests
        .map((r) => r.body as any)
        .filter((b) => b.groupKey === group)
        .map((b) => b.sequence);
    expect(order(GROUP)).toEqual([1, 2, 3, 4, 5]);
    expect(order(other)).toEqual([1, 2, 3]);
    expect(hook.requests).toHaveLength(8);
  });

  it('sends a later delivery of a group once the earlier one has failed for good', async () => {
    const hook = await http();
    hook.reply = (request) => ((request.body as any).sequence === 1 ? { status: 410 } : { status: 200 });
    const o = outbox([receiver({ webhook: { url: `${hook.url}/hook` } })]);
    await o.enqueue(sampleNotification({ sequence: 1 }));
    await o.enqueue(sampleNotification({ sequence: 2 }));
    await o.start();
    await settled(1, 'failed');
    await settled(1, 'delivered');
    expect(hook.requests.map((r) => (r.body as any).sequence)).toEqual([1, 2]);
  });

  it('bounds how many deliveries are sent at once across groups', async () => {
    const hook = await http();
    hook.reply = () => ({ status: 200, delayMs: 150 });
    const o = outbox([receiver({ webhook: { url: `${hook.url}/hook` } })], { concurrency: 2 });
    for (let i = 0; i < 6; i++) await o.enqueue(sampleNotification({ groupKey: `{}:{n="${i}"}` }));
    await o.start();
    await settled(6);
    expect(hook.maxActive).toBe(2);
  });

  it('resends a delivery a crash left mid-send, from a new outbox over the same database', async () => {
    const hook = await http();
    const ops = receiver({ webhook: { url: `${hook.url}/hook` } });
    // The first process stored two notifications and crashed while sending the first one.
    const crashed = outbox([ops]);
    await crashed.enqueue(sampleNotification({ sequence: 1 }));
    await crashed.enqueue(sampleNotification({ sequence: 2 }));
    await t.store.db
      .updateTable('notification_deliveries')
      .set({ status: 'sending' })
      .where('sequence', '=', 1)
      .execute();

    const store = await openStore({ url: t.url });
    cleanups.push(() => store.close());
    const restarted = new Outbox({ store, logger, receivers: [ops], pollIntervalMs: 50 });
    cleanups.push(() => restarted.stop());
    await restarted.start();
    await settled(2);
    expect(hook.requests.map((r) => (r.body as any).sequence)).toEqual([1, 2]);
  });

  it('cancels a hung send on stop and sends it again, with the same key, after a restart', async () => {
    const hook = await http();
    hook.reply = (_, i) => (i === 0 ? { status: 200, delayMs: 5000 } : { status: 200 });
    const ops = receiver({ webhook: { url: `${hook.url}/hook` } });
    const first = outbox([ops]);
    await first.start();
    await first.enqueue(sampleNotification());
    await waitFor(() => hook.requests.length === 1 || undefined);
    await first.stop();
    const [row] = await repo.list({ limit: 10 });
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: 'cancelled: outbox stopped' });

    const second = outbox([ops]);
    await second.start();
    await settled(1);
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.headers['idempotency-key']).toBe(hook.requests[0]!.headers['idempotency-key']);
  });

  it('times out a slow receiver and retries', async () => {
    const hook = await http();
    hook.reply = (_, i) => (i === 0 ? { status: 200, delayMs: 1000 } : { status: 200 });
    const o = outbox([receiver({ webhook: { url: `${hook.url}/hook` } })], { timeoutMs: 150 });
    await o.start();
    await o.enqueue(sampleNotification());
    const [row] = await settled(1);
    expect((await repo.attempts(row!.id)).map((a) => [a.ok, a.error])).toEqual([
      [0, 'timed out after 150 ms'],
      [1, null],
    ]);
  });

  it('expires a delivery not sent within the max age', async () => {
    const port = await freePort();
    const o = outbox([receiver({ webhook: { url: `http://127.0.0.1:${port}/hook` } })], { maxAgeMs: 300 });
    await o.start();
    await o.enqueue(sampleNotification());
    const [row] = await settled(1, 'expired');
    expect(row!.attempts).toBeGreaterThanOrEqual(2);
    expect(row!.last_error).toMatch(/expired/);
    expect(row!.next_attempt_at).toBeNull();
  });

  it('applies reloaded receivers to later attempts', async () => {
    const broken = await http();
    broken.reply = () => ({ status: 503 });
    const fixed = await http();
    const o = outbox([receiver({ webhook: { url: `${broken.url}/hook` } })], {
      backoff: { initialMs: 300, maxMs: 300 },
    });
    await o.start();
    await o.enqueue(sampleNotification());
    await waitFor(() => broken.requests.length > 0 || undefined);
    o.setReceivers([receiver({ webhook: { url: `${fixed.url}/hook` } })]);
    await settled(1);
    expect(fixed.requests).toHaveLength(1);

    // A notification for a receiver no longer configured is dropped.
    o.setReceivers([]);
    await o.enqueue(sampleNotification({ sequence: 2 }));
    expect(await repo.list({ limit: 10, status: 'pending' })).toHaveLength(0);
  });

  it('fails a delivery whose receiver lost the channel in a reload', async () => {
    const hook = await http();
    const ops = receiver({ webhook: { url: `${hook.url}/hook` } });
    const o = outbox([ops]);
    await o.enqueue(sampleNotification());
    o.setReceivers([receiver({ slack: { url: `${hook.url}/slack` } })]);
    await o.start();
    const [row] = await settled(1, 'failed');
    expect(row!.last_error).toBe('receiver "ops" has no webhook channel in the current config');
    expect(hook.requests).toHaveLength(0);
  });
});

describe('idempotency keys', () => {
  it('are stable per group, sequence, receiver and channel', () => {
    const n: Notification = sampleNotification();
    expect(idempotencyKey(n, 'webhook')).toBe(idempotencyKey(sampleNotification({ alerts: [] }), 'webhook'));
    expect(
      new Set([
        idempotencyKey(n, 'webhook'),
        idempotencyKey(n, 'slack'),
        idempotencyKey({ ...n, sequence: 2 }, 'webhook'),
        idempotencyKey({ ...n, receiver: 'other' }, 'webhook'),
        idempotencyKey({ ...n, groupKey: '{}:{}' }, 'webhook'),
      ]).size,
    ).toBe(5);
  });
});
