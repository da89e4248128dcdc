// The deployments API of a running Opsbook: recording and finishing deployments, bad input naming its field,
// newest-first pages, the timeline event, and the watch window holding the real alerts that fired in it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCaller } from '../../../../../test/api-caller.js';
import { waitFor } from '../../../../../test/target-server.js';
import type { Opsbook } from '../../runtime/opsbook.js';
import { startOpsbook, type RunningOpsbook } from '../../../../../test/running-opsbook.js';

const MIN = 60_000;

describe('deployments API', () => {
  let running: RunningOpsbook;
  let opsbook: Opsbook;
  const call = apiCaller(() => opsbook.url);

  beforeAll(async () => {
    running = await startOpsbook(
      'deployments',
      (dir) =>
        `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
services:
  - { name: shop, owner: team-shop }
  - { name: billing, owner: team-billing, environment: staging }
  - { name: search, owner: team-search }
`,
    );
    opsbook = running.opsbook;
  }, 30_000);

  afterAll(() => running.stop());

  /** Fires an alert through the Alertmanager-compatible intake and waits until it is in the history. */
  async function fire(alertname: string, service: string): Promise<number> {
    const posted = await call('POST', '/api/v2/alerts', [
      { labels: { alertname, service, severity: 'critical' }, annotations: { summary: `${alertname} now` } },
    ]);
    expect(posted.status).toBe(200);
    const entry = await waitFor(
      async () =>
        (
          await call('GET', `/api/v1/alerts/history?alertname=${alertname}&service=${service}`)
        ).body.items.find((h: any) => h.state === 'firing'),
      5_000,
      `${alertname} firing`,
    );
    return entry.at as number;
  }

  it('records a deployment: 201 with Location, defaults from the service, watched for 30 minutes', async () => {
    const before = Date.now();
    const recorded = await call('POST', '/api/v1/deployments', {
      service: 'billing',
      version: '2.3.0',
      url: 'https://ci.example.com/runs/41',
      description: 'new invoice layout',
      by: 'ci-bot',
    });
    expect(recorded.status).toBe(201);
    const d = recorded.body;
    expect(d).toMatchObject({
      service: 'billing',
      version: '2.3.0',
      environment: 'staging',
      status: 'succeeded',
      url: 'https://ci.example.com/runs/41',
      description: 'new invoice layout',
      by: 'ci-bot',
      watching: true,
      alerts: [],
    });
    expect(d.id).toMatch(/^billing-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
    expect(d.finishedAt).toBeGreaterThanOrEqual(before);
    expect(d.startedAt).toBe(d.finishedAt);
    // Guide 5.2: monitor metrics for 30 minutes after a deployment.
    expect(d.watchUntil).toBe(d.finishedAt + 30 * MIN);
    expect((await call('GET', `/api/v1/deployments/${d.id}`)).body).toEqual(d);

    const events = await call('GET', '/api/v1/events?kind=deployment.*&service=billing');
    expect(events.body.items[0]).toMatchObject({
      kind: 'deployment.recorded',
      severity: 'info',
      service: 'billing',
      message: 'billing 2.3.0 to staging by ci-bot: succeeded',
      data: { deployment: d.id, version: '2.3.0', status: 'succeeded' },
    });
  });

  it('answers bad input with a 400 naming the field and what to do', async () => {
    const cases: [unknown, string, RegExp][] = [
      [
        { service: 'nope', version: '1' },
        'service',
        /no service "nope" in the config.*shop, billing, search/,
      ],
      [{ service: 'shop' }, 'version', /./],
      [{ service: 'shop', version: '1', url: 'ftp://x/y' }, 'url', /http:\/\/ or https:\/\//],
      [{ service: 'shop', version: '1', status: 'done' }, 'status', /in_progress/],
      [
        {
          service: 'shop',
          version: '1',
          startedAt: '2026-01-01T10:00:00Z',
          finishedAt: '2026-01-01T09:00:00Z',
        },
        'finishedAt',
        /is before startedAt/,
      ],
      [
        { service: 'shop', version: '1', status: 'in_progress', finishedAt: Date.now() },
        'finishedAt',
        /has not finished/,
      ],
      [{ service: 'shop', version: '1', startedAt: Date.now() + 3_600_000 }, 'startedAt', /in the future/],
      [{ service: 'shop', version: '1', startedAt: 'yesterday' }, 'startedAt', /./],
    ];
    for (const [body, field, message] of cases) {
      const response = await call('POST', '/api/v1/deployments', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.field, JSON.stringify(body)).toBe(field);
      expect(response.body.error.message).toMatch(message);
    }
    for (const [query, field] of [
      ['cursor=abc', 'cursor'],
      ['status=done', 'status'],
      ['limit=0', 'limit'],
      ['limit=500', 'limit'],
    ]) {
      const response = await call('GET', `/api/v1/deployments?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.field).toBe(field);
    }
    expect((await call('GET', '/api/v1/deployments/nope')).status).toBe(404);
    expect((await call('PATCH', '/api/v1/deployments/nope', { status: 'failed' })).status).toBe(404);
    // Nothing was written by the refused requests.
    const shop = await call('GET', '/api/v1/deployments?service=shop&limit=200');
    expect(shop.body.items.filter((d: any) => d.version === '1')).toEqual([]);
  });

  it('pages newest first with nextCursor, filtered by service and status', async () => {
    const t = Date.now() - 10 * MIN;
    const ids: string[] = [];
    for (const [i, offset] of [0, 1000, 2000, 2000, 3000].entries()) {
      const r = await call('POST', '/api/v1/deployments', {
        service: 'search',
        version: `1.0.${i}`,
        status: i === 2 ? 'failed' : 'succeeded',
        startedAt: t + offset,
        finishedAt: t + offset + 500,
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await call(
        'GET',
        `/api/v1/deployments?service=search&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((d: any) => d.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(ids));
    const starts = await Promise.all(
      seen.map(async (id) => (await call('GET', `/api/v1/deployments/${id}`)).body.startedAt),
    );
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    expect(starts[0]).toBe(t + 3000);
    const failed = await call('GET', '/api/v1/deployments?service=search&status=failed');
    expect(failed.body.items.map((d: any) => d.version)).toEqual(['1.0.2']);
  });

  it('shows the alerts that fired for the service inside its watch window, and not those outside it', async () => {
    // Outside: fired for shop before the deployment started.
    const early = await fire('ShopDownBefore', 'shop');
    await waitFor(() => Date.now() > early, 1_000, 'the clock to move on');
    // An old deployment whose 30-minute watch ended long ago.
    const old = await call('POST', '/api/v1/deployments', {
      service: 'shop',
      version: '0.9.0',
      startedAt: Date.now() - 120 * MIN,
      finishedAt: Date.now() - 118 * MIN,
    });
    const now = await call('POST', '/api/v1/deployments', { service: 'shop', version: '1.0.0', by: 'ann' });
    expect(now.status).toBe(201);
    // Inside: fired for shop after the deployment; another service's alert is not shop's regression.
    const inside = await fire('ShopErrorsAfterDeploy', 'shop');
    await fire('SearchSlow', 'search');

    const view = (await call('GET', `/api/v1/deployments/${now.body.id}`)).body;
    expect(view.watching).toBe(true);
    expect(view.alerts).toEqual([
      {
        fingerprint: expect.any(String),
        alertname: 'ShopErrorsAfterDeploy',
        severity: 'critical',
        firedAt: inside,
        summary: 'ShopErrorsAfterDeploy now',
      },
    ]);
    const past = (await call('GET', `/api/v1/deployments/${old.body.id}`)).body;
    expect(past.watching).toBe(false);
    expect(past.watchUntil).toBe(past.finishedAt + 30 * MIN);
    expect(past.alerts).toEqual([]);
    // The list carries the same windows.
    const list = (await call('GET', '/api/v1/deployments?service=shop')).body.items;
    expect(list.find((d: any) => d.id === now.body.id).alerts.map((a: any) => a.alertname)).toEqual([
      'ShopErrorsAfterDeploy',
    ]);
    expect(list.find((d: any) => d.id === old.body.id).alerts).toEqual([]);
  });

  it('finishes an in-progress deployment, keeps the alerts of its run, and never reopens it', async () => {
    const started = await call('POST', '/api/v1/deployments', {
      service: 'billing',
      version: '2.4.0',
      status: 'in_progress',
    });
    expect(started.body).toMatchObject({
      status: 'in_progress',
      finishedAt: null,
      watchUntil: null,
      watching: true,
    });
    const during = await fire('BillingTimeouts', 'billing');

    const finished = await call('PATCH', `/api/v1/deployments/${started.body.id}`, { status: 'succeeded' });
    expect(finished.status).toBe(200);
    expect(finished.body.status).toBe('succeeded');
    expect(finished.body.finishedAt).toBeGreaterThanOrEqual(started.body.startedAt);
    expect(finished.body.watchUntil).toBe(finished.body.finishedAt + 30 * MIN);
    expect(finished.body.alerts.map((a: any) => [a.alertname, a.firedAt])).toEqual([
      ['BillingTimeouts', during],
    ]);

    const rolledBack = await call('PATCH', `/api/v1/deployments/${started.body.id}`, {
      status: 'rolled_back',
    });
    expect(rolledBack.body).toMatchObject({ status: 'rolled_back', finishedAt: finished.body.finishedAt });
    const reopened = await call('PATCH', `/api/v1/deployments/${started.body.id}`, { status: 'in_progress' });
    expect(reopened.status).toBe(409);
    expect(reopened.body.error.message).toMatch(/already ended \(rolled_back\); record a new deployment/);
    const empty = await call('PATCH', `/api/v1/deployments/${started.body.id}`, {});
    expect(empty.status).toBe(400);

    const kinds = (await call('GET', '/api/v1/events?kind=deployment.*&service=billing')).body.items
      .filter((e: any) => e.data.deployment === started.body.id)
      .map((e: any) => [e.kind, e.data.status, e.severity]);
    expect(kinds).toEqual([
      ['deployment.changed', 'rolled_back', 'warning'],
      ['deployment.changed', 'succeeded', 'info'],
      ['deployment.recorded', 'in_progress', 'info'],
    ]);
  });
});
