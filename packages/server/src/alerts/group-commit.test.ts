// Group commit of the alert intake: concurrent POSTs share one pass and one transaction, each caller
// hears only after the commit with its own count, and a failed commit fails the whole group and
// leaves nothing behind, neither in the store nor in memory, so a retry stores everything.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { sql } from 'kysely';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { alertingSchema } from '../config/alerting.schema.js';
import { AlertRepository } from '../storage/alert.repository.js';
import type { AlertSnapshot } from './alert.types.js';
import { AlertService, type ExternalAlert } from './alert.service.js';

const logger = pino({ level: 'silent' });
const noSeries = { select: async () => [] };
const NOW = Date.UTC(2026, 10, 27, 9, 0, 0);

function external(alertname: string, service: string, extra: Partial<ExternalAlert> = {}): ExternalAlert {
  return {
    labels: { alertname, service, severity: 'warning' },
    annotations: { summary: `${alertname} on ${service}` },
    startsAt: NOW - 60_000,
    endsAt: NOW + 15 * 60_000,
    ...extra,
  };
}

async function count(t: TestStore, table: 'alerts' | 'alert_history' | 'events'): Promise<number> {
  const row = await t.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.each(ENGINES)('alert intake group commit on %s', (engine) => {
  let t: TestStore;
  let service: AlertService;
  let sent: AlertSnapshot[];
  let sinkFails: boolean;

  beforeEach(async () => {
    t = await openTestStore(engine);
    sent = [];
    sinkFails = false;
    service = new AlertService({
      store: t.store,
      source: noSeries,
      logger,
      now: () => NOW,
      sink: {
        update: (alerts) => {
          if (sinkFails) throw new Error('listener broke');
          sent.push(...alerts);
        },
      },
    });
    await service.load();
    await service.applyConfig(alertingSchema.parse({ defaultRules: false }));
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await service.stop();
    await t.cleanup();
  });

  it('concurrent ingests share one transaction; each caller gets its own count once it is stored', async () => {
    const save = vi.spyOn(AlertRepository.prototype, 'save');
    const storedWhenAnswered: number[] = [];
    const answered = (accepted: number) =>
      count(t, 'alerts').then((n) => {
        storedWhenAnswered.push(n);
        return accepted;
      });
    const counts = await Promise.all([
      service
        .ingest([
          external('DiskFull', 'db'),
          external('HighLatency', 'shop'),
          // Resolved and never seen: not taken, as before group commit.
          external('Gone', 'shop', { endsAt: NOW - 1000 }),
        ])
        .then(answered),
      service.ingest([external('QueueBacklog', 'orders')]).then(answered),
      // The same alert again in another request of the group: stored once, its history once.
      service.ingest([external('DiskFull', 'db'), external('CertExpiry', 'edge')]).then(answered),
    ]);

    expect(counts).toEqual([2, 1, 2]);
    expect(save).toHaveBeenCalledTimes(1);
    expect(storedWhenAnswered).toEqual([4, 4, 4]);
    expect(await count(t, 'alert_history')).toBe(4);
    expect(await count(t, 'events')).toBe(4);
    expect(
      service
        .list()
        .map((a) => a.alert.labels.alertname)
        .sort(),
    ).toEqual(['CertExpiry', 'DiskFull', 'HighLatency', 'QueueBacklog']);
    expect(sent.map((a) => a.labels.alertname).sort()).toEqual([
      'CertExpiry',
      'DiskFull',
      'HighLatency',
      'QueueBacklog',
    ]);
  });

  it('a failing commit rejects every caller of the group and leaves nothing half-written', async () => {
    await service.ingest([external('DiskFull', 'db')]);
    expect(await count(t, 'alert_history')).toBe(1);

    // A real failure inside the transaction: the alert rows are written, then the events insert fails.
    await sql`alter table events rename to events_away`.execute(t.store.db);
    // Two concurrent POSTs, so they share one group commit.
    const sendBoth = () => [
      service.ingest([
        external('DiskFull', 'db', { annotations: { summary: 'changed' } }),
        external('HighLatency', 'shop'),
      ]),
      service.ingest([external('QueueBacklog', 'orders')]),
    ];
    const results = await Promise.allSettled(sendBoth());
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await count(t, 'alerts')).toBe(1);
    expect(await count(t, 'alert_history')).toBe(1);
    // Memory went back to what is stored: the API would not show alerts that were never stored.
    expect(service.list().map((a) => a.alert.labels.alertname)).toEqual(['DiskFull']);
    expect(service.list()[0]!.alert.annotations.summary).toBe('DiskFull on db');
    const stored = await t.store.db.selectFrom('alerts').select('annotations').executeTakeFirstOrThrow();
    expect(JSON.parse(stored.annotations)).toEqual({ summary: 'DiskFull on db' });

    // Prometheus retries the same batches: they are stored now, not skipped as unchanged.
    await sql`alter table events_away rename to events`.execute(t.store.db);
    const retried = await Promise.all(sendBoth());
    expect(retried).toEqual([2, 1]);
    expect(await count(t, 'alerts')).toBe(3);
    expect(await count(t, 'alert_history')).toBe(3);
    const rows = await t.store.db
      .selectFrom('alerts')
      .select(['alertname', 'annotations'])
      .orderBy('alertname')
      .execute();
    expect(rows.map((r) => [r.alertname, JSON.parse(r.annotations).summary])).toEqual([
      ['DiskFull', 'changed'],
      ['HighLatency', 'HighLatency on shop'],
      ['QueueBacklog', 'QueueBacklog on orders'],
    ]);
  });

  it('a listener failing after the commit does not fail requests that were stored', async () => {
    sinkFails = true;
    await expect(service.ingest([external('DiskFull', 'db')])).resolves.toBe(1);
    expect(await count(t, 'alerts')).toBe(1);
    expect(await count(t, 'alert_history')).toBe(1);
  });

  it('a group stays bounded: requests beyond 5,000 alerts wait for the next transaction', async () => {
    const save = vi.spyOn(AlertRepository.prototype, 'save');
    const batch = (prefix: string) =>
      Array.from({ length: 3_000 }, (_, i) => external(`${prefix}${i % 10}`, `svc-${i}`));
    const counts = await Promise.all([service.ingest(batch('A')), service.ingest(batch('B'))]);
    expect(counts).toEqual([3_000, 3_000]);
    expect(save).toHaveBeenCalledTimes(2);
    expect(await count(t, 'alerts')).toBe(6_000);
    expect(await count(t, 'alert_history')).toBe(6_000);
  });
});
