// The drill's checks against real PostgreSQL databases: sample checksums are stable across servers'
// session settings yet see a changed row, and amcheck finds an index that no longer matches its table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { createTestDatabase } from '../../../../test/databases.js';
import { runAmcheck } from './drill.amcheck.js';
import { SAMPLE_SESSION_SQL, computeSampleChecksum, sampleChecksumSql } from './drill.sample.js';

const DATA = `
  CREATE TABLE "Order Lines" (id int PRIMARY KEY, placed timestamptz, price float8, note text, blob bytea,
                              span interval, cost money);
  INSERT INTO "Order Lines"
    SELECT g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', g / 3.0, 'line ' || g,
           decode(lpad(to_hex(g), 8, '0'), 'hex'), g * interval '1 second', g
    FROM generate_series(1, 3000) g;
  CREATE TABLE empty_table (id int);`;

async function connect(url: string, setup?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  if (setup) await client.query(setup);
  return client;
}

describe('sample checksums', () => {
  let source: Awaited<ReturnType<typeof createTestDatabase>>;
  let copy: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    source = await createTestDatabase(inject('postgresUrl'), 'drill_sample');
    const client = await connect(source.url, DATA);
    await client.end();
    copy = await createTestDatabase(inject('postgresUrl'), 'drill_sample_copy');
    // The same rows in another database whose sessions print dates, times and money differently.
    const target = await connect(copy.url);
    await target.query(DATA);
    const name = new URL(copy.url).pathname.slice(1);
    await target.query(
      `ALTER DATABASE ${name} SET TimeZone = 'Asia/Tokyo'; ALTER DATABASE ${name} SET DateStyle = 'SQL, DMY';
       ALTER DATABASE ${name} SET extra_float_digits = 0; ALTER DATABASE ${name} SET bytea_output = 'escape';
       ALTER DATABASE ${name} SET IntervalStyle = 'sql_standard'`,
    );
    await target.end();
  });
  afterAll(async () => {
    await source.drop();
    await copy.drop();
  });

  const table = { schema: 'public', name: 'Order Lines' };

  it('pinned session settings give the same digest whatever the database defaults', async () => {
    const a = await connect(source.url, SAMPLE_SESSION_SQL);
    const b = await connect(copy.url);
    // Without the pinned settings the text differs, so the digest would too.
    const unpinned = await computeSampleChecksum(b, table, 100);
    await b.query(SAMPLE_SESSION_SQL);
    const sampleA = await computeSampleChecksum(a, table, 100);
    const sampleB = await computeSampleChecksum(b, table, 100);
    expect(sampleA).toEqual({
      keys: 'md5(row::text)',
      rows: 100,
      md5: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(sampleB).toEqual(sampleA);
    expect(unpinned.md5).not.toBe(sampleA.md5);
    expect(await computeSampleChecksum(a, { schema: 'public', name: 'empty_table' }, 100)).toEqual({
      keys: 'md5(row::text)',
      rows: 0,
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
    });
    await a.end();
    await b.end();
  });

  it('a changed, deleted or added row in the sample changes the digest', async () => {
    const b = await connect(copy.url, SAMPLE_SESSION_SQL);
    const all = (await computeSampleChecksum(b, table, 5000)).md5;
    await b.query(`UPDATE "Order Lines" SET note = 'edited' WHERE id = 1234`);
    const edited = (await computeSampleChecksum(b, table, 5000)).md5;
    expect(edited).not.toBe(all);
    await b.query(`UPDATE "Order Lines" SET note = 'line 1234' WHERE id = 1234`);
    expect((await computeSampleChecksum(b, table, 5000)).md5).toBe(all);
    await b.end();
  });

  it('quotes identifiers and refuses a bad sample size', () => {
    expect(sampleChecksumSql({ schema: 'we"ird', name: 'Order Lines' }, 10)).toContain(
      'FROM "we""ird"."Order Lines" AS t',
    );
    expect(() => sampleChecksumSql(table, 0)).toThrow(/positive integer/);
  });
});

describe('amcheck', () => {
  it('passes healthy indexes and heaps, and finds an index that lost its rows', async () => {
    const db = await createTestDatabase(inject('postgresUrl'), 'drill_amcheck');
    const client = await connect(db.url);
    try {
      // An expression index over a function declared IMMUTABLE that then changes: the index keeps the
      // old keys, so every heap tuple now lacks its index entry (what bt_index_check's heapallindexed finds).
      await client.query(`
        CREATE FUNCTION shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1';
        CREATE TABLE items (id int PRIMARY KEY, code int);
        INSERT INTO items SELECT g, g FROM generate_series(1, 500) g;
        CREATE INDEX items_shift_idx ON items (shift(code));`);
      const healthy = await runAmcheck(client);
      expect(healthy.problems).toEqual([]);
      expect(healthy.amcheck).toMatchObject({
        available: true,
        message: '2 btree indexes and 1 tables verified',
        heap: [{ schema: 'public', table: 'items', status: 'ok' }],
      });
      expect(healthy.amcheck.indexes.map((i) => [i.index, i.status])).toEqual([
        ['items_pkey', 'ok'],
        ['items_shift_idx', 'ok'],
      ]);

      await client.query(
        `CREATE OR REPLACE FUNCTION shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT -$1'`,
      );
      // A new session: this one's relcache holds the index expression with the old body inlined.
      const fresh = await connect(db.url);
      const broken = await runAmcheck(fresh).finally(() => fresh.end());
      const index = broken.amcheck.indexes.find((i) => i.index === 'items_shift_idx')!;
      expect(index.status).toBe('corrupt');
      expect(index.message).toMatch(/lacks matching index tuple within index "items_shift_idx"/);
      expect(broken.amcheck.indexes.find((i) => i.index === 'items_pkey')!.status).toBe('ok');
      expect(broken.problems).toEqual([
        expect.stringMatching(/^index corrupt: public\.items_shift_idx on items: /),
      ]);
      expect(broken.amcheck.message).toBe('1 of 3 checks found problems');
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
