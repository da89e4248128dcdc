// Deliveries on incident timelines: alert notifications whose alerts belong to an incident, and incident
// messages, through a real outbox to real loopback receivers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { receiverSchema } from '../config/notifications.schema.js';
import { OutboxIncidentNotifier } from '../notify/incident-notices.js';
import type { NotificationQueue } from '../notify/notification.types.js';
import { Outbox } from '../notify/outbox.js';
import { alert, sampleNotification, startReceiver, type TestReceiver } from '../notify/outbox.testing.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { IncidentService } from './incident.service.js';
import type { TimelineEntry } from './incident.types.js';
import { NotificationTimeline } from './notification-timeline.js';

const logger = pino({ level: 'silent' });

describe.each(ENGINES)('notifications on incident timelines on %s', (engine) => {
  let t: TestStore;
  let receiver: TestReceiver;
  let incidents: IncidentService;
  let outbox: Outbox;
  let timeline: NotificationTimeline;
  let queue: NotificationQueue;
  /** Deliveries the timeline has finished with. */
  let observed: number;

  beforeEach(async () => {
    t = await openTestStore(engine);
    receiver = await startReceiver();
    receiver.reply = (r) => (r.path === '/gone' ? { status: 410, body: 'gone' } : { status: 200 });
    incidents = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger,
    });
    await incidents.load();
    timeline = new NotificationTimeline({ incidents: () => incidents, logger });
    observed = 0;
    outbox = new Outbox({
      store: t.store,
      logger,
      receivers: [
        receiverSchema.parse({ name: 'ops', webhook: { url: `${receiver.url}/ops` } }),
        receiverSchema.parse({ name: 'pager', webhook: { url: `${receiver.url}/gone` } }),
      ],
      pollIntervalMs: 50,
      stopTimeoutMs: 200,
      onSettled: async (event) => {
        await timeline.settled(event);
        observed++;
      },
    });
    queue = timeline.watch(outbox);
    await outbox.start();
  });
  afterEach(async () => {
    await outbox.stop();
    await incidents.stop();
    await receiver.close();
    await t.cleanup();
  });

  async function entries(id: string, count: number): Promise<TimelineEntry[]> {
    return waitFor(
      async () => {
        const found = (await incidents.get(id)).timeline.filter((e) => e.kind === 'notification');
        return found.length >= count ? found : undefined;
      },
      10_000,
      `${count} notification entries on ${id}`,
    );
  }

  it('records alert notifications whose alerts belong to an incident, delivered or refused', async () => {
    const linked = alert({ instance: 'shop-1' });
    incidents.update([linked]);
    await incidents.idle();
    const [incident] = await incidents.list();
    expect(incident).toBeDefined();

    await queue.enqueue(sampleNotification({ alerts: [linked] }));
    await queue.enqueue(sampleNotification({ receiver: 'pager', alerts: [linked] }));
    // Alerts no incident holds leave no trace.
    await queue.enqueue(
      sampleNotification({ groupKey: 'other', alerts: [alert({ instance: 'elsewhere' })] }),
    );

    const found = await entries(incident!.id, 2);
    const texts = found.map((e) => e.text).sort();
    expect(texts).toEqual([
      'Notification to pager (webhook) failed after 1 attempt: HTTP 410: gone',
      'Notified ops (webhook): [FIRING:1] HighErrorRate service=shop',
    ]);
    const delivered = found.find((e) => e.text.startsWith('Notified'))!;
    expect(delivered.actor).toBe('opsbook');
    expect(delivered.data).toMatchObject({
      receiver: 'ops',
      channel: 'webhook',
      status: 'delivered',
      groupKey: sampleNotification().groupKey,
      title: '[FIRING:1] HighErrorRate service=shop',
    });
    await waitFor(async () => observed >= 3 || undefined, 5000, 'all three settled and observed');
    expect(
      (await incidents.get(incident!.id)).timeline.filter((e) => e.kind === 'notification'),
    ).toHaveLength(2);
  });

  it('records incident messages, also those sent before a restart', async () => {
    const incident = await incidents.create({ title: 'Payment API down', severity: 'SEV1', actor: 'ann' });
    const notifier = new OutboxIncidentNotifier({
      store: t.store,
      queue,
      logger,
      config: { receivers: ['ops', 'pager'], channels: ['ops'], externalUrl: 'http://opsbook.example' },
    });
    await notifier.statusUpdate({ incident, text: 'Rolled back the release', actor: 'carol' });
    const [entry] = await entries(incident.id, 1);
    expect(entry!.text).toBe('Notified ops (webhook): [SEV1] INC-1 status update: Rolled back the release');
    expect(entry!.data).toMatchObject({ groupKey: 'incident/INC-1/status', sequence: 1 });

    // A page stored while the outbox is down is sent after a restart, by an outbox whose timeline is fresh:
    // it knows no titles, but the group key still names the incident.
    await outbox.stop();
    await notifier.page({ incident, receivers: ['pager'], target: 'alice', level: 1, loop: 1 });
    const fresh = new NotificationTimeline({ incidents: () => incidents, logger });
    outbox = new Outbox({
      store: t.store,
      logger,
      receivers: [receiverSchema.parse({ name: 'pager', webhook: { url: `${receiver.url}/gone` } })],
      pollIntervalMs: 50,
      stopTimeoutMs: 200,
      onSettled: (event) => fresh.settled(event),
    });
    await outbox.start();
    const found = await entries(incident.id, 2);
    expect(found[1]!.text).toBe('Notification to pager (webhook) failed after 1 attempt: HTTP 410: gone');
    expect(found[1]!.data.title).toBe('INC-1 page #1');
  });
});
