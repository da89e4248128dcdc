// A real primary and hot standby: the collector reads the replica without primary-only queries,
// measures lag (replay paused makes it grow), sees the standby's slot active and an orphan slot inactive,
// keeps index-usage advice to the primary, and maintenance skips VACUUM on the replica.
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import {
  startPostgresCluster,
  startStandby,
  type PostgresCluster,
} from '../../../../test/postgres-cluster.js';
import { databaseSchema } from '../config/databases.schema.js';
import { DatabaseService } from './database.service.js';

const logger = pino({ level: 'silent' });

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe('a primary and its replica', () => {
  let primary: PostgresCluster;
  let standby: PostgresCluster;
  let t: TestStore;
  let service: DatabaseService;

  beforeAll(async () => {
    primary = await startPostgresCluster();
    await query(
      primary.url,
      `CREATE TABLE items (id int, note text);
       INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, 2000) i;
       CREATE INDEX items_note_idx ON items (note);
       SELECT pg_create_physical_replication_slot('orphan', true);`,
    );
    standby = await startStandby(primary, 'standby');
    // The replica has replayed the setup once the table is readable there.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = await query(standby.url, 'SELECT count(*)::int AS n FROM items').catch(() => []);
      if (rows[0]?.n === 2000) break;
      if (Date.now() > deadline) throw new Error('the standby never caught up');
      await new Promise((r) => setTimeout(r, 100));
    }
    t = await openTestStore('sqlite');
    service = new DatabaseService({ store: t.store, logger });
    const thresholds = { unusedIndexMinSize: 0, replicationLag: '1s' };
    service.apply(
      [
        databaseSchema.parse({ id: 'primary', url: primary.url, thresholds }),
        databaseSchema.parse({ id: 'replica', url: standby.url, role: 'replica', thresholds }),
      ],
      '.',
    );
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await t?.cleanup();
    await standby?.stop();
    await primary?.stop();
  });

  it('reads the replica without primary-only queries', async () => {
    const s = await service.collect('replica');
    expect(s).toMatchObject({ up: true, inRecovery: true, errors: [] });
    expect(s.replication.lagSeconds).toEqual(expect.any(Number));
    expect(s.replication.slots).toEqual([]);
    const report = await service.health('replica');
    // Index scans on a replica are its own: no unused-index advice there, nor VACUUM advice.
    expect(report.findings.filter((f) => f.rule === 'unused-index' || f.rule === 'vacuum')).toEqual([]);
    expect(report.findings.find((f) => f.rule === 'role-mismatch')).toBeUndefined();
  });

  it('on the primary: one standby, its slot active, the orphan slot inactive with the WAL it keeps', async () => {
    const s = await service.collect('primary');
    expect(s.replication.standbys).toBe(1);
    expect(s.replication.slots.map((x) => [x.name, x.active])).toEqual([
      ['orphan', false],
      ['standby', true],
    ]);
    expect(s.replication.slots[0]!.retainedBytes).toBeGreaterThan(0);
    const report = await service.health('primary');
    expect(report.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(['inactive-slot:orphan', 'unused-index:public.items_note_idx']),
    );
  });

  it('lag grows while replay is paused and becomes a finding', async () => {
    // A commit replayed first: lag is measured from the last replayed commit's time.
    await query(primary.url, "INSERT INTO items VALUES (-1, 'before pause')");
    const replayed = Date.now() + 20_000;
    while ((await query(standby.url, 'SELECT count(*)::int AS n FROM items WHERE id = -1'))[0]?.n !== 1) {
      if (Date.now() > replayed) throw new Error('the standby did not replay the commit');
      await new Promise((r) => setTimeout(r, 100));
    }
    await query(standby.url, 'SELECT pg_wal_replay_pause()');
    try {
      await query(primary.url, "INSERT INTO items VALUES (0, 'after pause')");
      const deadline = Date.now() + 20_000;
      let report;
      do {
        await new Promise((r) => setTimeout(r, 200));
        await query(primary.url, "INSERT INTO items VALUES (0, 'more')");
        report = await service.health('replica', { refresh: true });
      } while (!report.findings.some((f) => f.rule === 'replication-lag') && Date.now() < deadline);
      expect(report.findings.find((f) => f.rule === 'replication-lag')).toMatchObject({
        severity: 'warning',
        evidence: { inRecovery: true },
      });
    } finally {
      await query(standby.url, 'SELECT pg_wal_replay_resume()');
    }
  });

  it('VACUUM maintenance is skipped on the replica, recorded as such', async () => {
    const run = await service.runMaintenance('replica', 'vacuum-analyze', 'ann').done;
    expect(run).toMatchObject({
      status: 'skipped',
      message: 'the server is a replica: VACUUM runs on the primary and replicates',
    });
  });
});
