// Communicating about an incident through a running Opsbook: a critical alert opens an incident, a status
// update reaches the incident channel, deliveries and a manual runbook step land on the timeline, and a
// page to PagerDuty is acknowledged when the incident is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { OpsbookIncidentWebhookPayload } from '@opsbook/contracts';
import { apiCaller, type ApiCall } from '../../../../test/api-caller.js';
import { waitFor } from '../../../../test/target-server.js';
import { loadConfigText } from '../config/load.js';
import { startReceiver } from '../notify/outbox.testing.js';
import { Opsbook } from '../runtime/opsbook.js';
import type { IncidentNotifier } from './incident-notifier.js';
import type { Incident } from './incident.types.js';

const logger = pino({ level: 'silent' });

async function timelineWith(call: ApiCall, id: string, test: (entries: any[]) => boolean, what: string) {
  return waitFor(
    async () => {
      const { body } = await call('GET', `/api/v1/incidents/${id}`);
      return body.timeline && test(body.timeline) ? (body.timeline as any[]) : undefined;
    },
    10_000,
    what,
  );
}

describe('incident communications', () => {
  it('status updates reach the incident channel; deliveries and runbook ticks land on the timeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-incident-comms-'));
    const receiver = await startReceiver();
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(
      join(dir, 'runbooks', 'errors.yaml'),
      `
id: shop-errors
title: Shop errors
triggers: { alerts: [HighErrorRate] }
steps:
  - { id: look, title: Read the error logs, kind: manual }
`,
    );
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
runbooks: { dirs: [runbooks], builtin: false }
notifications:
  externalUrl: http://opsbook.test
  receivers:
    - { name: hook, webhook: { url: "${receiver.url}/hook" } }
    - { name: pager, pagerduty: { routingKey: "\${PD_ROUTING_KEY}", url: "${receiver.url}/v2/enqueue" } }
  route: { receiver: hook, groupBy: [alertname, service], groupWait: 0s, groupInterval: 1s }
incidents:
  channels: [hook]
`,
    );
    const opsbook = new Opsbook({
      configFile: file,
      port: 0,
      logger,
      env: { ...process.env, PD_ROUTING_KEY: 'rk-e2e-0123' },
    });
    await opsbook.start();
    await opsbook.ready();
    const call = apiCaller(() => opsbook.url);
    const at = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => r.body as any);
    try {
      await call('POST', '/api/v2/alerts', [
        {
          labels: { alertname: 'HighErrorRate', service: 'shop', severity: 'critical' },
          annotations: { summary: '12% errors' },
        },
      ]);
      const incidents = await waitFor(
        async () => (await call('GET', '/api/v1/incidents')).body.items?.[0],
        5000,
        'an incident',
      );
      const id = incidents.id as string;
      await waitFor(async () => at('/hook').find((b) => b.alerts?.length) ?? undefined, 10_000, 'the alert');

      const posted = await call('POST', `/api/v1/incidents/${id}/status-updates`, {
        text: 'Rolled back release 42; errors falling.',
        actor: 'carol',
      });
      expect(posted.status).toBe(202);
      expect(posted.body.receivers).toEqual(['hook']);
      const update = await waitFor(
        async () => at('/hook').find((b) => b.incident) ?? undefined,
        10_000,
        'the status update at the webhook',
      );
      expect(OpsbookIncidentWebhookPayload.parse(update).incident).toMatchObject({
        id,
        kind: 'status-update',
        severity: 'SEV2',
        text: 'Rolled back release 42; errors falling.',
        actor: 'carol',
        url: `http://opsbook.test/incidents/${id}`,
      });

      const timeline = await timelineWith(
        call,
        id,
        (entries) => entries.filter((e) => e.kind === 'notification').length >= 2,
        'both deliveries on the timeline',
      );
      const notified = timeline.filter((e) => e.kind === 'notification').map((e) => e.text);
      expect(notified).toEqual(
        expect.arrayContaining([
          'Notified hook (webhook): [FIRING:1] HighErrorRate service=shop',
          `Notified hook (webhook): [SEV2] ${id} status update: Rolled back release 42; errors falling.`,
        ]),
      );
      expect(timeline.find((e) => e.kind === 'status' && e.data.update)).toMatchObject({
        actor: 'carol',
        text: 'Status update: Rolled back release 42; errors falling.',
      });

      // The runbook the alert started waits for a person; ticking it later shows on the timeline.
      const waiting = timeline.find((e) => e.kind === 'runbook.step' && e.data.stepId === 'look');
      expect(waiting.data.status).toBe('waiting');
      const ticked = await call('POST', `/api/v1/runbook-runs/${waiting.data.runId}/steps/look/tick`, {
        actor: 'bob',
        note: 'no deploy errors',
      });
      expect(ticked.status).toBe(200);
      const after = await timelineWith(
        call,
        id,
        (entries) => entries.some((e) => e.text === 'Runbook "Shop errors" finished: succeeded'),
        'the run finished on the timeline',
      );
      const steps = after.filter((e) => e.kind === 'runbook.step').map((e) => [e.actor, e.text]);
      expect(steps).toEqual([
        ['opsbook', `Runbook "Shop errors" started (${waiting.data.runId})`],
        ['opsbook', 'Read the error logs: waiting (waiting for a person to tick this step)'],
        ['bob', 'Read the error logs: succeeded (ticked by bob: no deploy errors)'],
        ['opsbook', 'Runbook "Shop errors" finished: succeeded'],
      ]);

      // Escalation pages through the runtime's notifier; acknowledging the incident tells PagerDuty.
      const notifier = (opsbook as unknown as { incidentNotifier: IncidentNotifier }).incidentNotifier;
      const current = (await call('GET', `/api/v1/incidents/${id}`)).body as Incident;
      await notifier.page({ incident: current, receivers: ['pager'], target: 'alice', level: 1, loop: 1 });
      const trigger = await waitFor(async () => at('/v2/enqueue')[0], 10_000, 'the PagerDuty trigger');
      expect(trigger).toMatchObject({ routing_key: 'rk-e2e-0123', event_action: 'trigger', dedup_key: id });
      expect((await call('POST', `/api/v1/incidents/${id}/acknowledge`, { actor: 'alice' })).status).toBe(
        200,
      );
      const ack = await waitFor(async () => at('/v2/enqueue')[1], 10_000, 'the PagerDuty acknowledge');
      expect(ack).toMatchObject({ event_action: 'acknowledge', dedup_key: id });
      await timelineWith(
        call,
        id,
        (entries) =>
          entries.some(
            (e) => e.text === `Notified pager (pagerduty): [SEV2] ${id} 12% errors — acknowledged by alice`,
          ),
        'the acknowledge on the timeline',
      );
    } finally {
      await opsbook.stop();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('a channel that names no receiver is a config error', () => {
    const loaded = loadConfigText(
      `
notifications:
  receivers:
    - { name: hook, webhook: { url: "http://127.0.0.1:9/hook" } }
incidents:
  channels: [hook, status-page]
`,
      'opsbook.yaml',
      {},
    );
    expect(loaded.ok).toBe(false);
    expect(loaded.diagnostics).toEqual([
      expect.objectContaining({
        path: 'incidents.channels[1]',
        message: 'no receiver named "status-page"; define it under notifications.receivers',
      }),
    ]);
  });
});
