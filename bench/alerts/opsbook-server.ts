// Child process for bench/alerts.bench.ts scenario "intake": the full Opsbook process
// (runtime/opsbook.ts) on loopback with the given config file, so the load generator runs in another
// process, as it does for the Alertmanager binary. Sends { url } over IPC once ready.
// Messages: 'logs' → { lines, warnings, firstWarning }; 'stop' → graceful stop, then exits (a
// --cpu-prof profile, when asked for, is written then). Exits by itself when the parent goes away.
import { Opsbook } from '../../packages/server/src/runtime/opsbook.js';
import { countingLogger } from '../lib/measure.js';
import { benchOpsbookEnv } from '../lib/auth.js';

const MAX_LIFETIME_MS = 10 * 60_000;
const configFile = process.argv[2];
if (!configFile) throw new Error('usage: opsbook-server.ts CONFIG_FILE');

const log = countingLogger();
const opsbook = new Opsbook({
  configFile,
  port: 0,
  host: '127.0.0.1',
  logger: log.logger,
  env: benchOpsbookEnv,
});
let stopping: Promise<void> | undefined;

function shutdown(): void {
  stopping ??= opsbook
    .stop()
    .catch((error: unknown) => {
      process.stderr.write(`opsbook stop failed: ${String(error)}\n`);
    })
    .finally(() => process.exit(0));
}

process.on('message', (message) => {
  if (message === 'logs')
    process.send?.({
      lines: log.lines(),
      warnings: log.warnings(),
      firstWarning: log.firstWarning() ?? null,
    });
  else if (message === 'stop') shutdown();
});
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
setTimeout(shutdown, MAX_LIFETIME_MS).unref();

await opsbook.start();
await opsbook.ready();
process.send?.({ url: opsbook.url });
