// Incident messages (pages, status updates and their follow-ups) as each channel renders and sends them,
// against real loopback HTTP receivers and a real SMTP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpsbookIncidentWebhookPayload, type IncidentMessage } from '@opsbook/contracts';
import { receiverSchema } from '../../config/notifications.schema.js';
import { incidentGroupKey, incidentLabels, incidentTitle } from '../incident-message.js';
import type { Notification } from '../notification.types.js';
import { startReceiver, startSmtp, T0, type TestReceiver, type TestSmtp } from '../outbox.testing.js';
import { title } from '../payloads.js';
import { channels } from './index.js';
import { changeEventsUrl } from './pagerduty.channel.js';
import type { SlackPayload } from './slack.channel.js';
import type { TeamsPayload } from './teams.channel.js';

const URL_OF_INCIDENT = 'https://opsbook.example/incidents/INC-7';

function message(overrides: Partial<IncidentMessage> = {}): IncidentMessage {
  return {
    id: 'INC-7',
    title: 'Payment API down',
    severity: 'SEV1',
    stage: 'triage',
    commander: 'bob',
    services: ['payments'],
    url: URL_OF_INCIDENT,
    kind: 'page',
    text: 'Payment API down. alice (level 1) is paged; acknowledge INC-7 to stop the escalation.',
    actor: 'opsbook',
    page: { target: 'alice', level: 1, loop: 1 },
    ...overrides,
  };
}

const STATUS = message({
  kind: 'status-update',
  severity: 'SEV2',
  text: 'Rolled back release 2026.11.3; error rate is falling.\nNext update in 30 minutes.',
  actor: 'carol',
  page: undefined,
});

function notification(m: IncidentMessage, sequence = 1): Notification {
  return {
    receiver: 'ops',
    groupKey: incidentGroupKey(m.id, m.kind === 'status-update' ? 'status' : 'page'),
    status: m.kind === 'resolved' ? 'resolved' : 'firing',
    groupLabels: { incident: m.id },
    commonLabels: incidentLabels(m),
    commonAnnotations: { summary: incidentTitle(m) },
    alerts: [],
    reason: m.kind === 'resolved' ? 'resolved' : 'new',
    createdAt: T0,
    sequence,
    externalUrl: 'https://opsbook.example',
    incident: m,
  };
}

/** RFC 2047 encoded words, as nodemailer writes non-ASCII subjects. */
function decodeWords(header: string): string {
  return header
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

const context = (key = 'k1') => ({ signal: new AbortController().signal, idempotencyKey: key });

/** Renders as the outbox does (stored as JSON), then sends through the channel. */
async function deliver(kind: keyof typeof channels, input: Record<string, unknown>, n: Notification) {
  const config = receiverSchema.parse({ name: 'ops', ...input })[kind];
  const channel = channels[kind] as {
    render(n: Notification, c: unknown, r: { idempotencyKey: string }): unknown;
    send(p: unknown, c: unknown, s: ReturnType<typeof context>): Promise<{ ok: boolean }>;
  };
  const payload: unknown = JSON.parse(JSON.stringify(channel.render(n, config, { idempotencyKey: 'k1' })));
  return { payload, result: await channel.send(payload, config, context()) };
}

describe('incident message titles', () => {
  it('name the severity, the incident and what happened', () => {
    expect(title(notification(message()))).toBe('[SEV1] INC-7 Payment API down — paged: alice (level 1)');
    expect(title(notification(message({ page: { target: 'alice', level: 2, loop: 3 } })))).toBe(
      '[SEV1] INC-7 Payment API down — paged: alice (level 2, loop 3)',
    );
    expect(
      title(notification(message({ page: { target: 'alice (on call for Primary)', level: 1, loop: 1 } }))),
    ).toBe('[SEV1] INC-7 Payment API down — paged: alice (level 1, on call for Primary)');
    expect(title(notification(STATUS))).toBe(
      '[SEV2] INC-7 status update: Rolled back release 2026.11.3; error rate is falling.',
    );
    expect(title(notification(message({ kind: 'acknowledged', actor: 'alice' })))).toBe(
      '[SEV1] INC-7 Payment API down — acknowledged by alice',
    );
    const long = title(notification({ ...STATUS, text: 'x'.repeat(500) }));
    expect(long.length).toBeLessThan(160);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('incident messages over HTTP channels', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });
  const last = () => receiver.requests.at(-1)!;

  it('webhook (opsbook format) carries the documented incident object and no alerts', async () => {
    const { result } = await deliver(
      'webhook',
      { webhook: { url: `${receiver.url}/hook` } },
      notification(STATUS, 4),
    );
    expect(result.ok).toBe(true);
    const body = OpsbookIncidentWebhookPayload.parse(last().body);
    expect(body).toMatchObject({
      version: '1',
      groupKey: 'incident/INC-7/status',
      sequence: 4,
      status: 'firing',
      alerts: [],
      groupLabels: { incident: 'INC-7' },
      incident: {
        id: 'INC-7',
        kind: 'status-update',
        severity: 'SEV2',
        stage: 'triage',
        commander: 'bob',
        text: STATUS.text,
        actor: 'carol',
        url: URL_OF_INCIDENT,
      },
    });
    expect(last().headers['idempotency-key']).toBe('k1');
  });

  it('webhook (alertmanager format) sends one pseudo-alert a v4 receiver parses; the resolve ends the page', async () => {
    const config = { webhook: { url: `${receiver.url}/am`, format: 'alertmanager' } };
    await deliver('webhook', config, notification(message()));
    const page = last().body as any;
    expect(page).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'ops',
      groupKey: 'incident/INC-7/page',
      groupLabels: { incident: 'INC-7' },
      externalURL: 'https://opsbook.example',
      truncatedAlerts: 0,
    });
    expect(page.alerts).toHaveLength(1);
    expect(page.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'IncidentPage', incident: 'INC-7', severity: 'SEV1', stage: 'triage' },
      annotations: { summary: '[SEV1] INC-7 Payment API down — paged: alice (level 1)' },
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: URL_OF_INCIDENT,
    });
    expect(page.alerts[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);

    await deliver('webhook', config, notification(STATUS));
    expect((last().body as any).alerts[0].labels.alertname).toBe('IncidentStatusUpdate');
    expect((last().body as any).alerts[0].annotations.description).toBe(STATUS.text);

    await deliver(
      'webhook',
      config,
      notification(message({ kind: 'resolved', actor: 'bob', stage: 'post-incident' })),
    );
    const resolve = last().body as any;
    expect(resolve.status).toBe('resolved');
    expect(resolve.alerts[0]).toMatchObject({ status: 'resolved', labels: { alertname: 'IncidentPage' } });
    expect(resolve.alerts[0].fingerprint).toBe(page.alerts[0].fingerprint);
    expect(resolve.alerts[0].endsAt).not.toBe('0001-01-01T00:00:00Z');
  });

  it('slack shows the title, severity, stage, commander, the text and a link to the incident', async () => {
    const { payload } = await deliver(
      'slack',
      { slack: { url: `${receiver.url}/slack`, channel: '#incidents' } },
      notification({ ...STATUS, text: 'Rolled back <release> & watching' }),
    );
    const body = last().body as SlackPayload;
    expect(body).toEqual(payload);
    expect(body.text).toBe('[SEV2] INC-7 status update: Rolled back <release> & watching');
    expect(body.channel).toBe('#incidents');
    expect(body.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '[SEV2] INC-7 status update: Rolled back <release> & watching' },
    });
    const fields = (body.blocks[1] as { fields: { text: string }[] }).fields.map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining([
        '*Severity*\nSEV2',
        '*Stage*\ntriage',
        '*Commander*\nbob',
        '*Services*\npayments',
      ]),
    );
    expect(fields).toContain('*Posted by*\ncarol');
    expect(body.blocks[2]).toMatchObject({
      text: { type: 'mrkdwn', text: 'Rolled back &lt;release&gt; &amp; watching' },
    });
    expect(body.blocks.at(-1)).toEqual({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open INC-7' }, url: URL_OF_INCIDENT }],
    });
  });

  it('teams shows a card: red title for a page, the facts including who is paged, the text and a link', async () => {
    await deliver('teams', { teams: { url: `${receiver.url}/teams` } }, notification(message()));
    const card = (last().body as TeamsPayload).attachments[0]!.content;
    expect(card.body[0]).toMatchObject({
      type: 'TextBlock',
      text: '[SEV1] INC-7 Payment API down — paged: alice (level 1)',
      color: 'Attention',
    });
    const facts = card.body.find((e) => e.type === 'FactSet') as {
      facts: { title: string; value: string }[];
    };
    expect(Object.fromEntries(facts.facts.map((f) => [f.title, f.value]))).toMatchObject({
      Severity: 'SEV1',
      Stage: 'triage',
      Commander: 'bob',
      Paged: 'alice (level 1)',
    });
    expect(card.body.some((e) => e.type === 'TextBlock' && e.text === message().text)).toBe(true);
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open INC-7', url: URL_OF_INCIDENT }]);

    await deliver(
      'teams',
      { teams: { url: `${receiver.url}/teams` } },
      notification(message({ kind: 'resolved' })),
    );
    expect((last().body as TeamsPayload).attachments[0]!.content.body[0]).toMatchObject({ color: 'Good' });
  });

  it('pagerduty: a page triggers with the incident id as dedup_key; acknowledge and resolve follow it', async () => {
    const config = { pagerduty: { routingKey: 'rk-incident-1', url: `${receiver.url}/v2/enqueue` } };
    await deliver('pagerduty', config, notification(message()));
    expect(last().path).toBe('/v2/enqueue');
    expect(last().body).toMatchObject({
      routing_key: 'rk-incident-1',
      event_action: 'trigger',
      dedup_key: 'INC-7',
      client: 'Opsbook',
      client_url: URL_OF_INCIDENT,
      payload: {
        summary: '[SEV1] INC-7 Payment API down — paged: alice (level 1)',
        severity: 'critical',
        source: 'payments',
        component: 'payments',
        class: 'incident',
        custom_details: { incident: 'INC-7', stage: 'triage', commander: 'bob', paged: { target: 'alice' } },
      },
      links: [{ href: URL_OF_INCIDENT, text: 'Open INC-7 in Opsbook' }],
    });
    await deliver('pagerduty', config, notification(message({ kind: 'acknowledged', actor: 'alice' }), 2));
    expect(last().body).toEqual({
      routing_key: 'rk-incident-1',
      event_action: 'acknowledge',
      dedup_key: 'INC-7',
      client: 'Opsbook',
      client_url: URL_OF_INCIDENT,
    });
    await deliver('pagerduty', config, notification(message({ kind: 'resolved', actor: 'bob' }), 3));
    expect(last().body).toMatchObject({ event_action: 'resolve', dedup_key: 'INC-7' });
  });

  it('pagerduty: a status update pages nobody; it goes to the change events endpoint', async () => {
    const config = { pagerduty: { routingKey: 'rk-incident-1', url: `${receiver.url}/v2/enqueue` } };
    const { result } = await deliver('pagerduty', config, notification(STATUS));
    expect(result.ok).toBe(true);
    expect(last().path).toBe('/v2/change/enqueue');
    const body = last().body as any;
    expect(body.event_action).toBeUndefined();
    expect(body).toMatchObject({
      routing_key: 'rk-incident-1',
      payload: {
        summary: '[SEV2] INC-7 status update: Rolled back release 2026.11.3; error rate is falling.',
        source: 'opsbook',
        custom_details: { incident: 'INC-7', text: STATUS.text, postedBy: 'carol' },
      },
    });
    expect(changeEventsUrl('https://events.pagerduty.com/v2/enqueue')).toBe(
      'https://events.pagerduty.com/v2/change/enqueue',
    );
  });
});

describe('incident messages by email', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await smtp.close();
  });

  it('sends the title as subject, the text, the facts and the link, threaded per incident', async () => {
    const config = {
      email: {
        to: ['oncall@example.com'],
        from: 'opsbook@example.com',
        smtp: { host: '127.0.0.1', port: smtp.port },
      },
    };
    const { result } = await deliver(
      'email',
      config,
      notification({ ...STATUS, text: 'Rolled back <b>now</b>' }),
    );
    expect(result.ok).toBe(true);
    const mail = smtp.mails.at(-1)!;
    expect(mail.to).toEqual(['oncall@example.com']);
    expect(decodeWords(mail.headers.subject!)).toBe('[SEV2] INC-7 status update: Rolled back <b>now</b>');
    expect(mail.headers['x-opsbook-incident']).toBe('INC-7');
    expect(mail.headers['x-opsbook-group-key']).toBe('incident/INC-7/status');
    expect(mail.headers.references).toBe('<incident.INC-7@example.com>');
    expect(mail.text).toContain('Rolled back <b>now</b>');
    expect(mail.text).toContain('Severity: SEV2');
    expect(mail.text).toContain('Stage: triage');
    expect(mail.text).toContain('Commander: bob');
    expect(mail.text).toContain('Posted by: carol');
    expect(mail.text).toContain(`Open: ${URL_OF_INCIDENT}`);
    expect(mail.html).toContain('Rolled back &lt;b&gt;now&lt;/b&gt;');
    expect(mail.html).toContain(`href="${URL_OF_INCIDENT}"`);

    await deliver('email', config, notification(message()));
    expect(smtp.mails.at(-1)!.headers.references).toBe('<incident.INC-7@example.com>');
    expect(decodeWords(smtp.mails.at(-1)!.headers.subject!)).toBe(
      '[SEV1] INC-7 Payment API down — paged: alice (level 1)',
    );
  });
});
