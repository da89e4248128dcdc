// `npm start`: the bundled example service and Opsbook watching it, in one process.
import { formatDiagnostic } from '../packages/server/src/config/load.js';
import { ConfigInvalidError, Opsbook } from '../packages/server/src/runtime/opsbook.js';
import { startExampleService } from './example-service/src/service.js';
import { startDemoReceiver } from './demo-receiver.js';

const examplePort = Number(process.env.EXAMPLE_PORT ?? 8081);
process.env.EXAMPLE_PORT = String(examplePort);
const configFile = process.env.OPSBOOK_CONFIG ?? new URL('./quickstart.yaml', import.meta.url).pathname;

const receiverPort = Number(process.env.RECEIVER_PORT ?? 8082);
process.env.RECEIVER_PORT = String(receiverPort);
const example = await startExampleService({ port: examplePort, host: '127.0.0.1', log: false });
const receiver = await startDemoReceiver(receiverPort);
const opsbook = new Opsbook({ configFile, watchConfig: true });
try {
  await opsbook.start();
} catch (error) {
  if (error instanceof ConfigInvalidError)
    for (const d of error.diagnostics) console.error(formatDiagnostic(d));
  console.error(`Opsbook could not start: ${(error as Error).message}`);
  await example.close();
  await receiver.close();
  process.exit(error instanceof ConfigInvalidError ? 2 : 1);
}

console.error(`
  Opsbook         http://localhost:${opsbook.port}   (API: /api/v1/checks, docs: /api/openapi.json)
  example-service ${example.url}   (fault injection: PUT /admin/faults)
  demo receiver   ${receiver.url}   (prints the notifications Opsbook sends)

  npx opsbook status                                            services and checks
  curl -X PUT ${example.url}/admin/faults -d '{"errorRate":1}'   make it fail: HighErrorRate fires in ~2 min
  npx opsbook alerts                                            pending, then firing
`);

process.on('SIGHUP', () => void opsbook.reload());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void opsbook
      .stop()
      .then(() => example.close())
      .then(() => receiver.close())
      .then(() => process.exit(0));
  });
}
