import type { Command } from 'commander';
import type { ActionItemView, IncidentReport, IncidentStats, PostmortemView } from '@opsbook/contracts';
import pc from 'picocolors';
import { parseDuration } from '../config/duration.js';
import { actorName, api, ApiError, apiUrl, authHeaders } from './api-client.js';
import { fail, printJson, printList, printTable, span, timestamp } from './output.js';

interface Common {
  url?: string;
  json?: boolean;
  as?: string;
}

const FIELDS = [
  ['summary', 'summary'],
  ['impact', 'impact'],
  ['rootCause', 'rootCause'],
  ['trigger', 'trigger'],
  ['resolution', 'resolution'],
] as const;
const LESSONS = [
  ['wentWell', 'what went well'],
  ['wentWrong', 'what went wrong'],
  ['gotLucky', 'where we got lucky'],
] as const;

/** INC-12, inc-12 and 12 all mean INC-12. */
function incidentId(text: string): string {
  const match = /^(?:inc-)?(\d+)$/i.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not an incident id; write e.g. INC-12`);
  return `INC-${match[1]}`;
}

/** AI-7, ai-7 and 7 all mean AI-7. */
function itemId(text: string): string {
  const match = /^(?:ai-)?(\d+)$/i.exec(text.trim());
  if (!match)
    throw new Error(`"${text}" is not an action item id; write e.g. AI-7 (see \`opsbook action-items\`)`);
  return `AI-${match[1]}`;
}

/** SEV1, sev1 and 1 all mean SEV1; the server names anything else. */
function severity(text: string): string {
  const upper = text.trim().toUpperCase();
  return /^\d$/.test(upper) ? `SEV${upper}` : upper;
}

/** "7d" means seven days from now (or ago, for --from); anything else goes to the server as it is. */
function relative(text: string, sign: 1 | -1): string {
  const ms = /^\d+(?:\.\d+)?(?:m|h|d|w)$/.test(text) ? parseDuration(text) : undefined;
  return ms === undefined ? text : String(Date.now() + sign * ms);
}

async function run(options: Common, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, options.json);
  }
}

function send<T>(base: string, method: string, path: string, body: unknown): Promise<T> {
  return api<T>(base, path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The Markdown document; api() reads JSON only. */
async function markdown(base: string, path: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { headers: { accept: 'text/markdown', ...authHeaders(base) } });
  } catch (error) {
    throw new ApiError(
      `cannot reach Opsbook at ${base} (${(error as Error).message}); is \`opsbook serve\` running? Set --url or OPSBOOK_URL to point elsewhere`,
      0,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let message: string | undefined;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    } catch {
      message = undefined;
    }
    throw new ApiError(message ?? `HTTP ${response.status} from ${path}`, response.status);
  }
  return text;
}

function due(ms: number | null): string {
  if (ms === null) return '-';
  // A due day is stored as the last millisecond of that day.
  return (ms + 1) % 86_400_000 === 0 ? new Date(ms).toISOString().slice(0, 10) : timestamp(ms);
}

function dueCell(item: ActionItemView): string {
  return item.overdue ? pc.red(`${due(item.dueAt)} overdue`) : due(item.dueAt);
}

function describePostmortem(p: PostmortemView): string {
  const state: string[] = [p.status];
  if (p.required) state.push(`required${p.dueAt !== null ? `, due ${timestamp(p.dueAt)} UTC` : ''}`);
  if (p.overdue) state.push(pc.red('overdue'));
  const out = [
    `${pc.bold(`${p.incidentId} post-mortem`)}: ${state.join(', ')}`,
    `author ${p.author ?? '-'}, version ${p.version}, updated ${timestamp(p.updatedAt)} UTC by ${p.updatedBy}`,
    '',
  ];
  const block = (title: string, text: string) => {
    out.push(pc.bold(title));
    out.push(text.trim() ? text.trim().replace(/^/gm, '  ') : pc.dim('  (not written yet)'));
  };
  block('Summary', p.summary);
  block('Impact', p.impact);
  block('Root cause', p.rootCause);
  block('Trigger', p.trigger);
  block('Resolution', p.resolution);
  for (const [key, title] of LESSONS) block(title[0]!.toUpperCase() + title.slice(1), p.lessons[key]);
  out.push(pc.bold('Action items'));
  if (p.actionItems.length === 0) out.push(pc.dim('  none yet: opsbook action-items add ' + p.incidentId));
  for (const i of p.actionItems)
    out.push(
      `  ${i.id}  ${i.status}  ${i.priority}  ${i.owner}  due ${due(i.dueAt)}${i.overdue ? pc.red(' overdue') : ''}  ${i.title}`,
    );
  return `${out.join('\n')}\n`;
}

function stats(s: IncidentStats | null | undefined, key: 'mtta' | 'mttr'): string {
  const d = s?.[key];
  return d ? `${span(d.mean)} / ${span(d.median)} / ${span(d.p90)}` : '-';
}

function percent(t: { met: number; breached: number; compliance: number | null }): string {
  return t.compliance === null ? '-' : `${t.compliance}% (${t.met}/${t.met + t.breached})`;
}

function statsRow(label: string, s: IncidentStats): string[] {
  return [
    label,
    String(s.count),
    stats(s, 'mtta'),
    stats(s, 'mttr'),
    percent(s.response),
    percent(s.resolution),
  ];
}

const STATS_HEADERS = [
  'COUNT',
  'MTTA mean/median/p90',
  'MTTR mean/median/p90',
  'RESPONSE MET',
  'RESOLUTION MET',
];

function printReport(r: IncidentReport): void {
  const filters = [r.filters.severity, r.filters.service && `service ${r.filters.service}`].filter(Boolean);
  process.stdout.write(
    `Incidents opened ${timestamp(r.from)} to ${timestamp(r.to)} UTC${filters.length ? ` (${filters.join(', ')})` : ''}: ${r.total.count}\n\n`,
  );
  if (r.total.count === 0) return;
  printTable(
    ['SEVERITY', ...STATS_HEADERS],
    [...r.bySeverity.map((s) => statsRow(s.severity, s)), statsRow('all', r.total)],
  );
  process.stdout.write('\n');
  printTable(
    ['SERVICE', ...STATS_HEADERS],
    r.byService.map((s) => statsRow(s.service ?? '(none)', s)),
  );
  const unacked = r.total.count - r.total.acknowledged;
  process.stdout.write(
    `\nnever or not yet acknowledged: ${unacked} (counted as breaching once past due or ended)\n` +
      `action items: ${r.actionItems.open} open, ${r.actionItems.overdue} overdue, ${r.actionItems.done} done, ${r.actionItems.wontDo} won't do\n` +
      `post-mortems: ${r.postmortems.published} of ${r.postmortems.required} required published, ${r.postmortems.overdue} overdue\n`,
  );
}

export function registerPostmortemCommands(program: Command): void {
  // `incidents` may already exist (cli/incidents.command.ts); both files add to the same group.
  const incidents =
    program.commands.find((c) => c.name() === 'incidents') ??
    program.command('incidents').description('incidents, post-mortems and incident reports');
  const withCommon = (command: Command, actor = true): Command => {
    command
      .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
      .option('--json', 'print as JSON');
    if (actor) command.option('--as <name>', 'who does it (default $OPSBOOK_USER, else your user name)');
    return command;
  };

  const postmortem = incidents
    .command('postmortem')
    .description(
      'show or write an incident’s post-mortem; --markdown prints the document (opsbook incidents postmortem INC-3 --markdown > INC-3.md)',
    )
    .argument('<id>', 'the incident id, e.g. INC-3')
    .option('--markdown', 'print the Markdown document')
    .option('--status <status>', 'draft, in-review or published')
    .option('--summary <text>', 'what happened, in a few sentences')
    .option('--impact <text>', 'who and what was affected, for how long')
    .option('--root-cause <text>', 'why it happened')
    .option('--trigger <text>', 'what set it off')
    .option('--resolution <text>', 'what ended it')
    .option('--went-well <text>', 'lessons: what went well')
    .option('--went-wrong <text>', 'lessons: what went wrong')
    .option('--lucky <text>', 'lessons: where we got lucky')
    .option('--author <name>', 'who owns the write-up');
  withCommon(postmortem).action(
    (
      id: string,
      options: Common & {
        markdown?: boolean;
        status?: string;
        summary?: string;
        impact?: string;
        rootCause?: string;
        trigger?: string;
        resolution?: string;
        wentWell?: string;
        wentWrong?: string;
        lucky?: string;
        author?: string;
      },
    ) =>
      run(options, async () => {
        const base = apiUrl(options.url);
        const path = `/api/v1/incidents/${incidentId(id)}/postmortem`;
        const patch: Record<string, unknown> = {};
        for (const [key, field] of FIELDS) if (options[key] !== undefined) patch[field] = options[key];
        const lessons = { wentWell: options.wentWell, wentWrong: options.wentWrong, gotLucky: options.lucky };
        if (Object.values(lessons).some((v) => v !== undefined)) patch.lessons = lessons;
        if (options.status !== undefined) patch.status = options.status;
        if (options.author !== undefined) patch.author = options.author;
        let view: PostmortemView | undefined;
        if (Object.keys(patch).length > 0)
          view = await send<PostmortemView>(base, 'PUT', path, { ...patch, actor: actorName(options.as) });
        if (options.markdown) return void process.stdout.write(await markdown(base, path));
        view ??= await api<PostmortemView>(base, path);
        if (options.json) return printJson(view);
        process.stdout.write(describePostmortem(view));
      }),
  );

  withCommon(
    incidents
      .command('report')
      .description('MTTA and MTTR per severity and service, with response and resolution target compliance')
      .option(
        '--from <time>',
        'ISO 8601, epoch ms, or a span back from now such as 7d (default: 30 days before --to)',
      )
      .option('--to <time>', 'ISO 8601 or epoch ms (default: now)')
      .option('--severity <severity>', 'only SEV1, SEV2, SEV3 or SEV4')
      .option('-s, --service <name>', 'only incidents of this service'),
    false,
  ).action((options: Common & { from?: string; to?: string; severity?: string; service?: string }) =>
    run(options, async () => {
      const params = new URLSearchParams();
      if (options.from) params.set('from', relative(options.from, -1));
      if (options.to) params.set('to', relative(options.to, -1));
      if (options.severity) params.set('severity', severity(options.severity));
      if (options.service) params.set('service', options.service);
      const report = await api<IncidentReport>(apiUrl(options.url), `/api/v1/reports/incidents?${params}`);
      if (options.json) return printJson(report);
      printReport(report);
    }),
  );

  const items = program
    .command('action-items')
    .description('follow-ups from incidents, tracked until done: list, add, done, update');
  withCommon(
    items
      .command('list', { isDefault: true })
      .description('action items, soonest due first: open ones unless --status or --all')
      .option('--status <status>', 'open, done or wont-do')
      .option('--all', 'every status')
      .option('--owner <name>', 'only this owner’s')
      .option('--overdue', 'only open items past their due time')
      .option('--incident <id>', 'only this incident’s')
      .option('--limit <n>', 'at most this many (default 100)'),
    false,
  ).action(
    (
      options: Common & {
        status?: string;
        all?: boolean;
        owner?: string;
        overdue?: boolean;
        incident?: string;
        limit?: string;
      },
    ) =>
      run(options, async () => {
        const params = new URLSearchParams();
        if (options.status) params.set('status', options.status);
        else if (!options.all) params.set('status', 'open');
        if (options.owner) params.set('owner', options.owner);
        if (options.overdue) params.set('overdue', 'true');
        if (options.incident) params.set('incident', incidentId(options.incident));
        if (options.limit) params.set('limit', options.limit);
        const list = await api<{ items: ActionItemView[]; total: number }>(
          apiUrl(options.url),
          `/api/v1/action-items?${params}`,
        );
        printList(
          options.json,
          list,
          list.items,
          options.overdue ? 'no overdue action items' : 'no action items',
          ['ID', 'INCIDENT', 'STATUS', 'PRIORITY', 'OWNER', 'DUE', 'TITLE'],
          (i) => [i.id, i.incidentId, i.status, i.priority, i.owner, dueCell(i), i.title],
        );
        if (!options.json && list.total > list.items.length)
          process.stdout.write(`(${list.items.length} of ${list.total}; --limit shows more)\n`);
      }),
  );

  withCommon(
    items
      .command('add')
      .description(
        'add an action item, e.g. opsbook action-items add INC-3 "Alert on pool saturation" --owner bob --due 7d',
      )
      .argument('<incident>', 'the incident id')
      .argument('<title>', 'what to do')
      .option('--owner <name>', 'who sees it through (required)')
      .option('--due <when>', 'a day (2026-12-01), an ISO 8601 time, or a span from now such as 7d')
      .option('--priority <priority>', 'high, medium (default) or low')
      .option('--link <url>', 'a ticket or pull request'),
  ).action(
    (
      incident: string,
      title: string,
      options: Common & { owner?: string; due?: string; priority?: string; link?: string },
    ) =>
      run(options, async () => {
        if (!options.owner) throw new Error('say who sees it through with --owner <name>');
        const created = await send<ActionItemView>(
          apiUrl(options.url),
          'POST',
          `/api/v1/incidents/${incidentId(incident)}/action-items`,
          {
            title,
            owner: options.owner,
            ...(options.due ? { dueAt: dueValue(options.due) } : {}),
            ...(options.priority ? { priority: options.priority } : {}),
            ...(options.link ? { link: options.link } : {}),
            actor: actorName(options.as),
          },
        );
        if (options.json) return printJson(created);
        process.stdout.write(
          `added ${created.id} to ${created.incidentId} for ${created.owner}${created.dueAt !== null ? `, due ${due(created.dueAt)}` : ''}\n`,
        );
      }),
  );

  withCommon(
    items
      .command('done')
      .description('mark an action item done')
      .argument('<id>', 'the action item id, e.g. AI-7'),
  ).action((id: string, options: Common) =>
    run(options, async () => {
      const item = await send<ActionItemView>(
        apiUrl(options.url),
        'PATCH',
        `/api/v1/action-items/${itemId(id)}`,
        {
          status: 'done',
          actor: actorName(options.as),
        },
      );
      if (options.json) return printJson(item);
      process.stdout.write(`${item.id} done: ${item.title}\n`);
    }),
  );

  withCommon(
    items
      .command('update')
      .description('change an action item: --status wont-do, reassign, move the due date')
      .argument('<id>', 'the action item id')
      .option('--status <status>', 'open, done or wont-do')
      .option('--title <text>', 'what to do')
      .option('--owner <name>', 'who sees it through')
      .option('--due <when>', 'a day, an ISO 8601 time, a span from now such as 7d, or "none"')
      .option('--priority <priority>', 'high, medium or low')
      .option('--link <url>', 'a ticket or pull request ("none" removes it)'),
  ).action(
    (
      id: string,
      options: Common & {
        status?: string;
        title?: string;
        owner?: string;
        due?: string;
        priority?: string;
        link?: string;
      },
    ) =>
      run(options, async () => {
        const patch: Record<string, unknown> = {};
        for (const key of ['status', 'title', 'owner', 'priority'] as const)
          if (options[key] !== undefined) patch[key] = options[key];
        if (options.due !== undefined) patch.dueAt = options.due === 'none' ? null : dueValue(options.due);
        if (options.link !== undefined) patch.link = options.link === 'none' ? null : options.link;
        if (Object.keys(patch).length === 0)
          throw new Error('nothing to change; pass --status, --title, --owner, --due, --priority or --link');
        const item = await send<ActionItemView>(
          apiUrl(options.url),
          'PATCH',
          `/api/v1/action-items/${itemId(id)}`,
          {
            ...patch,
            actor: actorName(options.as),
          },
        );
        if (options.json) return printJson(item);
        process.stdout.write(
          `${item.id} ${item.status}, ${item.priority}, owner ${item.owner}, due ${due(item.dueAt)}: ${item.title}\n`,
        );
      }),
  );
}

/** A span such as 7d becomes a time from now; days and ISO times go as they are. */
function dueValue(text: string): number | string {
  const value = relative(text, 1);
  return /^\d+$/.test(value) ? Number(value) : value;
}
