// CLI entry of the example-service: `npx tsx examples/example-service/src/main.ts`.
// PORT (default 8081), HOST (default 0.0.0.0), STARTUP_DELAY_MS and FAULT_* configure it; SIGTERM/SIGINT stop it.
import { faultsFromEnv } from './faults.js';
import { startExampleService, writeJsonLog } from './service.js';

function intFromEnv(name: string, fallback: number, max: number): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > max) {
    throw new Error(`${name}="${raw}" is invalid: expected an integer between 0 and ${max}`);
  }
  return value;
}

async function main(): Promise<void> {
  const port = intFromEnv('PORT', 8081, 65_535);
  const host = process.env.HOST?.trim() || '0.0.0.0';
  const startupDelayMs = intFromEnv('STARTUP_DELAY_MS', 0, 3_600_000);
  const faults = faultsFromEnv(process.env);

  const service = await startExampleService({ port, host, faults, startupDelayMs, log: true });
  writeJsonLog({
    msg: 'example-service started',
    url: service.url,
    host,
    port: service.port,
    startupDelayMs,
    faults: service.faults.get(),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    writeJsonLog({ msg: 'example-service stopping', signal });
    service.close().then(
      () => {
        writeJsonLog({ msg: 'example-service stopped' });
        process.exit(0);
      },
      (error: unknown) => {
        writeJsonLog({ level: 'error', msg: 'example-service failed to stop cleanly', error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  writeJsonLog({
    level: 'error',
    msg: 'example-service failed to start',
    error: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
});
