// End to end with the real binaries: an existing Prometheus (and Alertmanager) feeds Opsbook's intake.
// Prometheus scrapes the example-service, evaluates a rule and POSTs its alerts to Opsbook's /api/v2/alerts,
// or to Alertmanager, whose webhook then calls /api/v1/intake/alertmanager. Loopback only, temp dirs only.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startExampleService,
  type ExampleService,
} from '../../../../../examples/example-service/src/service.js';
import {
  startAlertmanager,
  startPrometheus,
  type RunningBinary,
} from '../../../../../test/prometheus-tools.js';
import { waitFor } from '../../../../../test/target-server.js';
import { testAuth } from '../../../../../test/api-caller.js';
import { Opsbook } from '../../runtime/opsbook.js';

const logger = pino({ level: 'silent' });
const WAIT_MS = 30_000;
// An intake token from the config, as a team would give Prometheus and Alertmanager (docs/access-control.md).
const INTAKE_TOKEN = 'intake-token-for-the-prometheus-e2e-0123456789';
const intake = { authorization: `Bearer ${INTAKE_TOKEN}` };

interface Answer {
  status: number;
  body: any;
}

/** Reads with the test run's admin token (the binaries ignore it). */
async function call(base: string, path: string, init?: RequestInit): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    ...init,
    headers: { ...testAuth(), ...init?.headers },
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

/** Posts as an intake client would, with the intake token. */
const postJson = (base: string, path: string, body: unknown) =>
  call(base, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...intake },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** GETs a bounded number of orders per second from the example-service until stopped (at most maxMs). */
function driveTraffic(service: ExampleService, perSecond = 5, maxMs = 120_000) {
  const stopped = new AbortController();
  let sent = 0;
  const done = (async () => {
    const deadline = Date.now() + maxMs;
    while (!stopped.signal.aborted && Date.now() < deadline) {
      try {
        const response = await fetch(`${service.url}/api/orders`, {
          signal: AbortSignal.any([stopped.signal, AbortSignal.timeout(2_000)]),
        });
        await response.arrayBuffer();
        sent++;
      } catch {
        // stopped, or the service is closing
      }
      await sleep(1000 / perSecond, undefined, { signal: stopped.signal }).catch(() => {});
    }
  })();
  return {
    sent: () => sent,
    stop: async () => {
      stopped.abort();
      await done;
    },
  };
}

describe('an existing Prometheus / Alertmanager feeds Opsbook (real binaries)', () => {
  let dir: string;
  let opsbook: Opsbook;
  let cleanups: (() => Promise<void> | void)[];

  const alerts = async (query = ''): Promise<any[]> => {
    const answer = await call(opsbook.url, `/api/v1/alerts${query}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.items as any[];
  };
  const alertNamed = async (alertname: string) =>
    (await alerts(`?alertname=${encodeURIComponent(alertname)}`))[0] as any;

  /** waitFor, with what the components saw added to the timeout message. */
  async function eventually<T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    context: () => Promise<string>,
  ): Promise<T> {
    try {
      return (await waitFor(probe, WAIT_MS, what)) as T;
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await context().catch((e: Error) => e.message)}`);
    }
  }

  const describeState = async (prometheus?: RunningBinary, alertmanager?: RunningBinary) => {
    const parts = [`Opsbook alerts: ${JSON.stringify(await alerts())}`];
    if (prometheus) {
      const promAlerts = await call(prometheus.url, '/api/v1/alerts');
      const targets = await call(prometheus.url, '/api/v1/targets?state=active');
      parts.push(
        `Prometheus alerts: ${JSON.stringify(promAlerts.body)}`,
        `Prometheus targets: ${JSON.stringify(targets.body?.data?.activeTargets?.map((t: any) => ({ url: t.scrapeUrl, health: t.health, error: t.lastError })))}`,
        `Prometheus log (tail):\n${prometheus.output().slice(-3000)}`,
      );
    }
    if (alertmanager) {
      const amAlerts = await call(alertmanager.url, '/api/v2/alerts');
      parts.push(
        `Alertmanager alerts: ${JSON.stringify(amAlerts.body)}`,
        `Alertmanager log (tail):\n${alertmanager.output().slice(-3000)}`,
      );
    }
    return parts.join('\n');
  };

  const startService = async () => {
    const service = await startExampleService({ port: 0 });
    cleanups.push(() => service.close());
    return service;
  };
  const startTraffic = (service: ExampleService) => {
    const traffic = driveTraffic(service);
    cleanups.push(() => traffic.stop());
    return traffic;
  };
  const prometheus = async (options: Parameters<typeof startPrometheus>[0]) => {
    const running = await startPrometheus(options);
    cleanups.push(() => running.stop());
    return running;
  };
  const alertmanager = async (options: Parameters<typeof startAlertmanager>[0]) => {
    const running = await startAlertmanager(options);
    cleanups.push(() => running.stop());
    return running;
  };
  const setFaults = async (service: ExampleService, faults: Record<string, unknown>) => {
    const answer = await call(service.url, '/admin/faults', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  };
  const waitScraped = (prom: RunningBinary) =>
    eventually(
      'Prometheus to scrape the example-service',
      async () => {
        const answer = await call(prom.url, '/api/v1/targets?state=active');
        const targets = (answer.body?.data?.activeTargets ?? []) as any[];
        return targets.length > 0 && targets.every((t) => t.health === 'up');
      },
      () => describeState(prom),
    );

  const prometheusConfig = (service: ExampleService, alertmanagerTarget: string) => `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    cluster: e2e
scrape_configs:
  - job_name: example-service
    static_configs:
      - targets: ['127.0.0.1:${service.port}']
alerting:
  alertmanagers:
    - api_version: v2
      authorization: { credentials: ${INTAKE_TOKEN} }
      static_configs:
        - targets: ['${alertmanagerTarget}']
`;
  const errorRule = (alert: string, window: string) => `
groups:
  - name: example-service
    rules:
      - alert: ${alert}
        expr: sum(rate(http_requests_total{status=~"5.."}[${window}])) > 0
        for: 0s
        labels:
          severity: critical
          service: example-service
        annotations:
          summary: 'example-service answers {{ $value }} errors per second'
          runbook: https://opsbook.example/runbooks/example-errors
`;
  const alertmanagerConfig = () => `
route:
  receiver: opsbook
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: opsbook
    webhook_configs:
      - url: ${opsbook.url}/api/v1/intake/alertmanager
        send_resolved: true
        http_config: { authorization: { credentials: ${INTAKE_TOKEN} } }
`;

  /** The alert as Prometheus evaluated it, plus the external labels its notifier adds. */
  const expectFromPrometheus = (alert: any, prom: RunningBinary, alertname: string) => {
    expect(alert).toMatchObject({
      alertname,
      state: 'firing',
      source: 'external',
      rule: null,
      severity: 'critical',
      service: 'example-service',
      suppressed: false,
    });
    expect(alert.labels).toEqual({
      alertname,
      severity: 'critical',
      service: 'example-service',
      cluster: 'e2e',
    });
    expect(Object.keys(alert.annotations).sort()).toEqual(['runbook', 'summary']);
    expect(alert.annotations.runbook).toBe('https://opsbook.example/runbooks/example-errors');
    const rendered = /^example-service answers (\S+) errors per second$/.exec(alert.annotations.summary);
    expect(rendered, alert.annotations.summary).not.toBeNull();
    expect(Number(rendered![1])).toBeGreaterThan(0); // {{ $value }} was rendered by Prometheus
    expect(alert.generatorUrl.slice(0, `${prom.url}/graph?g0.expr=`.length)).toBe(
      `${prom.url}/graph?g0.expr=`,
    );
    expect(new URL(alert.generatorUrl).searchParams.get('g0.expr')).toContain('http_requests_total');
    expect(alert.firedAt).toBeGreaterThan(0);
    expect(alert.resolvedAt).toBeNull();
  };

  const expectHistory = async (fingerprint: string, states: string[]) => {
    const history = await call(opsbook.url, `/api/v1/alerts/history?fingerprint=${fingerprint}`);
    expect(history.status).toBe(200);
    expect(history.body.items.map((h: any) => h.state)).toEqual(states);
  };

  beforeEach(async () => {
    cleanups = [];
    dir = mkdtempSync(join(tmpdir(), 'opsbook-intake-e2e-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'opsbook.yaml');
    writeFileSync(
      file,
      `storage:\n  url: sqlite:${join(dir, 'ops.db')}\nalerting:\n  defaultRules: false\n` +
        `auth:\n  tokens:\n    - { name: prometheus, kind: intake, secret: "\${INTAKE_TOKEN}" }\n`,
    );
    opsbook = new Opsbook({
      configFile: file,
      port: 0,
      host: '127.0.0.1',
      logger,
      env: { ...process.env, INTAKE_TOKEN },
    });
    cleanups.push(() => opsbook.stop());
    await opsbook.start();
    await opsbook.ready();
  });

  afterEach(async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  });

  it('Prometheus → Opsbook: a rule firing on the example-service errors arrives with its labels, then resolves', async () => {
    const service = await startService();
    const prom = await prometheus({
      configYaml: prometheusConfig(service, `127.0.0.1:${opsbook.port}`),
      rulesYaml: errorRule('ExampleErrors', '15s'),
    });
    const traffic = startTraffic(service);
    await waitScraped(prom);
    // Healthy traffic: nothing fires.
    await sleep(2_000);
    expect(await alerts()).toEqual([]);

    await setFaults(service, { errorRate: 1 });
    const firing = await eventually(
      'ExampleErrors to fire in Opsbook',
      async () => {
        const alert = await alertNamed('ExampleErrors');
        return alert?.state === 'firing' ? alert : undefined;
      },
      () => describeState(prom),
    );
    expectFromPrometheus(firing, prom, 'ExampleErrors');
    // Prometheus sees the same alert (its labels lack only the external ones).
    const promAlerts = (await call(prom.url, '/api/v1/alerts')).body.data.alerts as any[];
    expect(promAlerts.map((a) => ({ ...a.labels, cluster: 'e2e' }))).toContainEqual(firing.labels);
    expect(await alerts()).toHaveLength(1);

    await setFaults(service, { errorRate: 0 });
    const resolved = await eventually(
      'ExampleErrors to resolve in Opsbook (Prometheus sends endsAt)',
      async () => {
        const alert = await alertNamed('ExampleErrors');
        return alert?.state === 'resolved' ? alert : undefined;
      },
      () => describeState(prom),
    );
    expect(resolved.fingerprint).toBe(firing.fingerprint);
    expect(resolved.labels).toEqual(firing.labels);
    expect(resolved.firedAt).toBe(firing.firedAt);
    expect(resolved.resolvedAt).toBeGreaterThan(firing.firedAt);
    expect(resolved.resolvedAt).toBeLessThanOrEqual(Date.now());
    await expectHistory(firing.fingerprint, ['resolved', 'firing']);
    expect(traffic.sent()).toBeGreaterThan(10);
  }, 120_000);

  it('Alertmanager → Opsbook: its webhook delivers a firing alert, then the resolved one', async () => {
    const am = await alertmanager({ configYaml: alertmanagerConfig() });
    const labels = {
      alertname: 'DiskAlmostFull',
      severity: 'warning',
      service: 'billing',
      instance: 'db-1:9100',
      mountpoint: '/var/lib/postgresql',
    };
    const annotations = { summary: 'db-1 disk 95% full', description: 'grows 2 GiB a day' };
    const startsAt = new Date(Date.now() - 10_000).toISOString();
    const generatorURL = 'http://prometheus.example:9090/graph?g0.expr=disk_free';
    const posted = await postJson(am.url, '/api/v2/alerts', [
      { labels, annotations, startsAt, generatorURL },
    ]);
    expect(posted.status, JSON.stringify(posted.body)).toBe(200);

    const firing = await eventually(
      'DiskAlmostFull to fire in Opsbook',
      async () => {
        const alert = await alertNamed('DiskAlmostFull');
        return alert?.state === 'firing' ? alert : undefined;
      },
      () => describeState(undefined, am),
    );
    expect(firing).toMatchObject({
      source: 'external',
      severity: 'warning',
      service: 'billing',
      labels,
      annotations,
      generatorUrl: generatorURL,
      firedAt: Date.parse(startsAt),
      resolvedAt: null,
    });
    expect(firing.labels).toEqual(labels);
    expect(firing.annotations).toEqual(annotations);

    // Alertmanager does not re-send a firing alert within repeat_interval: it must stay firing in Opsbook.
    await sleep(3_000);
    expect((await alertNamed('DiskAlmostFull')).state).toBe('firing');

    const endsAt = new Date(Date.now() - 1_000).toISOString();
    const resolvedPost = await postJson(am.url, '/api/v2/alerts', [
      { labels, annotations, startsAt, endsAt, generatorURL },
    ]);
    expect(resolvedPost.status, JSON.stringify(resolvedPost.body)).toBe(200);
    const resolved = await eventually(
      'DiskAlmostFull to resolve in Opsbook',
      async () => {
        const alert = await alertNamed('DiskAlmostFull');
        return alert?.state === 'resolved' ? alert : undefined;
      },
      () => describeState(undefined, am),
    );
    expect(resolved.fingerprint).toBe(firing.fingerprint);
    expect(resolved.resolvedAt).toBe(Date.parse(endsAt));
    expect(resolved.labels).toEqual(labels);
    await expectHistory(firing.fingerprint, ['resolved', 'firing']);
  }, 90_000);

  it('Prometheus → Alertmanager → Opsbook: the full chain fires and resolves', async () => {
    const service = await startService();
    const am = await alertmanager({ configYaml: alertmanagerConfig() });
    const prom = await prometheus({
      configYaml: prometheusConfig(service, `127.0.0.1:${am.port}`),
      rulesYaml: errorRule('ExampleErrorsChain', '5s'),
    });
    startTraffic(service);
    await waitScraped(prom);

    await setFaults(service, { errorRate: 1 });
    const firing = await eventually(
      'ExampleErrorsChain to fire in Opsbook through Alertmanager',
      async () => {
        const alert = await alertNamed('ExampleErrorsChain');
        return alert?.state === 'firing' ? alert : undefined;
      },
      () => describeState(prom, am),
    );
    expectFromPrometheus(firing, prom, 'ExampleErrorsChain');
    // Alertmanager holds the very same alert.
    const amAlerts = (await call(am.url, '/api/v2/alerts')).body as any[];
    expect(amAlerts.map((a) => a.labels)).toContainEqual(firing.labels);

    await setFaults(service, { errorRate: 0 });
    const resolved = await eventually(
      'ExampleErrorsChain to resolve in Opsbook through Alertmanager',
      async () => {
        const alert = await alertNamed('ExampleErrorsChain');
        return alert?.state === 'resolved' ? alert : undefined;
      },
      () => describeState(prom, am),
    );
    expect(resolved.fingerprint).toBe(firing.fingerprint);
    expect(resolved.labels).toEqual(firing.labels);
    expect(resolved.resolvedAt).toBeGreaterThan(firing.firedAt);
    await expectHistory(firing.fingerprint, ['resolved', 'firing']);
  }, 120_000);

  it('rejects a malformed body with 400 and the reason, and writes nothing', async () => {
    const cases: { path: string; body: unknown; reason: RegExp }[] = [
      {
        path: '/api/v2/alerts',
        body: [{ labels: { severity: 'critical', service: 'shop' } }],
        reason: /alertname/,
      },
      {
        // A valid alert next to an invalid one: the whole batch is refused.
        path: '/api/v2/alerts',
        body: [
          { labels: { alertname: 'ValidButBatchedWithBad', service: 'shop' } },
          { labels: { alertname: 'Bad' }, startsAt: 'yesterday' },
        ],
        reason: /startsAt/,
      },
      { path: '/api/v2/alerts', body: { labels: { alertname: 'NotAnArray' } }, reason: /array/i },
      { path: '/api/v2/alerts', body: '[{"labels": {"alertname": "Truncated"', reason: /json/i },
      { path: '/api/v2/alerts', body: [{ labels: { alertname: 'NumberLabel', code: 500 } }], reason: /code/ },
      {
        path: '/api/v1/intake/alertmanager',
        body: { alerts: [{ labels: { alertname: 'NoVersion' } }] },
        reason: /version/,
      },
    ];
    for (const { path, body, reason } of cases) {
      const answer = await postJson(opsbook.url, path, body);
      const label = `${path} ${typeof body === 'string' ? body : JSON.stringify(body)} → ${answer.status} ${JSON.stringify(answer.body)}`;
      expect(answer.status, label).toBe(400);
      expect(answer.body?.error?.code, label).toBe('input');
      expect(answer.body.error.message, label).toMatch(reason);
    }
    expect(await alerts()).toEqual([]);
    const history = await call(opsbook.url, '/api/v1/alerts/history');
    expect(history.body.items).toEqual([]);

    // Without a token, or with a token that may not send alerts, nothing gets in.
    const anonymous = await fetch(`${opsbook.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'Anonymous' } }]),
    });
    expect(anonymous.status).toBe(401);
    const readOnly = await call(opsbook.url, '/api/v1/alerts', { headers: intake });
    expect(readOnly.status).toBe(403);
    // The same intake accepts a well-formed alert, so the 400s above were about the bodies.
    const ok = await postJson(opsbook.url, '/api/v2/alerts', [
      { labels: { alertname: 'WellFormed', service: 'shop' }, annotations: { summary: 'ok' } },
    ]);
    expect(ok).toEqual({ status: 200, body: { accepted: 1 } });
    expect((await alerts()).map((a) => a.alertname)).toEqual(['WellFormed']);
  });
});
