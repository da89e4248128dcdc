// The outbox's onSettled observer: told once per delivery when it is delivered, refused for good or expired.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import { receiverSchema, type ReceiverConfig } from '../config/notifications.schema.js';
import { OutboxRepository } from '../storage/outbox.repository.js';
import { Outbox, type OutboxOptions, type SettledEvent } from './outbox.js';
import { sampleNotification, startReceiver, type TestReceiver } from './outbox.testing.js';

const logger = pino({ level: 'silent' });

describe.each(ENGINES)('outbox onSettled on %s', (engine) => {
  let t: TestStore;
  let receiver: TestReceiver;
  let outbox: Outbox | undefined;
  let events: SettledEvent[];

  beforeEach(async () => {
    t = await openTestStore(engine);
    receiver = await startReceiver();
    events = [];
  });
  afterEach(async () => {
    await outbox?.stop();
    await receiver.close();
    await t.cleanup();
  });

  function start(receivers: ReceiverConfig[], options: Partial<OutboxOptions> = {}): Outbox {
    outbox = new Outbox({
      store: t.store,
      logger,
      receivers,
      pollIntervalMs: 50,
      backoff: { initialMs: 20, maxMs: 50 },
      timeoutMs: 2000,
      stopTimeoutMs: 200,
      onSettled: (event) => {
        events.push(event);
      },
      ...options,
    });
    return outbox;
  }

  const hook = (name: string, path: string) =>
    receiverSchema.parse({ name, webhook: { url: `${receiver.url}/${path}` } });

  it('reports a delivery once it is delivered, with its receiver, channel, group and outcome', async () => {
    receiver.reply = (_r, index) => (index === 0 ? { status: 503, body: 'busy' } : { status: 200 });
    const o = start([hook('ops', 'in')]);
    await o.start();
    await o.enqueue(sampleNotification({ sequence: 3 }));
    await waitFor(async () => events.length > 0 || undefined, 10_000, 'a settled delivery');
    // The retry after the 503 is not a settlement: one event, after the second attempt.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      receiver: 'ops',
      channel: 'webhook',
      target: `POST ${receiver.url}/in`,
      groupKey: sampleNotification().groupKey,
      sequence: 3,
      status: 'delivered',
      notificationStatus: 'firing',
      reason: 'new',
      alertCount: 2,
      attempts: 2,
      error: null,
      responseStatus: 200,
    });
    const stored = await new OutboxRepository(t.store.db).get(events[0]!.deliveryId);
    expect(stored?.status).toBe('delivered');
  });

  it('reports a refusal for good with its error, and an expired delivery', async () => {
    receiver.reply = (r) => (r.path === '/gone' ? { status: 410, body: 'gone' } : { status: 503 });
    const o = start([hook('pager', 'gone'), hook('slow', 'busy')], { maxAgeMs: 300 });
    await o.start();
    await o.enqueue(sampleNotification({ receiver: 'pager' }));
    await o.enqueue(sampleNotification({ receiver: 'slow' }));
    await waitFor(async () => events.length >= 2 || undefined, 10_000, 'two settled deliveries');
    const byReceiver = Object.fromEntries(events.map((e) => [e.receiver, e]));
    expect(byReceiver.pager).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'HTTP 410: gone',
      responseStatus: 410,
    });
    expect(byReceiver.slow!.status).toBe('expired');
    expect(byReceiver.slow!.error).toMatch(/expired/);
    expect(events).toHaveLength(2);
  });

  it('keeps sending when the observer throws or rejects', async () => {
    let calls = 0;
    const o = start([hook('ops', 'in')], {
      onSettled: () => {
        calls++;
        if (calls === 1) throw new Error('observer broke');
        return Promise.reject(new Error('observer broke again'));
      },
    });
    await o.start();
    await o.enqueue(sampleNotification({ sequence: 1 }));
    await o.enqueue(sampleNotification({ sequence: 2 }));
    await waitFor(async () => calls >= 2 || undefined, 10_000, 'both deliveries settled');
    expect(receiver.requests.map((r) => (r.body as { sequence: number }).sequence)).toEqual([1, 2]);
  });
});
