// Runbook runs started for an incident, mirrored on its timeline through the engine's observer: steps
// that ran at once, manual steps ticked later, approvals and rejections, and the end of the run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { waitFor } from '../../../../test/target-server.js';
import { incidentsSchema } from '../config/incidents.schema.js';
import { RunbookEngine, type RunbookChange } from '../runbooks/runbook-engine.js';
import { loadRunbookText } from '../runbooks/runbook-loader.js';
import type { Runbook } from '../runbooks/runbook.schema.js';
import type { Series } from '../telemetry/series.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import { IncidentService } from './incident.service.js';
import type { TimelineEntry } from './incident.types.js';
import { RunbookTimeline } from './runbook-timeline.js';

const logger = pino({ level: 'silent' });

const RUNBOOK = (url: string) => `id: shop-errors
title: Shop errors
triggers: { manual: true, alerts: [HighErrorRate] }
steps:
  - { id: probe, title: Probe the shop, kind: http, url: "${url}/health" }
  - { id: logs, title: Read the error logs, kind: manual }
  - { id: ok, title: Approve the restart, kind: approval, role: responder, phase: resolution }
  - { id: restart, title: Restart the shop, kind: action, phase: resolution, request: { url: "${url}/restart", method: POST } }
`;

describe('runbook runs on incident timelines', () => {
  let t: TestStore;
  let server: Server;
  let url: string;
  let incidents: IncidentService;
  let engine: RunbookEngine;
  let mirror: RunbookTimeline;
  let changes: RunbookChange[];

  beforeEach(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"UP"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await openTestStore('sqlite');
    incidents = new IncidentService({
      repository: new IncidentRepository(t.store.db),
      config: incidentsSchema.parse({}),
      logger,
    });
    await incidents.load();
    const parsed = loadRunbookText(RUNBOOK(url), 'shop.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.diagnostics));
    engine = new RunbookEngine({
      store: t.store,
      runbooks: new Map<string, Runbook>([[parsed.runbook.id, parsed.runbook]]),
      services: {
        checks: { runNow: async () => ({ status: 'up', latencyMs: 1 }) },
        metrics: { select: async () => [] as Series[] },
        databases: () => undefined,
        allowShell: false,
      },
    });
    changes = [];
    mirror = new RunbookTimeline(logger);
    engine.observe((change) => {
      changes.push(change);
      mirror.observe(change);
    });
  });
  afterEach(async () => {
    await engine?.close();
    await incidents.stop();
    await t.cleanup();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function steps(id: string, count: number): Promise<TimelineEntry[]> {
    return waitFor(
      async () => {
        await incidents.idle();
        const found = (await incidents.get(id)).timeline.filter((e) => e.kind === 'runbook.step');
        return found.length >= count ? found : undefined;
      },
      10_000,
      `${count} runbook entries on ${id}`,
    );
  }

  it('mirrors the start, each step as it waits or finishes with who did it, and the end, once each', async () => {
    mirror.attach(incidents);
    const incident = await incidents.create({ title: 'Shop errors', severity: 'SEV2', actor: 'ann' });
    const run = await engine.start({
      runbookId: 'shop-errors',
      trigger: { incident: incident.id },
      actor: 'opsbook',
    });
    expect(run.status).toBe('waiting');
    let found = await steps(incident.id, 3);
    expect(found.map((e) => e.text)).toEqual([
      `Runbook "Shop errors" started (${run.id})`,
      expect.stringMatching(/^Probe the shop: succeeded \(200 in \d+ ms\)$/),
      'Read the error logs: waiting (waiting for a person to tick this step)',
    ]);
    expect(found[1]!.data).toMatchObject({
      runId: run.id,
      stepId: 'probe',
      kind: 'http',
      status: 'succeeded',
    });
    expect(found[1]!.data.evidence).toMatchObject({ status: 200 });

    // Ticked hours later through the API: the person who ticked it is the entry's actor.
    await engine.tick(run.id, 'logs', 'bob', 'nothing unusual');
    await engine.approve(run.id, 'ok', { id: 'carol', roles: ['responder'] });
    found = await steps(incident.id, 8);
    expect(found.slice(3).map((e) => [e.actor, e.text])).toEqual([
      ['bob', 'Read the error logs: succeeded (ticked by bob: nothing unusual)'],
      ['opsbook', 'Approve the restart: waiting (waiting for approval by a user with role responder)'],
      ['carol', 'Approve the restart: succeeded (approved by carol)'],
      ['opsbook', expect.stringMatching(/^Restart the shop: succeeded/)],
      ['opsbook', 'Runbook "Shop errors" finished: succeeded'],
    ]);
    expect(found.find((e) => e.data.stepId === 'restart')!.data.destructive).toBe(true);
    // Nothing twice: one entry per start, step state and end.
    expect(found).toHaveLength(8);
    expect(changes.map((c) => c.type)).toEqual([
      'run.started',
      'step',
      'step',
      'step',
      'step',
      'step',
      'step',
      'run.finished',
    ]);
  });

  it('mirrors a rejection and the steps it stops; runs not started for an incident stay off timelines', async () => {
    mirror.attach(incidents);
    const incident = await incidents.create({ title: 'Shop errors', severity: 'SEV2', actor: 'ann' });
    const manual = await engine.start({ runbookId: 'shop-errors', actor: 'dan', trigger: { manual: true } });
    const run = await engine.start({
      runbookId: 'shop-errors',
      trigger: { incident: incident.id },
      actor: 'opsbook',
    });
    await engine.tick(run.id, 'logs', 'bob');
    await engine.reject(run.id, 'ok', { id: 'carol', roles: ['responder'] }, 'not during peak');
    const found = await steps(incident.id, 8);
    expect(found.slice(4).map((e) => e.text)).toEqual([
      'Approve the restart: waiting (waiting for approval by a user with role responder)',
      'Approve the restart: rejected (rejected by carol: not during peak)',
      'Restart the shop: skipped (not run: the run stopped)',
      'Runbook "Shop errors" finished: failed',
    ]);
    expect(found.every((e) => e.data.runId === run.id)).toBe(true);
    expect(changes.filter((c) => c.run.id === manual.id).length).toBeGreaterThan(0);
  });

  it('keeps changes made before incidents run and records them once attached', async () => {
    const incident = await incidents.create({ title: 'Shop errors', severity: 'SEV2', actor: 'ann' });
    const run = await engine.start({
      runbookId: 'shop-errors',
      trigger: { incident: incident.id },
      actor: 'opsbook',
    });
    await incidents.idle();
    expect((await incidents.get(incident.id)).timeline.filter((e) => e.kind === 'runbook.step')).toEqual([]);
    mirror.attach(incidents);
    const found = await steps(incident.id, 3);
    expect(found[0]!.text).toBe(`Runbook "Shop errors" started (${run.id})`);
  });
});
