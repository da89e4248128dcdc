// The live stream against a running Opsbook: a check going red, an incident change and a runbook run
// each reach a subscriber as one small event, and a stopping Opsbook ends the stream.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { StreamEvent } from '@opsbook/contracts';
import { apiCaller } from '../../../../test/api-caller.js';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';
import { EventBus } from '../runtime/event-bus.js';
import { mountStream } from './sse.js';

interface Subscription {
  events: { event: string; data: any }[];
  raw: () => string;
  close(): void;
  ended: Promise<void>;
}

/** Reads an SSE response as it arrives, the way a browser's EventSource would. */
async function subscribe(url: string): Promise<Subscription> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Subscription['events'] = [];
  let text = '';
  let buffer = '';
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += value;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { events, raw: () => text, close: () => controller.abort(), ended };
}

describe('GET /api/v1/stream', () => {
  let dir: string;
  let target: Target;
  let opsbook: Opsbook;
  const call = apiCaller(() => opsbook.url);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-sse-'));
    target = await startTarget();
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
services:
  - name: shop
    owner: team-shop
    checks:
      - name: ready
        periodSeconds: 1
        initialDelaySeconds: 0
        failureThreshold: 1
        http: { url: "${target.url}/ready" }
`,
    );
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await opsbook.start();
    await opsbook.ready();
  });

  afterAll(async () => {
    await opsbook.stop();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces a check going unhealthy, after the new state can be read from the API', async () => {
    await waitFor(
      async () => (await call('GET', '/api/v1/checks/shop/ready')).body.status === 'healthy',
      10_000,
      'shop/ready healthy',
    );
    const stream = await subscribe(`${opsbook.url}/api/v1/stream`);
    try {
      await waitFor(() => stream.events.some((e) => e.event === 'ready'), 5_000, 'the ready event');
      target.status.set('/ready', 503);
      const event = await waitFor(
        () =>
          stream.events.find(
            (e) => e.event === 'change' && e.data.type === 'check' && e.data.status === 'unhealthy',
          ),
        10_000,
        'a check event',
      );
      expect(event.data).toEqual({ type: 'check', id: 'shop/ready', service: 'shop', status: 'unhealthy' });
      // The console refetches on the notice: the API must already say so.
      expect((await call('GET', '/api/v1/services')).body.items[0]).toMatchObject({
        name: 'shop',
        status: 'unhealthy',
      });
    } finally {
      target.status.delete('/ready');
      stream.close();
    }
  });

  it('announces incident changes and timeline entries, and runbook runs', async () => {
    const stream = await subscribe(`${opsbook.url}/api/v1/stream`);
    try {
      await waitFor(() => stream.events.some((e) => e.event === 'ready'), 5_000, 'the ready event');
      const opened = await call('POST', '/api/v1/incidents', {
        title: 'Checkout slow',
        severity: 'SEV2',
        services: ['shop'],
        actor: 'ann',
      });
      expect(opened.status).toBe(201);
      const id = opened.body.id as string;
      await waitFor(
        () => stream.events.some((e) => e.data.type === 'incident' && e.data.id === id && e.data.opened),
        5_000,
        'the incident opened event',
      );
      await call('POST', `/api/v1/incidents/${id}/notes`, { text: 'looking', actor: 'ann' });
      await waitFor(
        () => stream.events.filter((e) => e.data.type === 'incident' && e.data.id === id).length >= 2,
        5_000,
        'an event for the note',
      );

      const run = await call('POST', '/api/v1/runbooks/service-unavailable/runs', {
        actor: 'ann',
        parameters: { service: 'shop' },
      });
      expect(run.status).toBe(201);
      const runEvent = await waitFor(
        () => stream.events.find((e) => e.data.type === 'runbook' && e.data.id === run.body.id),
        5_000,
        'a runbook event',
      );
      expect(runEvent.data).toMatchObject({ type: 'runbook', incident: null });
    } finally {
      stream.close();
    }
  });
});

describe('the stream itself', () => {
  it('sends heartbeats, delivers events in order and ends when the bus closes', async () => {
    const events = new EventBus();
    const app = new OpenAPIHono();
    mountStream(app, { events }, 50);
    const response = await app.request('/api/v1/stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += value;
      }
    })();
    await waitFor(() => events.subscribers === 1, 2_000, 'a subscriber');
    const sent: StreamEvent[] = [1, 2, 3].map((n) => ({
      type: 'runbook',
      id: `d${n}`,
      status: 'running',
      incident: null,
    }));
    for (const e of sent) events.publish(e);
    await waitFor(() => text.includes('d3') && text.includes(': heartbeat'), 2_000, 'events and a heartbeat');
    expect(text.indexOf('"d1"')).toBeLessThan(text.indexOf('"d2"'));
    expect(text.indexOf('"d2"')).toBeLessThan(text.indexOf('"d3"'));
    events.close();
    await reading;
    expect(events.subscribers).toBe(0);
  });
});
