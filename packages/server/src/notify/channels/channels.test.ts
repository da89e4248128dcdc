import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiverSchema } from '../../config/notifications.schema.js';
import { retryDelay, scrub } from '../outbox.js';
import {
  freePort,
  sampleNotification,
  startReceiver,
  startSmtp,
  type TestReceiver,
  type TestSmtp,
} from '../outbox.testing.js';
import { goTime, title } from '../payloads.js';
import { channels, receiverChannels } from './index.js';
import { classify, parseRetryAfter, postJson } from './http.js';
import { emailChannel } from './email.channel.js';
import { pagerDutySeverity } from './pagerduty.channel.js';
import { webhookChannel } from './webhook.channel.js';
import { slackChannel } from './slack.channel.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const send = () => ({ signal: new AbortController().signal, idempotencyKey: 'k1' });

describe('HTTP answers', () => {
  it('delivers on 2xx, retries 408, 429 and 5xx, and refuses other codes for good', () => {
    expect(classify(200, undefined, 'ok')).toEqual({
      ok: true,
      retryable: false,
      status: 200,
      response: 'ok',
    });
    expect(classify(202, undefined, '')).toMatchObject({ ok: true, status: 202 });
    expect(classify(500, undefined, 'boom')).toMatchObject({
      ok: false,
      retryable: true,
      error: 'HTTP 500: boom',
    });
    expect(classify(503, '7', '')).toMatchObject({ retryable: true, retryAfterMs: 7000, error: 'HTTP 503' });
    expect(classify(429, 'Thu, 26 Nov 2026 12:00:30 GMT', '', NOW)).toMatchObject({
      retryable: true,
      retryAfterMs: 30_000,
    });
    expect(classify(408, undefined, '')).toMatchObject({ retryable: true });
    expect(classify(400, '5', 'bad')).toEqual({
      ok: false,
      retryable: false,
      status: 400,
      response: 'bad',
      error: 'HTTP 400: bad',
    });
    expect(classify(404, undefined, '')).toMatchObject({ retryable: false });
    expect(classify(301, undefined, '')).toMatchObject({ ok: false, retryable: false });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(['2'], NOW)).toBe(2000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:59:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('reports a refused connection as retryable and never throws', async () => {
    const port = await freePort();
    const result = await postJson(`http://127.0.0.1:${port}/`, {}, { signal: new AbortController().signal });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  describe('against a receiver', () => {
    let receiver: TestReceiver;
    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });

    it('stops at the signal with its reason', async () => {
      receiver.reply = () => ({ status: 200, delayMs: 2000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new DOMException('timed out after 50 ms', 'TimeoutError')), 50);
      const started = Date.now();
      const result = await postJson(receiver.url, {}, { signal: controller.signal });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(result).toEqual({ ok: false, retryable: true, error: 'timed out after 50 ms' });
    });

    it('sends config headers and the Idempotency-Key with webhooks', async () => {
      receiver.reply = () => ({ status: 204 });
      const config = receiverSchema.parse({
        name: 'x',
        webhook: { url: `${receiver.url}/in`, headers: { 'X-Team': 'ops' } },
      }).webhook!;
      const payload = webhookChannel.render(sampleNotification(), config, { idempotencyKey: 'k1' });
      const result = await webhookChannel.send(payload, config, send());
      expect(result).toMatchObject({ ok: true, status: 204 });
      const request = receiver.requests.at(-1)!;
      expect(request.headers['x-team']).toBe('ops');
      expect(request.headers['idempotency-key']).toBe('k1');
      expect(request.headers['user-agent']).toMatch(/^Opsbook\//);
    });
  });
});

describe('SMTP answers', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await smtp.close();
  });

  const config = () =>
    receiverSchema.parse({
      name: 'mail',
      email: {
        to: ['a@example.com'],
        from: 'opsbook@example.com',
        smtp: { host: '127.0.0.1', port: smtp.port },
      },
    }).email!;

  it('treats 4xx as temporary, 5xx as permanent and a dead server as temporary', async () => {
    const payload = emailChannel.render(sampleNotification(), config(), { idempotencyKey: 'k1' });
    smtp.rejectWith.push(452);
    expect(await emailChannel.send(payload, config(), send())).toMatchObject({
      ok: false,
      retryable: true,
      status: 452,
    });
    smtp.rejectWith.push(554);
    expect(await emailChannel.send(payload, config(), send())).toMatchObject({
      ok: false,
      retryable: false,
      status: 554,
    });
    expect(await emailChannel.send(payload, config(), send())).toMatchObject({ ok: true, status: 250 });
    expect(smtp.mails).toHaveLength(1);

    const port = await freePort();
    const dead = { ...config(), smtp: { ...config().smtp, port } };
    const result = await emailChannel.send(payload, dead, send());
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.status).toBeUndefined();
  });

  it('does not send when the signal has already fired', async () => {
    const payload = emailChannel.render(sampleNotification(), config(), { idempotencyKey: 'k2' });
    const controller = new AbortController();
    controller.abort(new DOMException('timed out after 5 ms', 'TimeoutError'));
    const before = smtp.mails.length;
    expect(
      await emailChannel.send(payload, config(), { signal: controller.signal, idempotencyKey: 'k2' }),
    ).toEqual({
      ok: false,
      retryable: true,
      error: 'timed out after 5 ms',
    });
    expect(smtp.mails).toHaveLength(before);
  });
});

describe('message helpers', () => {
  it('titles groups like Alertmanager', () => {
    expect(title(sampleNotification())).toBe('[FIRING:2] HighErrorRate service=shop');
    expect(
      title(
        sampleNotification({
          status: 'resolved',
          groupLabels: { service: 'shop', alertname: 'Down', env: 'prod' },
        }),
      ),
    ).toBe('[RESOLVED] Down env=prod service=shop');
  });

  it('writes times the way Go marshals time.Time', () => {
    expect(goTime(Date.UTC(2026, 0, 2, 3, 4, 5, 0))).toBe('2026-01-02T03:04:05Z');
    expect(goTime(Date.UTC(2026, 0, 2, 3, 4, 5, 120))).toBe('2026-01-02T03:04:05.12Z');
    expect(goTime(Date.UTC(2026, 0, 2, 3, 4, 5, 7))).toBe('2026-01-02T03:04:05.007Z');
  });

  it('maps severities to PagerDuty', () => {
    expect(['critical', 'WARNING', 'info', 'error', undefined, 'page'].map(pagerDutySeverity)).toEqual([
      'critical',
      'warning',
      'info',
      'error',
      'error',
      'error',
    ]);
  });

  it('backs off exponentially with jitter up to the cap', () => {
    const backoff = { initialMs: 1000, maxMs: 300_000 };
    expect(retryDelay(1, backoff, () => 0)).toBe(500);
    expect(retryDelay(1, backoff, () => 1)).toBe(1000);
    expect(retryDelay(4, backoff, () => 1)).toBe(8000);
    expect(retryDelay(30, backoff, () => 1)).toBe(300_000);
    expect(retryDelay(30, backoff, () => 0)).toBe(150_000);
  });

  it('hides secrets in text and in the targets it shows', () => {
    const receiver = receiverSchema.parse({
      name: 'all',
      webhook: {
        url: 'https://user:hunter22@hooks.example.com/in?token=abcdef123',
        headers: { Authorization: 'Bearer zzz999' },
      },
      slack: { url: 'https://hooks.slack.com/services/T1/B2/SECRETSLACK' },
      teams: { url: 'https://acme.webhook.office.com/webhookb2/SECRETTEAMS' },
      pagerduty: { routingKey: 'rk-123456' },
      email: {
        to: ['a@example.com'],
        from: 'o@example.com',
        smtp: { host: 'smtp.example.com', password: 'mailpass' },
      },
    });
    const targets = receiverChannels(receiver).map((kind) =>
      (channels[kind] as { target(c: unknown): string }).target(receiver[kind]),
    );
    expect(targets).toEqual([
      'POST https://user:***@hooks.example.com/in?***',
      'https://hooks.slack.com/***',
      'https://acme.webhook.office.com/***',
      'smtp://smtp.example.com:587 → a@example.com',
      'https://events.pagerduty.com/v2/enqueue',
    ]);
    const secrets = receiverChannels(receiver)
      .flatMap((kind) => (channels[kind] as { secrets(c: unknown): string[] }).secrets(receiver[kind]))
      .sort((a, b) => b.length - a.length);
    const text = scrub(
      'POST https://hooks.slack.com/services/T1/B2/SECRETSLACK failed; key rk-123456, pass mailpass, token=abcdef123, Bearer zzz999',
      secrets,
    );
    for (const secret of ['SECRETSLACK', 'rk-123456', 'mailpass', 'abcdef123', 'zzz999'])
      expect(text).not.toContain(secret);
    expect(slackChannel.secrets(receiver.slack!)).toContain('/services/T1/B2/SECRETSLACK');
  });
});
