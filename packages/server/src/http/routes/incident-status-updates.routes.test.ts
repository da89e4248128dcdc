// POST /incidents/{id}/status-updates in process: the timeline entry at once, the message through a real
// outbox to a loopback receiver, and the errors a user can run into.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../../test/engines.js';
import { waitFor } from '../../../../../test/target-server.js';
import { incidentsSchema } from '../../config/incidents.schema.js';
import { receiverSchema } from '../../config/notifications.schema.js';
import { IncidentService } from '../../incidents/incident.service.js';
import { OutboxIncidentNotifier } from '../../notify/incident-notices.js';
import { Outbox } from '../../notify/outbox.js';
import { startReceiver, type TestReceiver } from '../../notify/outbox.testing.js';
import { IncidentRepository } from '../../storage/incident.repository.js';
import { newRouter } from '../app.js';
import { errorResponse } from '../errors.js';
import { incidentRoutes } from './incidents.routes.js';

const logger = pino({ level: 'silent' });

describe('incident status updates API', () => {
  let t: TestStore;
  let receiver: TestReceiver;
  let service: IncidentService;
  let outbox: Outbox;
  let notifier: OutboxIncidentNotifier;

  beforeEach(async () => {
    t = await openTestStore('sqlite');
    receiver = await startReceiver();
    service = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger,
    });
    await service.load();
    const receivers = ['status-page', 'exec-mail'].map((name) =>
      receiverSchema.parse({ name, webhook: { url: `${receiver.url}/${name}` } }),
    );
    outbox = new Outbox({ store: t.store, logger, receivers, pollIntervalMs: 50, stopTimeoutMs: 200 });
    await outbox.start();
    notifier = new OutboxIncidentNotifier({
      store: t.store,
      queue: outbox,
      logger,
      config: {
        receivers: receivers.map((r) => r.name),
        channels: ['status-page'],
        externalUrl: 'https://ops.example',
      },
    });
  });
  afterEach(async () => {
    await outbox.stop();
    await service.stop();
    await receiver.close();
    await t.cleanup();
  });

  function app(withNotifier = true) {
    const router = newRouter();
    router.onError((error, c) => errorResponse(error, c, logger));
    router.route(
      '/api/v1',
      incidentRoutes({ incidents: () => service, ...(withNotifier && { incidentNotifier: () => notifier }) }),
    );
    return router;
  }

  async function post(path: string, body: unknown, withNotifier = true) {
    const response = await app(withNotifier).request(`/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  it('records the update on the timeline at once and sends it to the incident channels', async () => {
    await service.create({ title: 'Checkout down', severity: 'SEV1', actor: 'ann' });
    const response = await post('/incidents/INC-1/status-updates', {
      text: '  Rolled back the release; checkout recovering.  ',
      actor: 'carol',
    });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({
      incidentId: 'INC-1',
      text: 'Rolled back the release; checkout recovering.',
      actor: 'carol',
      receivers: ['status-page'],
      groupKey: 'incident/INC-1/status',
    });
    const { timeline } = await service.get('INC-1');
    expect(timeline.at(-1)).toMatchObject({
      kind: 'status',
      actor: 'carol',
      text: 'Status update: Rolled back the release; checkout recovering.',
      data: { update: true, receivers: ['status-page'] },
    });
    const request = await waitFor(
      async () => receiver.requests.find((r) => r.path === '/status-page'),
      10_000,
      'the update at the status page receiver',
    );
    expect(request.body).toMatchObject({
      groupKey: 'incident/INC-1/status',
      incident: {
        id: 'INC-1',
        kind: 'status-update',
        text: 'Rolled back the release; checkout recovering.',
        url: 'https://ops.example/incidents/INC-1',
      },
    });

    const named = await post('/incidents/INC-1/status-updates', {
      text: 'For the board',
      actor: 'carol',
      receivers: ['exec-mail'],
    });
    expect(named.body.receivers).toEqual(['exec-mail']);
  });

  it('answers 400 naming what is wrong, 404 for no incident, 409 once closed; nothing is recorded', async () => {
    await service.create({ title: 'Checkout down', severity: 'SEV1', actor: 'ann' });
    const unknown = await post('/incidents/INC-1/status-updates', {
      text: 'x',
      actor: 'carol',
      receivers: ['slack-typo'],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/no receiver named "slack-typo"/);
    expect(unknown.body.error.message).toMatch(/status-page, exec-mail/);

    notifier.configure({ receivers: ['status-page'], channels: [], externalUrl: 'https://ops.example' });
    const none = await post('/incidents/INC-1/status-updates', { text: 'x', actor: 'carol' });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/incidents\.channels/);

    const empty = await post('/incidents/INC-1/status-updates', { text: '   ', actor: 'carol' });
    expect(empty.status).toBe(400);
    const long = await post('/incidents/INC-1/status-updates', { text: 'x'.repeat(4001), actor: 'carol' });
    expect(long.status).toBe(400);
    expect((await post('/incidents/INC-9/status-updates', { text: 'x', actor: 'c' })).status).toBe(404);
    expect((await post('/incidents/INC-1/status-updates', { text: 'x', actor: 'c' }, false)).status).toBe(
      503,
    );

    expect((await service.get('INC-1')).timeline.filter((e) => e.data.update)).toEqual([]);
    await service.resolve('INC-1', 'ann');
    await service.close('INC-1', 'ann');
    notifier.configure({ receivers: ['status-page'], channels: ['status-page'], externalUrl: '' });
    const closed = await post('/incidents/INC-1/status-updates', { text: 'x', actor: 'carol' });
    expect(closed.status).toBe(409);
    expect(closed.body.error.message).toMatch(/INC-1 is closed/);
  });
});
