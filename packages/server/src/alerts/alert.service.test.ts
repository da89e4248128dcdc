import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { alertingSchema } from '../config/alerting.schema.js';
import type { Series, SeriesSource } from '../telemetry/series.js';
import type { AlertSnapshot } from './alert.types.js';
import { AlertService } from './alert.service.js';

const logger = pino({ level: 'silent' });

/** A gauge whose value the test sets; the query engine reads it like any stored series. */
function gaugeSource(): SeriesSource & { value: number | undefined } {
  const source = {
    value: undefined as number | undefined,
    async select(_m: unknown, from: number, to: number): Promise<Series[]> {
      if (source.value === undefined) return [];
      return [
        {
          labels: { __name__: 'queue_depth', service: 'orders' },
          samples: [{ t: Math.min(to, Math.max(from, to - 1000)), v: source.value }],
        },
      ];
    },
  };
  return source;
}

const config = alertingSchema.parse({
  defaultRules: false,
  rules: [
    {
      alert: 'QueueBacklog',
      expr: 'queue_depth > 100',
      for: '1m',
      severity: 'warning',
      annotations: { summary: '{{ $value }} queued' },
    },
  ],
});

describe.each(ENGINES)('alert state across restarts on %s', (engine) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(engine);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('a pending alert keeps its activeAt over a restart, so `for` is not restarted; firing stays firing', async () => {
    let now = Date.UTC(2026, 10, 26, 12, 0, 0);
    const source = gaugeSource();
    source.value = 150;
    const sent: AlertSnapshot[] = [];
    const first = new AlertService({
      store: t.store,
      source,
      logger,
      now: () => now,
      sink: { update: (a) => sent.push(...a) },
    });
    await first.load();
    await first.applyConfig(config);
    await first.evaluate();
    expect(first.list()[0]!.alert).toMatchObject({ state: 'pending', activeAt: now });
    await first.stop();

    now += 60_000;
    const second = new AlertService({
      store: t.store,
      source,
      logger,
      now: () => now,
      sink: { update: (a) => sent.push(...a) },
    });
    await second.load();
    await second.applyConfig(config);
    expect(second.list()[0]!.alert.state).toBe('pending');
    await second.evaluate();
    const fired = second.list()[0]!.alert;
    expect(fired).toMatchObject({ state: 'firing', activeAt: now - 60_000, firedAt: now, value: 150 });
    expect(fired.annotations.summary).toBe('150 queued');
    expect(sent.map((a) => a.status)).toEqual(['firing']);
    await second.stop();

    const third = new AlertService({ store: t.store, source, logger, now: () => now });
    await third.load();
    expect(third.list()[0]!.alert).toMatchObject({ state: 'firing', firedAt: now });
    source.value = 10;
    now += 60_000;
    await third.applyConfig(config);
    await third.evaluate();
    expect(third.list()[0]!.alert).toMatchObject({ state: 'resolved', resolvedAt: now });
    const history = await third.history({ limit: 10 });
    expect(history.map((h) => h.state)).toEqual(['resolved', 'firing', 'pending']);
    await third.stop();
  });

  it('a rule whose query fails reports err health and keeps its alerts', async () => {
    const failing: SeriesSource = {
      async select() {
        throw new Error('store unreachable');
      },
    };
    const service = new AlertService({ store: t.store, source: failing, logger });
    await service.load();
    await service.applyConfig(config);
    await service.evaluate();
    expect(service.ruleList()[0]).toMatchObject({ health: 'err', lastError: 'store unreachable' });
    await service.stop();
  });
});

describe('rules sharing an alert name', () => {
  it('keep their own alerts instead of resolving each other every cycle', async () => {
    const t = await openTestStore('sqlite');
    try {
      const source = gaugeSource();
      source.value = 600;
      const twoLevels = alertingSchema.parse({
        defaultRules: false,
        rules: [
          { alert: 'Backlog', expr: 'queue_depth > 100', severity: 'warning' },
          { alert: 'Backlog', expr: 'queue_depth > 500', severity: 'critical' },
        ],
      });
      const service = new AlertService({ store: t.store, source, logger });
      await service.applyConfig(twoLevels);
      await service.evaluate();
      await service.evaluate();
      await service.evaluate();
      const states = service.list().map((a) => `${a.alert.labels.severity}:${a.alert.state}`);
      expect(states.sort()).toEqual(['critical:firing', 'warning:firing']);
      expect((await service.history({ limit: 10 })).map((h) => h.state)).toEqual(['firing', 'firing']);
      await service.stop();
    } finally {
      await t.cleanup();
    }
  });
});
