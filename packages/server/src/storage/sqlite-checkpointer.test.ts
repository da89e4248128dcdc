import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../../test/target-server.js';
import { openStore, type Store } from './db.js';

describe('SQLite checkpoints on their own thread', () => {
  let dir = '';
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies the WAL into the database file without the connection checkpointing in its commits', async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-checkpoint-'));
    const file = join(dir, 'opsbook.db');
    store = await openStore({ url: `sqlite:${file}` });
    const sqlite = store.sqlite!;
    await waitFor(() => sqlite.pragma('wal_autocheckpoint', { simple: true }) === 0, 5_000, 'thread up');

    sqlite.exec('create table t (id integer primary key, body text not null)');
    const insert = sqlite.prepare('insert into t (body) values (?)');
    const sizeBefore = statSync(file).size;
    // About 8 MB in 8 commits: several times SQLite's own 1,000-page checkpoint threshold.
    for (let batch = 0; batch < 8; batch++)
      sqlite.transaction(() => {
        for (let i = 0; i < 1_000; i++) insert.run('x'.repeat(1_000));
      })();
    expect(statSync(file).size).toBe(sizeBefore);
    await waitFor(() => statSync(file).size > sizeBefore + 7_000_000, 5_000, 'the file to grow');
    expect(sqlite.prepare('select count(*) as n from t').get()).toEqual({ n: 8_000 });

    await store.close();
    store = undefined;
    expect(existsSync(`${file}-wal`)).toBe(false);
  });
});
