import type { Command } from 'commander';
import type {
  EscalationStateView,
  OncallNow,
  OncallOverrideView,
  OncallShiftList,
  OncallShiftView,
} from '@opsbook/contracts';
import pc from 'picocolors';
import { parseDuration } from '../config/duration.js';
import { formatLocal } from '../oncall/zoned-time.js';
import { actorName, api, apiUrl, postJson } from './api-client.js';
import { fail, printJson, printList, printTable, span } from './output.js';

interface Common {
  url?: string;
  json?: boolean;
  as?: string;
}

async function run(options: Common, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, options.json);
  }
}

/** Local time in the schedule's zone, with how far away it is: "2026-03-05 09:00 Europe/Berlin (in 21h)". */
function when(ms: number, timeZone: string, now = Date.now()): string {
  const distance = ms >= now ? `in ${span(ms - now)}` : `${span(now - ms)} ago`;
  return `${formatLocal(ms, timeZone)} ${timeZone} (${distance})`;
}

function who(shift: OncallShiftView | null): string {
  if (!shift) return pc.yellow('nobody');
  return `${shift.personName}${shift.override ? ' (override)' : ''}`;
}

/** "now", epoch ms, or ISO 8601 passed through (the server reads a time without offset in the schedule zone). */
function timeArg(text: string | undefined, name: string): string | number | undefined {
  if (text === undefined) return undefined;
  if (text === 'now') return Date.now();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text))
    throw new Error(
      `--${name} "${text}" is not a time; write now, ISO 8601 like 2026-03-02T09:00, or epoch ms`,
    );
  return text;
}

function withUrl(command: Command): Command {
  return command
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON');
}

export function registerOncallCommands(program: Command): void {
  const oncall = program.command('oncall').description('on-call schedules, overrides and escalation');

  withUrl(
    oncall
      .command('now', { isDefault: true })
      .description('who is on call for each schedule now, until when, and who is next')
      .option('--at <time>', 'another moment (ISO 8601 or epoch ms)'),
  ).action((options: Common & { at?: string }) =>
    run(options, async () => {
      const at = timeArg(options.at, 'at');
      const query = at === undefined ? '' : `?at=${encodeURIComponent(String(at))}`;
      const now = await api<OncallNow>(apiUrl(options.url), `/api/v1/oncall${query}`);
      printList(
        options.json,
        now,
        now.items,
        'no schedules; add them under oncall.schedules in the config',
        ['SCHEDULE', 'ON CALL', 'UNTIL', 'NEXT'],
        (s) => [
          s.id === s.name ? s.id : `${s.name} (${s.id})`,
          who(s.current),
          s.current ? when(s.current.end, s.timeZone, now.at) : '-',
          s.next ? `${who(s.next)} from ${when(s.next.start, s.timeZone, now.at)}` : '-',
        ],
      );
    }),
  );

  withUrl(
    oncall
      .command('shifts')
      .description('the shifts of a schedule, overrides applied (default: the next 14 days)')
      .argument('<schedule>', 'schedule id (see opsbook oncall)')
      .option('--from <time>', 'start of the window, ISO 8601 or epoch ms (default now)')
      .option('--to <time>', 'end of the window (default 14 days after --from)'),
  ).action((schedule: string, options: Common & { from?: string; to?: string }) =>
    run(options, async () => {
      const params = new URLSearchParams();
      const from = timeArg(options.from, 'from');
      const to = timeArg(options.to, 'to');
      if (from !== undefined) params.set('from', String(from));
      if (to !== undefined) params.set('to', String(to));
      const list = await api<OncallShiftList>(
        apiUrl(options.url),
        `/api/v1/oncall/schedules/${encodeURIComponent(schedule)}/shifts?${params}`,
      );
      printList(
        options.json,
        list,
        list.items,
        'nobody is on call in that window',
        ['PERSON', `FROM (${list.timeZone})`, 'TO', 'LENGTH', 'OVERRIDE'],
        (s) => [
          s.personName,
          formatLocal(s.start, list.timeZone),
          formatLocal(s.end, list.timeZone),
          span(s.end - s.start),
          s.override ? (s.overrideId ?? 'config') : '-',
        ],
      );
    }),
  );

  withUrl(
    oncall
      .command('override')
      .description(
        'someone takes a stretch of a schedule, e.g. opsbook oncall override primary --person ben --start 2026-03-02T18:00 --end 2026-03-03T09:00',
      )
      .argument('<schedule>', 'schedule id')
      .requiredOption('--person <id>', 'who takes over (a person id from oncall.people)')
      .option('--start <time>', "ISO 8601 (without an offset: the schedule's time zone) or now", 'now')
      .option('--end <time>', 'ISO 8601 end')
      .option('-d, --duration <duration>', 'or a length from the start, e.g. 8h')
      .option('--as <name>', 'who makes the override (default $OPSBOOK_USER or your user name)'),
  ).action(
    (
      schedule: string,
      options: Common & { person: string; start: string; end?: string; duration?: string },
    ) =>
      run(options, async () => {
        if ((options.end === undefined) === (options.duration === undefined))
          throw new Error('give the end of the override with --end <time> or --duration <length>');
        const start = timeArg(options.start, 'start')!;
        let end = timeArg(options.end, 'end');
        if (options.duration !== undefined) {
          const length = parseDuration(options.duration);
          if (length === undefined || length <= 0)
            throw new Error(`--duration "${options.duration}" is not a length; write e.g. 30m, 8h, 2d`);
          const startMs = typeof start === 'number' ? start : Date.parse(start);
          if (typeof start === 'string' && !/(Z|[+-]\d{2}:?\d{2})$/i.test(start))
            throw new Error(
              '--duration needs a --start with an offset (e.g. 2026-03-02T09:00+01:00) or now; or give --end instead',
            );
          end = startMs + length;
        }
        const created = await postJson<OncallOverrideView>(
          apiUrl(options.url),
          `/api/v1/oncall/schedules/${encodeURIComponent(schedule)}/overrides`,
          { person: options.person, start, end, actor: actorName(options.as) },
        );
        if (options.json) return printJson(created);
        process.stdout.write(
          `override ${created.id}: ${created.personName} is on call for ${created.schedule} from ${new Date(created.start).toISOString()} to ${new Date(created.end).toISOString()}\n`,
        );
      }),
  );

  withUrl(
    oncall
      .command('remove-override')
      .description('remove an override made through the API or the CLI (kept on record)')
      .argument('<id>', 'the override id (printed by opsbook oncall override, and in opsbook oncall shifts)')
      .option('--as <name>', 'who removes it'),
  ).action((id: string, options: Common) =>
    run(options, async () => {
      const removed = await api<OncallOverrideView>(
        apiUrl(options.url),
        `/api/v1/oncall/overrides/${encodeURIComponent(id)}?actor=${encodeURIComponent(actorName(options.as))}`,
        { method: 'DELETE' },
      );
      if (options.json) return printJson(removed);
      process.stdout.write(
        `override ${removed.id} removed; ${removed.schedule} follows its rotation again\n`,
      );
    }),
  );

  withUrl(
    oncall
      .command('escalation')
      .description("an incident's escalation: level, loop, the next page and everyone paged")
      .argument('<incident>', 'incident id, e.g. INC-12'),
  ).action((incident: string, options: Common) =>
    run(options, async () => {
      const id = /^\d+$/.test(incident) ? `INC-${incident}` : incident.toUpperCase();
      const state = await api<EscalationStateView>(
        apiUrl(options.url),
        `/api/v1/incidents/${encodeURIComponent(id)}/escalation`,
      );
      if (options.json) return printJson(state);
      const at = state.nextAt === null ? '' : ` (at ${new Date(state.nextAt).toISOString()})`;
      process.stdout.write(
        `${state.incidentId}: ${state.status}${state.policy ? ` (policy ${state.policy})` : ''}: ${state.detail}${at}\n`,
      );
      if (state.history.length === 0) return;
      printTable(
        ['AT', 'LEVEL', 'LOOP', 'PAGED', 'VIA', 'STATUS'],
        state.history.map((p) => [
          new Date(p.at).toISOString().replace('T', ' ').slice(0, 19),
          String(p.level),
          String(p.loop),
          p.personName ?? '-',
          p.via || '-',
          p.status === 'failed' ? pc.red(`failed: ${p.error ?? ''}`) : p.status,
        ]),
      );
    }),
  );
}
