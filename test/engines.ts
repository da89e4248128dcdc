// The storage suite runs once per engine, on real SQLite and a real PostgreSQL database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { openStore, type Engine, type Store } from '../packages/server/src/storage/db.js';
import { migrate } from '../packages/server/src/storage/migrate.js';
import { createTestDatabase } from './databases.js';

export const ENGINES: Engine[] = ['sqlite', 'postgres'];

export interface TestStore {
  store: Store;
  url: string;
  cleanup(): Promise<void>;
}

export async function openTestStore(engine: Engine, options: { migrate?: boolean } = {}): Promise<TestStore> {
  let url: string;
  let dropDatabase = async () => {};
  let dir: string | undefined;
  if (engine === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-sqlite-'));
    url = `sqlite:${join(dir, 'opsbook.db')}`;
  } else {
    const database = await createTestDatabase(inject('postgresUrl'));
    url = database.url;
    dropDatabase = database.drop;
  }
  const store = await openStore({ url });
  if (options.migrate !== false) await migrate(store);
  return {
    store,
    url,
    async cleanup() {
      await store.close();
      await dropDatabase();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
