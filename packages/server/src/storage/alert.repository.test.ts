// AlertRepository.save on both engines (SQLite takes statements prepared once, PostgreSQL the query
// builder): the same rows come back, an upsert keeps what identifies the alert, and one failing
// statement leaves nothing of the transaction.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { AlertRepository, type AlertRow, type NewHistoryRow } from './alert.repository.js';
import type { NewEvent } from './event.repository.js';

const AT = 1_795_740_000_000;

function alertRow(i: number, extra: Partial<AlertRow> = {}): AlertRow {
  return {
    fingerprint: `fp${String(i).padStart(14, '0')}`,
    source: 'external',
    rule: i % 2 ? null : `Rule:${i}`,
    alertname: `Alert${i}`,
    severity: 'warning',
    service: i % 3 ? `svc-${i}` : null,
    labels: JSON.stringify({ alertname: `Alert${i}`, instance: `h${i}` }),
    annotations: JSON.stringify({ summary: `alert ${i} – ünïcode ✓` }),
    state: 'firing',
    active_at: AT,
    fired_at: AT + 1,
    resolved_at: null,
    expires_at: i % 2 ? AT + 900_000 : null,
    last_seen_at: AT + 2,
    value: i % 2 ? 0.25 + i : null,
    generator_url: `http://prometheus:9090/graph?g0.expr=up%7Bi%3D${i}%7D`,
    suppressed_by: '{"silences":[],"inhibitedBy":[],"maintenance":[]}',
    updated_at: AT + 3,
    ...extra,
  };
}

function historyRow(i: number): NewHistoryRow {
  return {
    fingerprint: `fp${String(i).padStart(14, '0')}`,
    at: AT,
    state: 'firing',
    alertname: `Alert${i}`,
    severity: 'warning',
    service: i % 3 ? `svc-${i}` : null,
    labels: JSON.stringify({ alertname: `Alert${i}` }),
    value: i % 2 ? 1.5 : null,
    summary: `alert ${i}`,
  };
}

function eventRow(i: number): NewEvent {
  return {
    at: AT,
    kind: 'alert.firing',
    severity: 'warning',
    service_id: i % 3 ? `svc-${i}` : null,
    check_id: null,
    message: `Alert${i} firing`,
    data: JSON.stringify({ fingerprint: `fp${i}`, labels: {}, value: null }),
  };
}

describe.each(ENGINES)('AlertRepository.save on %s', (engine) => {
  let t: TestStore;
  let repository: AlertRepository;

  beforeEach(async () => {
    t = await openTestStore(engine);
    repository = new AlertRepository(t.store.db, t.store.sqlite);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('stores alerts, history and events as given, beyond one statement chunk', async () => {
    const rows = Array.from({ length: 450 }, (_, i) => alertRow(i));
    await repository.save(
      rows,
      [],
      rows.map((_, i) => historyRow(i)),
      rows.map((_, i) => eventRow(i)),
    );
    const loaded = (await repository.loadAlerts()).sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
    expect(loaded).toEqual(rows);
    const history = await repository.history({ limit: 1000 });
    expect(history).toHaveLength(450);
    expect(history.find((h) => h.fingerprint === historyRow(7).fingerprint)).toMatchObject(historyRow(7));
    const events = await t.store.db.selectFrom('events').selectAll().orderBy('id').execute();
    expect(events).toHaveLength(450);
    expect(events[4]).toMatchObject(eventRow(4));
  });

  it('an upsert updates the state and keeps what identifies the alert; removed alerts are deleted', async () => {
    await repository.save([alertRow(1), alertRow(2)], [], []);
    const resolved = alertRow(1, {
      source: 'rule',
      alertname: 'Renamed',
      state: 'resolved',
      resolved_at: AT + 10,
      expires_at: null,
      annotations: '{"summary":"done"}',
      suppressed_by: '{"silences":["s1"],"inhibitedBy":[],"maintenance":[]}',
      updated_at: AT + 11,
    });
    await repository.save([resolved], [alertRow(2).fingerprint], []);
    const loaded = await repository.loadAlerts();
    expect(loaded).toEqual([
      { ...resolved, source: 'external', alertname: 'Alert1' }, // identity columns are not updated
    ]);
  });

  it('one failing statement rolls the whole save back', async () => {
    await sql`alter table events rename to events_away`.execute(t.store.db);
    await expect(repository.save([alertRow(1)], [], [historyRow(1)], [eventRow(1)])).rejects.toThrow(
      /events/,
    );
    await sql`alter table events_away rename to events`.execute(t.store.db);
    expect(await repository.loadAlerts()).toEqual([]);
    expect(await repository.history({ limit: 10 })).toEqual([]);
  });
});
