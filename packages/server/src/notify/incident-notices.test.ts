// The incident notifier over a real outbox: pages, status updates, their order and sequence numbers,
// and the acknowledge and resolve that follow a page.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import { receiverSchema, type ReceiverConfig } from '../config/notifications.schema.js';
import { InputError } from '../errors.js';
import type { Incident } from '../incidents/incident.types.js';
import { OutboxRepository } from '../storage/outbox.repository.js';
import { OutboxIncidentNotifier, type IncidentNoticesConfig } from './incident-notices.js';
import { Outbox } from './outbox.js';
import { startReceiver, T0, type TestReceiver } from './outbox.testing.js';

const logger = pino({ level: 'silent' });

function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'INC-7',
    seq: 7,
    title: 'Payment API down',
    severity: 'SEV1',
    stage: 'detection',
    services: ['payments'],
    alertGroup: null,
    commander: null,
    roles: {},
    stageHistory: [{ stage: 'detection', at: T0, by: 'opsbook' }],
    createdAt: T0,
    createdBy: 'opsbook',
    acknowledgedAt: null,
    acknowledgedBy: null,
    resolvedAt: null,
    closedAt: null,
    responseDueAt: T0 + 900_000,
    responseBreachedAt: null,
    resolutionDueAt: null,
    resolutionBreachedAt: null,
    alertsResolvedAt: null,
    alerts: [],
    ...overrides,
  };
}

describe.each(ENGINES)('incident notifier on %s', (engine) => {
  let t: TestStore;
  let receiver: TestReceiver;
  let outbox: Outbox;
  let receivers: ReceiverConfig[];

  beforeEach(async () => {
    t = await openTestStore(engine);
    receiver = await startReceiver();
    receivers = [
      receiverSchema.parse({ name: 'chat', webhook: { url: `${receiver.url}/chat` } }),
      receiverSchema.parse({ name: 'pager', webhook: { url: `${receiver.url}/pager` } }),
      receiverSchema.parse({ name: 'quiet', webhook: { url: `${receiver.url}/quiet` } }),
    ];
    outbox = new Outbox({
      store: t.store,
      logger,
      receivers,
      pollIntervalMs: 50,
      backoff: { initialMs: 20, maxMs: 50 },
      stopTimeoutMs: 200,
    });
    await outbox.start();
  });
  afterEach(async () => {
    await outbox.stop();
    await receiver.close();
    await t.cleanup();
  });

  function notifier(config: Partial<IncidentNoticesConfig> = {}): OutboxIncidentNotifier {
    return new OutboxIncidentNotifier({
      store: t.store,
      queue: outbox,
      logger,
      config: {
        receivers: receivers.map((r) => r.name),
        channels: ['chat'],
        externalUrl: 'https://opsbook.example/',
        ...config,
      },
    });
  }

  const bodies = (path: string) =>
    receiver.requests.filter((r) => r.path === path).map((r) => r.body as Record<string, any>);

  async function received(path: string, count: number): Promise<Record<string, any>[]> {
    return waitFor(
      async () => (bodies(path).length >= count ? bodies(path) : undefined),
      10_000,
      `${count} messages at ${path}`,
    );
  }

  it('sends status updates to the configured channels, numbered per incident in order', async () => {
    const n = notifier();
    await n.statusUpdate({ incident: incident(), text: 'Investigating elevated errors', actor: 'carol' });
    await n.statusUpdate({ incident: incident({ stage: 'triage' }), text: 'Rolled back', actor: 'carol' });
    const sent = await received('/chat', 2);
    expect(sent.map((b) => [b.groupKey, b.sequence, b.incident.text])).toEqual([
      ['incident/INC-7/status', 1, 'Investigating elevated errors'],
      ['incident/INC-7/status', 2, 'Rolled back'],
    ]);
    expect(sent[1]!.incident).toMatchObject({
      id: 'INC-7',
      kind: 'status-update',
      stage: 'triage',
      actor: 'carol',
      url: 'https://opsbook.example/incidents/INC-7',
    });
    expect(sent[1]!.alerts).toEqual([]);
    expect(bodies('/pager')).toEqual([]);

    // Named receivers replace the channels; another incident counts on its own.
    await n.statusUpdate({
      incident: incident({ id: 'INC-8' }),
      text: 'Also affected',
      actor: 'dan',
      receivers: ['pager'],
    });
    const paged = await received('/pager', 1);
    expect(paged[0]).toMatchObject({ groupKey: 'incident/INC-8/status', sequence: 1 });
  });

  it('continues the sequence after a restart, so a new update is never taken for a repeat', async () => {
    await notifier().statusUpdate({ incident: incident(), text: 'first', actor: 'a' });
    await received('/chat', 1);
    await notifier().statusUpdate({ incident: incident(), text: 'second', actor: 'a' });
    const sent = await received('/chat', 2);
    expect(sent.map((b) => b.sequence)).toEqual([1, 2]);
    expect(new Set(sent.map((b) => b.idempotencyKey)).size).toBe(2);
  });

  it('refuses unknown receivers by name, and updates when no channel is configured', async () => {
    const n = notifier();
    const unknown = await n
      .statusUpdate({ incident: incident(), text: 'x', actor: 'a', receivers: ['chat', 'nope'] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InputError);
    expect((unknown as InputError).message).toMatch(
      /no receiver named "nope"; define it under notifications\.receivers/,
    );
    expect((unknown as InputError).field).toBe('receivers');
    await expect(
      n.page({ incident: incident(), receivers: ['ghost'], target: 'alice', level: 1, loop: 1 }),
    ).rejects.toThrow(/"ghost"/);
    const none = notifier({ channels: [] });
    await expect(none.statusUpdate({ incident: incident(), text: 'x', actor: 'a' })).rejects.toThrow(
      /incidents\.channels/,
    );
    expect(await new OutboxRepository(t.store.db).list({ limit: 10 })).toEqual([]);
  });

  it('pages, then acknowledges and resolves in the page lane of each receiver paged, once each', async () => {
    const n = notifier();
    await n.page({ incident: incident(), receivers: ['pager'], target: 'alice', level: 1, loop: 1 });
    const [page] = await received('/pager', 1);
    expect(page).toMatchObject({
      groupKey: 'incident/INC-7/page',
      sequence: 1,
      status: 'firing',
      incident: { kind: 'page', page: { target: 'alice', level: 1, loop: 1 } },
    });
    expect(page!.incident.text).toMatch(/alice \(level 1\) is paged/);

    // Not acknowledged yet: nothing to follow up.
    expect(await n.followUp(incident())).toBe(0);
    const acked = incident({ stage: 'triage', acknowledgedAt: T0 + 60_000, acknowledgedBy: 'alice' });
    expect(await n.followUp(acked)).toBe(1);
    expect(await n.followUp(acked)).toBe(0);
    const ack = (await received('/pager', 2))[1]!;
    expect(ack).toMatchObject({
      sequence: 2,
      reason: 'update',
      incident: { kind: 'acknowledged', actor: 'alice' },
    });

    const resolved = incident({
      ...acked,
      stage: 'post-incident',
      stageHistory: [...acked.stageHistory, { stage: 'post-incident', at: T0 + 120_000, by: 'bob' }],
    });
    expect(await n.followUp(resolved)).toBe(1);
    expect(await notifier().followUp(resolved)).toBe(0);
    const resolve = (await received('/pager', 3))[2]!;
    expect(resolve).toMatchObject({
      sequence: 3,
      status: 'resolved',
      reason: 'resolved',
      incident: { kind: 'resolved', actor: 'bob', stage: 'post-incident' },
    });
    // Only the paged receiver heard any of it.
    expect(bodies('/chat')).toEqual([]);
    expect(bodies('/quiet')).toEqual([]);
  });

  it('holds a follow-up behind its page while the page is being retried', async () => {
    receiver.reply = (r, index) => (r.path === '/pager' && index < 3 ? { status: 503 } : { status: 200 });
    const n = notifier();
    await n.page({ incident: incident(), receivers: ['pager'], target: 'alice', level: 1, loop: 1 });
    await n.followUp(incident({ acknowledgedAt: T0, acknowledgedBy: 'alice', stage: 'triage' }));
    await waitFor(
      async () =>
        (await new OutboxRepository(t.store.db).list({ limit: 10, status: 'delivered' })).length === 2 ||
        undefined,
      10_000,
      'both delivered',
    );
    const kinds = bodies('/pager').map((b) => b.incident.kind);
    expect(kinds.slice(0, 3)).toEqual(['page', 'page', 'page']);
    expect(kinds.at(-1)).toBe('acknowledged');
  });
});
