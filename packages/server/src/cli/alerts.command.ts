import type { Command } from 'commander';
import type { AlertView, MaintenanceView, SilenceView } from '@opsbook/contracts';
import pc from 'picocolors';
import { api, apiUrl } from './api-client.js';
import { ago, fail, printJson, printList, printTable } from './output.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function severityColour(severity: string): string {
  return severity === 'critical'
    ? pc.red(severity)
    : severity === 'warning'
      ? pc.yellow(severity)
      : pc.cyan(severity);
}

function stateColour(state: string): string {
  return state === 'firing' ? pc.red(state) : state === 'pending' ? pc.yellow(state) : pc.green(state);
}

function at(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
}

async function run(json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, json);
  }
}

export function registerAlertCommands(program: Command): void {
  program
    .command('alerts')
    .description(
      'active alerts (pending and firing, and those resolved in the last 15 minutes), most severe first',
    )
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--state <state>', 'pending, firing or resolved')
    .option('--severity <severity>', 'critical, warning or info')
    .option('-s, --service <name>', 'only this service')
    .option('--history', 'state changes instead of the active alerts')
    .option('--json', 'print as JSON')
    .action(
      (options: {
        url?: string;
        state?: string;
        severity?: string;
        service?: string;
        history?: boolean;
        json?: boolean;
      }) =>
        run(options.json, async () => {
          const params = new URLSearchParams();
          for (const key of ['state', 'severity', 'service'] as const)
            if (options[key]) params.set(key, options[key]);
          if (options.history) {
            params.delete('state');
            const history = await api<{
              items: {
                at: number;
                state: string;
                alertname: string;
                severity: string;
                service: string | null;
                summary: string;
              }[];
            }>(apiUrl(options.url), `/api/v1/alerts/history?${params}`);
            if (options.json) return printJson(history);
            printTable(
              ['AT', 'STATE', 'ALERT', 'SEVERITY', 'SERVICE', 'SUMMARY'],
              history.items.map((h) => [
                at(h.at),
                stateColour(h.state),
                h.alertname,
                severityColour(h.severity),
                h.service ?? '-',
                h.summary,
              ]),
            );
            return;
          }
          const list = await api<{ items: AlertView[]; total: number }>(
            apiUrl(options.url),
            `/api/v1/alerts?${params}`,
          );
          printList(
            options.json,
            list,
            list.items,
            'no active alerts',
            ['ALERT', 'SEVERITY', 'STATE', 'SERVICE', 'SINCE', 'MUTED', 'SUMMARY'],
            (a) => [
              a.alertname,
              severityColour(a.severity),
              stateColour(a.state),
              a.service ?? '-',
              ago(a.firedAt ?? a.activeAt),
              a.suppressed
                ? [
                    a.suppressedBy.silences.length ? 'silenced' : '',
                    a.suppressedBy.inhibitedBy.length ? 'inhibited' : '',
                    a.suppressedBy.maintenance.length
                      ? `maintenance ${a.suppressedBy.maintenance.join(',')}`
                      : '',
                  ]
                    .filter(Boolean)
                    .join(' ')
                : '-',
              a.annotations.summary ?? '',
            ],
          );
        }),
    );

  const silence = program.command('silence').description('mute notifications for matching alerts');
  silence
    .command('add')
    .description(
      'create a silence, e.g. opsbook silence add service=shop --duration 2h --comment "deploying"',
    )
    .argument('<matchers...>', 'label matchers: name=value, name!=value, name=~regex, name!~regex')
    .option('-d, --duration <duration>', 'how long, e.g. 30m, 2h (default 1h unless --until-resolved)')
    .option('--until-resolved', 'end when the alerts matching now have resolved')
    .option('-c, --comment <text>', 'why (required)')
    .option('-a, --author <name>', 'who (default $USER)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action(
      (
        matchers: string[],
        options: {
          duration?: string;
          untilResolved?: boolean;
          comment?: string;
          author?: string;
          url?: string;
          json?: boolean;
        },
      ) =>
        run(options.json, async () => {
          if (!options.comment) throw new Error('say why with --comment "..." so the next person knows');
          const body = {
            matchers,
            comment: options.comment,
            createdBy: options.author ?? process.env.USER ?? 'cli',
            ...(options.untilResolved ? { untilResolved: true } : { duration: options.duration ?? '1h' }),
            ...(options.untilResolved && options.duration ? { duration: options.duration } : {}),
          };
          const created = await api<SilenceView>(apiUrl(options.url), '/api/v1/silences', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          if (options.json) return printJson(created);
          process.stdout.write(
            `silence ${created.id} ${created.status}: ${created.matchers.join(' ')} ${created.untilResolved ? 'until the alerts resolve' : `until ${at(created.endsAt)}`}\n`,
          );
        }),
    );
  silence
    .command('list')
    .description('silences (active and pending; --all for expired too)')
    .option('--all', 'include expired silences')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((options: { all?: boolean; url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const list = await api<{ items: SilenceView[] }>(apiUrl(options.url), '/api/v1/silences');
        const items = options.all ? list.items : list.items.filter((s) => s.status !== 'expired');
        printList(
          options.json,
          { items },
          items,
          'no silences',
          ['ID', 'STATUS', 'MATCHERS', 'ENDS', 'BY', 'COMMENT'],
          (s) => [
            s.id,
            s.status,
            s.matchers.join(' '),
            s.untilResolved ? 'when resolved' : at(s.endsAt),
            s.createdBy,
            s.comment,
          ],
        );
      }),
    );
  silence
    .command('expire')
    .description('end a silence now')
    .argument('<id>', 'the silence id (see silence list)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((id: string, options: { url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const expired = await api<SilenceView>(
          apiUrl(options.url),
          `/api/v1/silences/${encodeURIComponent(id)}`,
          { method: 'DELETE' },
        );
        if (options.json) return printJson(expired);
        process.stdout.write(`silence ${expired.id} expired\n`);
      }),
    );

  const maintenance = program
    .command('maintenance')
    .description('maintenance windows: alerts inside are muted');
  maintenance
    .command('add')
    .description(
      'create a window, one-off (--start/--end or --duration) or recurring (--schedule cron --duration)',
    )
    .argument('<name>', 'a name for the window')
    .option('-s, --service <name>', 'a service to mute (repeat for more)', collect, [] as string[])
    .option('-m, --match <matcher>', 'or a label matcher to mute (repeat for more)', collect, [] as string[])
    .option('--start <time>', 'ISO 8601 start (default now)')
    .option('--end <time>', 'ISO 8601 end')
    .option('-d, --duration <duration>', 'length, e.g. 2h')
    .option('--schedule <cron>', 'recurring: cron expression, e.g. "0 2 * * 0"')
    .option('--timezone <zone>', 'time zone of the schedule (default UTC)')
    .option('-c, --comment <text>', 'why')
    .option('-a, --author <name>', 'who (default $USER)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action(
      (
        name: string,
        options: {
          service?: string[];
          match?: string[];
          start?: string;
          end?: string;
          duration?: string;
          schedule?: string;
          timezone?: string;
          comment?: string;
          author?: string;
          url?: string;
          json?: boolean;
        },
      ) =>
        run(options.json, async () => {
          const body = {
            name,
            services: options.service?.length ? options.service : undefined,
            matchers: options.match?.length ? options.match : undefined,
            startsAt: options.schedule ? undefined : (options.start ?? new Date().toISOString()),
            endsAt: options.end,
            duration: options.duration,
            schedule: options.schedule,
            timezone: options.timezone,
            comment: options.comment,
            createdBy: options.author ?? process.env.USER ?? 'cli',
          };
          const created = await api<MaintenanceView>(apiUrl(options.url), '/api/v1/maintenance', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          if (options.json) return printJson(created);
          process.stdout.write(
            `maintenance window "${created.name}" (${created.id}) ${created.active ? 'is active now' : `starts ${at(created.nextStart)}`}\n`,
          );
        }),
    );
  maintenance
    .command('expire')
    .description('end a maintenance window made through the API or the CLI now')
    .argument('<id>', 'the window id (see maintenance list --json)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((id: string, options: { url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const ended = await api<MaintenanceView>(
          apiUrl(options.url),
          `/api/v1/maintenance/${encodeURIComponent(id)}`,
          {
            method: 'DELETE',
          },
        );
        if (options.json) return printJson(ended);
        process.stdout.write(`maintenance window "${ended.name}" ended\n`);
      }),
    );
  maintenance
    .command('list')
    .description('maintenance windows with whether each is active now')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((options: { url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const list = await api<{ items: MaintenanceView[] }>(apiUrl(options.url), '/api/v1/maintenance');
        printList(
          options.json,
          list,
          list.items,
          'no maintenance windows',
          ['NAME', 'ACTIVE', 'MUTES', 'WHEN', 'NEXT', 'SOURCE', 'COMMENT'],
          (w) => [
            w.name,
            w.active ? pc.yellow('active') : w.expiredAt ? 'ended' : 'no',
            [...w.services, ...w.matchers].join(' '),
            w.schedule
              ? `${w.schedule} (${w.timezone}) for ${w.durationSeconds}s`
              : `${at(w.startsAt)} - ${at(w.endsAt)}`,
            at(w.nextStart),
            w.source,
            w.comment,
          ],
        );
      }),
    );
}
