// GET /api/v1/services filtered by text and health, against a running Opsbook.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { apiCaller } from '../../../../../test/api-caller.js';
import { startTarget, waitFor, type Target } from '../../../../../test/target-server.js';
import { Opsbook } from '../../runtime/opsbook.js';

describe('GET /api/v1/services filters', () => {
  let dir: string;
  let target: Target;
  let opsbook: Opsbook;
  const call = apiCaller(() => opsbook.url);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-services-'));
    target = await startTarget();
    target.status.set('/down', 503);
    const check = (path: string) =>
      `[{ name: ready, periodSeconds: 1, initialDelaySeconds: 0, failureThreshold: 1, http: { url: "${target.url}${path}" } }]`;
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
services:
  - { name: checkout, owner: team-shop, tags: [payments], checks: ${check('/ok')} }
  - { name: search, owner: team-shop, environment: staging, checks: ${check('/down')} }
  - { name: ledger, owner: team-finance, tags: [Payments], checks: ${check('/ok')} }
`,
    );
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await opsbook.start();
    await opsbook.ready();
    await waitFor(
      async () =>
        (await call('GET', '/api/v1/services')).body.items.every((s: any) => s.status !== 'unknown'),
      10_000,
      'every service known',
    );
  });

  afterAll(async () => {
    await opsbook.stop();
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = async (query: string) =>
    (await call('GET', `/api/v1/services${query}`)).body.items.map((s: any) => s.name);

  it('matches part of a name, owner, environment or tag in any case, and a health status', async () => {
    expect(await names('')).toEqual(['checkout', 'ledger', 'search']);
    expect(await names('?q=PAYMENTS')).toEqual(['checkout', 'ledger']);
    expect(await names('?q=shop')).toEqual(['checkout', 'search']);
    expect(await names('?q=stag')).toEqual(['search']);
    expect(await names('?status=unhealthy')).toEqual(['search']);
    expect(await names('?q=shop&status=healthy')).toEqual(['checkout']);
  });

  it('names a bad status and the values it takes', async () => {
    const bad = await call('GET', '/api/v1/services?status=sick');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('status');
    expect(bad.body.error.message).toContain('unhealthy');
  });
});
