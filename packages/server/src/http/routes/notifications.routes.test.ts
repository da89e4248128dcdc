import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { NotificationDeliveryDetail, NotificationDeliveryList } from '@opsbook/contracts';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import { waitFor } from '../../../../../test/target-server.js';
import { receiverSchema } from '../../config/notifications.schema.js';
import { UnavailableError } from '../../errors.js';
import { Outbox } from '../../notify/outbox.js';
import { OutboxQueries } from '../../notify/outbox.queries.js';
import { sampleNotification, startReceiver, type TestReceiver } from '../../notify/outbox.testing.js';
import { OutboxRepository } from '../../storage/outbox.repository.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { notificationRoutes } from './notifications.routes.js';

const logger = pino({ level: 'silent' });

describe('notifications API', () => {
  let t: TestStore;
  let hook: TestReceiver;
  let outbox: Outbox;
  let ready = true;
  const app = newRouter();

  beforeAll(async () => {
    t = await openTestStore('sqlite');
    hook = await startReceiver();
    // The webhook fails once with 500; Slack refuses for good.
    let hookCalls = 0;
    hook.reply = (request) => {
      if (request.path.startsWith('/services')) return { status: 404, body: 'no_service' };
      return hookCalls++ === 0 ? { status: 500 } : { status: 200 };
    };
    outbox = new Outbox({
      store: t.store,
      logger,
      receivers: [
        receiverSchema.parse({ name: 'ops', webhook: { url: `${hook.url}/hook` } }),
        receiverSchema.parse({ name: 'chat', slack: { url: `${hook.url}/services/T1/B1/SLACKSECRET` } }),
      ],
      pollIntervalMs: 50,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    for (let sequence = 1; sequence <= 3; sequence++) await outbox.enqueue(sampleNotification({ sequence }));
    await outbox.enqueue(sampleNotification({ receiver: 'chat', groupKey: '{}:{alertname="Other"}' }));
    await outbox.start();
    const repo = new OutboxRepository(t.store.db);
    await waitFor(async () => {
      const counts = await repo.countByStatus();
      return counts.delivered === 3 && counts.failed === 1 ? counts : undefined;
    });
    const queries = new OutboxQueries(t.store);
    app.onError((error, c) => errorResponse(error, c, logger));
    app.route(
      '/api/v1',
      notificationRoutes({
        notifications: () => {
          if (!ready) throw new UnavailableError('store not ready');
          return queries;
        },
      }),
    );
  });
  afterAll(async () => {
    await outbox.stop();
    await hook.close();
    await t.cleanup();
  });

  async function get(path: string) {
    const response = await app.request(path);
    return { status: response.status, body: (await response.json()) as any };
  }

  it('lists deliveries newest first with attempts, status and last error', async () => {
    const { status, body } = await get('/api/v1/notifications');
    expect(status).toBe(200);
    expect(NotificationDeliveryList.parse(body)).toBeTruthy();
    expect(body.items.map((d: any) => [d.receiver, d.sequence, d.status])).toEqual([
      ['chat', 1, 'failed'],
      ['ops', 3, 'delivered'],
      ['ops', 2, 'delivered'],
      ['ops', 1, 'delivered'],
    ]);
    expect(body.items[3]).toMatchObject({
      attemptCount: 2,
      lastError: null,
      lastStatus: 200,
      channel: 'webhook',
    });
    expect(body.items[0]).toMatchObject({
      attemptCount: 1,
      lastStatus: 404,
      lastError: 'HTTP 404: no_service',
      target: `${hook.url}/***`,
    });
    expect(body.nextCursor).toBeNull();
    expect(JSON.stringify(body)).not.toContain('SLACKSECRET');
  });

  it('filters by status, receiver and group, and pages with a cursor', async () => {
    expect((await get('/api/v1/notifications?status=failed')).body.items).toHaveLength(1);
    expect((await get('/api/v1/notifications?receiver=ops')).body.items).toHaveLength(3);
    const group = encodeURIComponent('{}:{alertname="Other"}');
    expect(
      (await get(`/api/v1/notifications?groupKey=${group}`)).body.items.map((d: any) => d.receiver),
    ).toEqual(['chat']);

    const first = (await get('/api/v1/notifications?limit=3')).body;
    expect(first.items).toHaveLength(3);
    expect(first.nextCursor).toBe(String(first.items[2].id));
    const second = (await get(`/api/v1/notifications?limit=3&cursor=${first.nextCursor}`)).body;
    expect(second.items.map((d: any) => d.sequence)).toEqual([1]);
    expect(second.nextCursor).toBeNull();
  });

  it('shows one delivery with every attempt and its payload', async () => {
    const list = (await get('/api/v1/notifications?receiver=ops')).body;
    const first = list.items.at(-1);
    const { status, body } = await get(`/api/v1/notifications/${first.id}`);
    expect(status).toBe(200);
    expect(NotificationDeliveryDetail.parse(body)).toBeTruthy();
    expect(body.attempts).toMatchObject([
      { attempt: 1, ok: false, retryable: true, status: 500, error: 'HTTP 500' },
      { attempt: 2, ok: true, retryable: false, status: 200, error: null },
    ]);
    expect(body.payload).toMatchObject({ version: '1', idempotencyKey: first.idempotencyKey, sequence: 1 });
  });

  it('answers 404, 400 and 503 with the error body', async () => {
    expect(await get('/api/v1/notifications/99999')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect((await get('/api/v1/notifications/abc')).status).toBe(400);
    expect((await get('/api/v1/notifications?status=lost')).status).toBe(400);
    expect((await get('/api/v1/notifications?cursor=x')).body.error.field).toBe('cursor');
    ready = false;
    try {
      expect((await get('/api/v1/notifications')).status).toBe(503);
    } finally {
      ready = true;
    }
  });
});
