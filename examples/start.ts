// `npm start`: the bundled example service and Opsbook watching it, in one process.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

// The first admin is created once the store is up; say how to sign in before anything else.
await opsbook.ready();
const passwordFile = join(
  dirname(resolve(process.env.OPSBOOK_DB ?? './data/opsbook.db')),
  'initial-admin-password',
);
const inCwd = relative(process.cwd(), passwordFile);
const shownFile = inCwd && !inCwd.startsWith('..') ? inCwd : passwordFile;
const signIn = existsSync(passwordFile)
  ? `  Sign in to the console as admin; the password is in ${shownFile} (change it under Account).
  npx opsbook login --username admin --password-stdin < ${shownFile}
                                              lets the CLI below act as you (a token in ~/.config/opsbook)`
  : `  Sign in to the console with your account; \`npx opsbook login\` signs the CLI in.`;
const ex = example.url;
// The CLI talks to http://localhost:8080 unless told otherwise.
const cliUrl =
  opsbook.port === 8080
    ? ''
    : `\n  export OPSBOOK_URL=http://localhost:${opsbook.port}     so the opsbook CLI finds this server\n`;
console.error(`
  Opsbook         http://localhost:${opsbook.port}   (API: /api/v1/checks, docs: /api/openapi.json)
  example-service ${ex}   (fault injection: PUT /admin/faults)
  demo receiver   ${receiver.url}   (prints the alerts, pages and status updates Opsbook sends)
${cliUrl}
${signIn}

  npx opsbook status                          services and checks
  npx opsbook oncall                          who is on call: "On-call engineer", paged at the demo receiver

  An incident, end to end (README: "Incidents in the quick start"):
  curl -X PUT ${ex}/admin/faults -d '{"latencyMs":2000}'
                                              the orders API answers in 2 s: ServiceUnavailable fires in ~2 min,
                                              opens INC-1 (SEV1), runs its runbook and pages you
  npx opsbook incidents                       open incidents and their ack timer (SEV1: 15 min)
  npx opsbook incidents show INC-1            the timeline: probe results, error rate, latency, the page
  npx opsbook incidents ack INC-1             stops the escalation (else the team lead is paged after 5 min)
  curl -X DELETE ${ex}/admin/faults
  npx opsbook incidents resolve INC-1         then: npx opsbook incidents postmortem INC-1 --markdown

  curl -X PUT ${ex}/admin/faults -d '{"errorRate":1}'   or fail requests: HighErrorRate fires in ~2 min
  npx opsbook alerts                          pending, then firing
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
