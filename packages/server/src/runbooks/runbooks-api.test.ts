// A runbook run through the API of a running Opsbook: automated step, manual tick, approval, audit.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { apiCaller } from '../../../../test/api-caller.js';
import { createAccount } from '../../../../test/accounts.js';
import { startTarget } from '../../../../test/target-server.js';
import { Opsbook } from '../runtime/opsbook.js';

describe('runbooks API', () => {
  it('lists the built-ins and runs a runbook from a config folder step by step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-runbooks-'));
    const target = await startTarget();
    mkdirSync(join(dir, 'runbooks'));
    writeFileSync(
      join(dir, 'runbooks', 'restart.yaml'),
      `
id: restart-web
title: Restart the web tier
triggers: { manual: true }
steps:
  - { id: probe, title: Probe the web tier, kind: http, url: "${target.url}/health", phase: investigation }
  - { id: drain, title: Drain traffic in the load balancer, kind: manual, phase: resolution }
  - { id: ok, title: Approve the restart, kind: approval, role: dba, phase: resolution }
`,
    );
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage: { url: "sqlite:${join(dir, 'ops.db')}" }\nalerting: { defaultRules: false }\nrunbooks: { dirs: [runbooks] }\n`,
    );
    const opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
    await opsbook.start();
    await opsbook.ready();
    const call = apiCaller(() => opsbook.url);
    try {
      const list = await call('GET', '/api/v1/runbooks');
      expect(list.body.items.map((r: any) => r.id)).toEqual(
        expect.arrayContaining([
          'service-unavailable',
          'high-error-rate',
          'database-issues',
          'high-resource-utilization',
          'security-incident',
          'restart-web',
        ]),
      );

      const started = await call('POST', '/api/v1/runbooks/restart-web/runs', { actor: 'ann' });
      expect(started.status).toBe(201);
      expect(started.body.status).toBe('waiting');
      const steps = Object.fromEntries(started.body.steps.map((s: any) => [s.id, s.status]));
      expect(steps).toMatchObject({ probe: 'succeeded', drain: 'waiting' });
      const runId = started.body.id as string;

      const ticked = await call('POST', `/api/v1/runbook-runs/${runId}/steps/drain/tick`, { actor: 'bob' });
      expect(ticked.body.steps.find((s: any) => s.id === 'ok').status).toBe('waiting');
      // The approver's roles are their account's: eve is a responder outside the dba group, carol in it.
      const eve = await createAccount(() => opsbook.url, { username: 'eve', role: 'responder' });
      const carol = await createAccount(() => opsbook.url, {
        username: 'carol',
        role: 'responder',
        groups: ['dba'],
      });
      // Roles claimed in the body count for nothing, and a personal token cannot name someone else.
      const refused = await eve.call('POST', `/api/v1/runbook-runs/${runId}/steps/ok/approve`, {
        actor: 'carol',
        roles: ['dba'],
      });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe('approving ok needs role dba');
      const anonymous = apiCaller(() => opsbook.url, null);
      const unsigned = await anonymous('POST', `/api/v1/runbook-runs/${runId}/steps/ok/approve`, {
        actor: 'carol',
      });
      expect(unsigned.status).toBe(401);
      const approved = await carol.call('POST', `/api/v1/runbook-runs/${runId}/steps/ok/approve`, {});
      expect(approved.status).toBe(200);
      expect(approved.body.status).toBe('succeeded');

      const detail = await call('GET', `/api/v1/runbook-runs/${runId}`);
      const audit = detail.body.audit.map((a: any) => `${a.actor}:${a.action}`);
      expect(audit).toEqual(
        expect.arrayContaining([
          'ann:run.started',
          'bob:step.ticked',
          'eve:approval.refused',
          'carol:step.approved',
        ]),
      );
      expect(audit).not.toContain('carol:approval.refused');
      expect(
        (await call('GET', '/api/v1/runbook-runs?status=succeeded')).body.items.map((r: any) => r.id),
      ).toContain(runId);
      expect((await call('POST', '/api/v1/runbooks/nope/runs', { actor: 'ann' })).status).toBe(404);
    } finally {
      await opsbook.stop();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
