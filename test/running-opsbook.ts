// A real Opsbook process object started from a YAML config in its own temp dir, for API and CLI tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Opsbook } from '../packages/server/src/runtime/opsbook.js';

export interface RunningOpsbook {
  opsbook: Opsbook;
  /** The temp dir holding the config and the SQLite file; removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

/** `config` gets the temp dir, so the YAML can place its store (and other files) inside it. */
export async function startOpsbook(name: string, config: (dir: string) => string): Promise<RunningOpsbook> {
  const dir = mkdtempSync(join(tmpdir(), `opsbook-${name}-`));
  const file = join(dir, 'opsbook.yaml');
  writeFileSync(file, config(dir));
  const opsbook = new Opsbook({ configFile: file, port: 0, logger: pino({ level: 'silent' }) });
  await opsbook.start();
  await opsbook.ready();
  return {
    opsbook,
    dir,
    async stop() {
      await opsbook.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
