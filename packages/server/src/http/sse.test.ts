// The live stream against a running Opsbook: a check going red, an incident change and a runbook run
// each reach a subscriber as one small event, and a stopping Opsbook ends the stream.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { StreamEvent } from '@opsbook/contracts';
import { apiCaller, testAuth } from '../../../../test/api-caller.js';
import { createTestDatabase } from '../../../../test/databases.js';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';
import { EventBus } from '../runtime/event-bus.js';
import { mountStream } from './sse.js';
import type { AuthService } from '../auth/auth.service.js';
import type { Principal } from '../auth/principal.js';

interface Subscription {
  events: { event: string; data: any }[];
  raw: () => string;
  close(): void;
  ended: Promise<void>;
}

/** Reads an SSE response as it arrives, the way a browser's EventSource would. */
async function subscribe(url: string): Promise<Subscription> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal, headers: testAuth() });
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

describe('GET /api/v1/stream: deployments, backups, restores, drills and pending alerts', () => {
  let dir: string;
  let source: Awaited<ReturnType<typeof createTestDatabase>>;
  let opsbook: Opsbook;
  const call = apiCaller(() => opsbook.url);
  const restoredName = `sse_restored_${process.pid}`;
  const writeConfig = (rules: string[]) =>
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
services:
  - { name: shop, owner: team-shop }
alerting:
  defaultRules: false
  evaluationInterval: 1s
  rules: [${rules.join(', ')}]
backups: { dir: backups }
databases:
  - { id: items, url: "${source.url}", service: shop }
`,
    );

  beforeAll(async () => {
    source = await createTestDatabase(inject('postgresUrl'), 'sse_live');
    const client = new pg.Client({ connectionString: source.url });
    await client.connect();
    await client.query(
      'CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 10)',
    );
    await client.end();
    dir = mkdtempSync(join(tmpdir(), 'opsbook-sse-live-'));
    writeConfig([]);
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await opsbook.start();
    await opsbook.ready();
  }, 60_000);

  afterAll(async () => {
    await opsbook.stop();
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${restoredName} WITH (FORCE)`);
    await admin.end();
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces a pending alert and a recorded deployment', async () => {
    const stream = await subscribe(`${opsbook.url}/api/v1/stream`);
    try {
      await waitFor(() => stream.events.some((e) => e.event === 'ready'), 5_000, 'the ready event');
      // A rule that holds at once but fires only after an hour: its alert goes pending and stays there.
      writeConfig([
        '{ alert: ShopWarming, expr: "vector(1)", for: 1h, severity: warning, labels: { service: shop } }',
      ]);
      expect((await opsbook.reload()).applied).toBe(true);
      const pending = await waitFor(
        () => stream.events.find((e) => e.data.type === 'alert' && e.data.status === 'pending'),
        10_000,
        'a pending alert event',
      );
      expect(pending.data).toEqual({
        type: 'alert',
        id: expect.any(String),
        status: 'pending',
        service: 'shop',
      });
      expect((await call('GET', '/api/v1/alerts?state=pending')).body.items[0]).toMatchObject({
        fingerprint: pending.data.id,
        alertname: 'ShopWarming',
      });

      const recorded = await call('POST', '/api/v1/deployments', { service: 'shop', version: '3.1.0' });
      expect(recorded.status).toBe(201);
      const deployed = await waitFor(
        () => stream.events.find((e) => e.data.type === 'deployment'),
        5_000,
        'a deployment event',
      );
      expect(deployed.data).toEqual({
        type: 'deployment',
        id: recorded.body.id,
        service: 'shop',
        status: 'succeeded',
      });
      await call('PATCH', `/api/v1/deployments/${recorded.body.id}`, { status: 'rolled_back' });
      await waitFor(
        () => stream.events.some((e) => e.data.type === 'deployment' && e.data.status === 'rolled_back'),
        5_000,
        'the rollback event',
      );
    } finally {
      stream.close();
    }
  });

  it('announces a backup, a restore and a drill as they start and end', async () => {
    const stream = await subscribe(`${opsbook.url}/api/v1/stream`);
    const of = (type: string) => stream.events.filter((e) => e.data.type === type).map((e) => e.data);
    try {
      await waitFor(() => stream.events.some((e) => e.event === 'ready'), 5_000, 'the ready event');
      const backup = await call('POST', '/api/v1/databases/items/backups');
      expect(backup.status).toBe(202);
      const id = backup.body.id as string;
      await waitFor(() => of('backup').some((e) => e.status === 'succeeded'), 30_000, 'the backup to end');
      expect(of('backup')).toEqual([
        { type: 'backup', id, database: 'items', operation: 'backup', status: 'running' },
        { type: 'backup', id, database: 'items', operation: 'backup', status: 'succeeded' },
      ]);
      // Refetching on the notice finds the finished backup.
      expect((await call('GET', `/api/v1/backups/${id}`)).body.status).toBe('succeeded');

      const restore = await call('POST', `/api/v1/backups/${id}/restore`, { to: restoredName, actor: 'ann' });
      expect(restore.status).toBe(202);
      await waitFor(
        () => of('backup').some((e) => e.operation === 'restore' && e.status !== 'running'),
        30_000,
        'the restore to end',
      );
      expect(of('backup').filter((e) => e.operation === 'restore')).toEqual([
        { type: 'backup', id: restore.body.id, database: 'items', operation: 'restore', status: 'running' },
        { type: 'backup', id: restore.body.id, database: 'items', operation: 'restore', status: 'succeeded' },
      ]);

      const drill = await call('POST', '/api/v1/databases/items/drills', { actor: 'ann' });
      expect(drill.status).toBe(202);
      await waitFor(() => of('drill').some((e) => e.status !== 'running'), 30_000, 'the drill to end');
      expect(of('drill')).toEqual([
        { type: 'drill', id: drill.body.id, database: 'items', status: 'running' },
        { type: 'drill', id: drill.body.id, database: 'items', status: 'passed' },
      ]);
    } finally {
      stream.close();
    }
  });
});

describe('the stream itself', () => {
  it('sends heartbeats, delivers events in order and ends when the bus closes', async () => {
    const events = new EventBus();
    const app = new OpenAPIHono();
    // The stream re-checks its caller at each heartbeat; this caller stays valid.
    mountStream(app, { events, auth: () => tokenAuth(() => true) }, 50);
    const response = await app.request('/api/v1/stream', { headers: { authorization: 'Bearer t' } });
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

/** Just the part of the auth service the stream asks: is this bearer token (still) valid? */
function tokenAuth(valid: () => boolean): AuthService {
  return {
    fromBearer: async () => (valid() ? ({ username: 'x' } as Principal) : undefined),
    fromSession: async () => undefined,
  } as unknown as AuthService;
}

describe('a stream whose caller is signed out', () => {
  it('ends at the next heartbeat once the token or session is no longer valid', async () => {
    const events = new EventBus();
    const app = new OpenAPIHono();
    let valid = true;
    mountStream(app, { events, auth: () => tokenAuth(() => valid) }, 50);
    const response = await app.request('/api/v1/stream', { headers: { authorization: 'Bearer t' } });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await waitFor(() => events.subscribers === 1, 2_000, 'a subscriber');
    valid = false;
    await waitFor(async () => (await reader.read()).done || undefined, 2_000, 'the stream to end');
    expect(events.subscribers).toBe(0);
  });
});
