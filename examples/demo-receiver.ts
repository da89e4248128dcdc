// A webhook receiver for the quick start: prints each notification Opsbook sends and lists them at GET /.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoReceiver {
  url: string;
  received: unknown[];
  close(): Promise<void>;
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
      try {
        const notification = JSON.parse(body) as {
          status: string;
          reason?: string;
          groupLabels: Record<string, string>;
          alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
        };
        received.push(notification);
        if (print) {
          const firing = notification.alerts.filter((a) => a.status === 'firing').length;
          const lines = notification.alerts.map(
            (a) => `    ${a.status} ${a.labels.alertname} ${a.annotations.summary ?? ''}`,
          );
          process.stderr.write(
            `[demo-receiver] ${notification.status.toUpperCase()}${firing ? `:${firing}` : ''} ${JSON.stringify(notification.groupLabels)} (${notification.reason ?? ''})\n${lines.join('\n')}\n`,
          );
        }
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end('not JSON');
      }
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
