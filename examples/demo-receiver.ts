// A webhook receiver for the quick start: prints each notification Opsbook sends (alert groups, pages and
// their follow-ups, incident status updates) and lists them at GET /.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpsbookIncidentWebhookPayload, OpsbookWebhookPayload } from '@opsbook/contracts';
import { incidentTitle } from '../packages/server/src/notify/incident-message.js';

export interface DemoReceiver {
  url: string;
  /** The bodies received, oldest first. */
  received: unknown[];
  close(): Promise<void>;
}

type Payload = OpsbookWebhookPayload & Partial<Pick<OpsbookIncidentWebhookPayload, 'incident'>>;

const LABEL = { page: 'PAGE', acknowledged: 'ACK', resolved: 'RESOLVED', 'status-update': 'STATUS' } as const;

/**
 * One notification as the lines the receiver prints, e.g.
 * `PAGE      [SEV1] INC-1 example-service availability is 97% (below 99%) — paged: On-call engineer (level 1, on call for Primary)`,
 * in the words every channel uses (notify/incident-message.ts).
 */
export function describeNotification(body: Payload): string {
  const m = body.incident;
  if (m) {
    const line = `${LABEL[m.kind].padEnd(9)} ${incidentTitle(m)}`;
    if (m.kind === 'page') return `${line}\n          ${m.url}`;
    // The title holds only the first line of an update; show all of it.
    if (m.kind === 'status-update' && m.text.includes('\n'))
      return `${line}\n          ${m.text.split('\n').join('\n          ')}`;
    return line;
  }
  const firing = body.alerts.filter((a) => a.status === 'firing').length;
  const group = Object.entries(body.groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = body.alerts.map(
    (a) => `          ${a.status.padEnd(8)} ${a.labels.alertname ?? ''}  ${a.annotations.summary ?? ''}`,
  );
  return [
    `${'ALERTS'.padEnd(9)} ${body.status.toUpperCase()}${firing ? `:${firing}` : ''} ${group} (${body.reason})`,
    ...lines,
  ].join('\n');
}

export async function startDemoReceiver(
  port: number,
  host = '127.0.0.1',
  print = true,
): Promise<DemoReceiver> {
  const received: unknown[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received, null, 2));
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      let notification: Payload;
      try {
        notification = JSON.parse(body) as Payload;
      } catch {
        res.writeHead(400).end('not JSON');
        return;
      }
      received.push(notification);
      if (print) {
        // A body of another shape (a hand-made curl, say) is kept and shown raw instead of failing the sender.
        let text: string;
        try {
          text = describeNotification(notification);
        } catch {
          text = body;
        }
        const time = new Date().toISOString().slice(11, 19);
        process.stderr.write(`[demo-receiver ${time}] ${text}\n`);
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
