import type { Command } from 'commander';
import type { IncidentDetail, IncidentView, TimelineEntryView } from '@opsbook/contracts';
import pc from 'picocolors';
import { actorName, api, ApiError, apiUrl, postJson } from './api-client.js';
import { ago, fail, printJson, printList, span, timestamp } from './output.js';

const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
const STAGES = ['detection', 'triage', 'investigation', 'resolution', 'post-incident', 'closed'] as const;
const ACTIVE = new Set<string>(['detection', 'triage', 'investigation', 'resolution']);

interface Common {
  url?: string;
  json?: boolean;
  as?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

/** INC-12, inc-12 and 12 all mean INC-12. */
export function incidentId(text: string): string {
  const match = /^(?:inc-)?(\d+)$/i.exec(text.trim());
  if (!match)
    throw new Error(`"${text}" is not an incident id; write e.g. INC-12 (see \`opsbook incidents list\`)`);
  return `INC-${match[1]}`;
}

function severity(text: string): string {
  const upper = text.trim().toUpperCase();
  const value = /^\d$/.test(upper) ? `SEV${upper}` : upper;
  if (!(SEVERITIES as readonly string[]).includes(value))
    throw new Error(
      `--severity "${text}" is not a severity; use SEV1 (critical), SEV2 (high), SEV3 (medium) or SEV4 (low)`,
    );
  return value;
}

function stage(text: string): string {
  const value = text.trim().toLowerCase();
  if (!(STAGES as readonly string[]).includes(value))
    throw new Error(`"${text}" is not a stage; use one of ${STAGES.join(', ')}`);
  return value;
}

function severityColour(s: string): string {
  return s === 'SEV1' ? pc.red(s) : s === 'SEV2' ? pc.yellow(s) : s === 'SEV3' ? pc.cyan(s) : s;
}

function stageColour(s: string): string {
  return s === 'detection' ? pc.red(s) : ACTIVE.has(s) ? pc.yellow(s) : pc.green(s);
}

/** The response clock: time left to acknowledge, how long ago it was missed, or how fast it was met. */
export function ackTimer(i: IncidentView, now = Date.now()): string {
  if (i.acknowledgedAt !== null)
    return `acked in ${span(i.acknowledgedAt - i.createdAt)}${i.acknowledgedBy ? ` by ${i.acknowledgedBy}` : ''}`;
  if (i.responseBreachedAt !== null || now >= i.responseDueAt)
    return pc.red(`breached ${span(now - i.responseDueAt)} ago`);
  if (!ACTIVE.has(i.stage)) return '-';
  return `${span(i.responseDueAt - now)} left`;
}

/** Runs a command body; errors go to stderr (or JSON) with exit code 1 and a hint for unknown incidents. */
async function run(options: Common, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    let message = (error as Error).message;
    if (error instanceof ApiError && error.status === 404 && /incident/.test(message))
      message += '; see `opsbook incidents list --all` for the incidents there are';
    fail(message, 1, options.json);
  }
}

function print(options: Common, incident: IncidentView, line: string): void {
  if (options.json) printJson(incident);
  else process.stdout.write(`${line}\n`);
}

export function registerIncidentCommands(program: Command): void {
  // `incidents postmortem` and `incidents report` live in another file and may register first.
  const incidents = program.commands.find((c) => c.name() === 'incidents') ?? program.command('incidents');
  if (!incidents.description())
    incidents.description('incidents: declare, acknowledge, assign, move through the stages, resolve, close');

  const withCommon = (command: Command, actor = true): Command => {
    command
      .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
      .option('--json', 'print as JSON');
    if (actor)
      command.option(
        '--as <name>',
        'who does it, with an integration token (default $OPSBOOK_USER, else your user name)',
      );
    return command;
  };

  withCommon(
    incidents
      .command('list', { isDefault: true })
      .description('incidents, newest first: open ones unless --all')
      .option('--open', 'only open incidents, detection to resolution (the default)')
      .option('--all', 'every incident, also post-incident and closed')
      .option('--severity <severity>', 'SEV1, SEV2, SEV3 or SEV4')
      .option('-s, --service <name>', 'only incidents of this service')
      .option('--stage <stage>', 'only incidents in this stage')
      .option('--limit <n>', 'at most this many (default 100)'),
    false,
  ).action(
    (
      options: Common & {
        open?: boolean;
        all?: boolean;
        severity?: string;
        service?: string;
        stage?: string;
        limit?: string;
      },
    ) =>
      run(options, async () => {
        if (options.open && options.all) throw new Error('pass --open or --all, not both');
        const params = new URLSearchParams();
        if (options.stage) params.set('stage', stage(options.stage));
        else if (!options.all) params.set('open', 'true');
        if (options.severity) params.set('severity', severity(options.severity));
        if (options.service) params.set('service', options.service);
        if (options.limit) params.set('limit', options.limit);
        const list = await api<{ items: IncidentView[]; total: number }>(
          apiUrl(options.url),
          `/api/v1/incidents?${params}`,
        );
        const now = Date.now();
        printList(
          options.json,
          list,
          list.items,
          options.all || options.stage ? 'no incidents' : 'no open incidents (--all shows ended ones too)',
          ['ID', 'SEVERITY', 'STAGE', 'TITLE', 'SERVICES', 'AGE', 'ACK TIMER'],
          (i) => [
            i.id,
            severityColour(i.severity),
            stageColour(i.stage),
            i.title,
            i.services.join(',') || '-',
            ago(i.createdAt, now).replace(' ago', ''),
            ackTimer(i, now),
          ],
        );
      }),
  );

  withCommon(
    incidents
      .command('show')
      .description('one incident: details, linked alerts and the timeline')
      .argument('<id>', 'the incident id, e.g. INC-12'),
    false,
  ).action((id: string, options: Common) =>
    run(options, async () => {
      const incident = await api<IncidentDetail>(apiUrl(options.url), `/api/v1/incidents/${incidentId(id)}`);
      if (options.json) return printJson(incident);
      process.stdout.write(describe(incident));
    }),
  );

  withCommon(
    incidents
      .command('open')
      .description(
        'declare an incident by hand, e.g. opsbook incidents open --title "Checkout down" --severity SEV1',
      )
      .option('-t, --title <title>', 'what is wrong, as users see it (required)')
      .option('--severity <severity>', 'SEV1, SEV2, SEV3 or SEV4 (required; guide 4.1)')
      .option('-s, --service <name>', 'an affected service (repeat or comma-separate for more)', collect, [])
      .option('--commander <person>', 'the incident commander'),
  ).action((options: Common & { title?: string; severity?: string; service: string[]; commander?: string }) =>
    run(options, async () => {
      if (!options.title) throw new Error('say what is wrong with --title "..."');
      if (!options.severity)
        throw new Error('choose --severity SEV1 (critical), SEV2 (high), SEV3 (medium) or SEV4 (low)');
      const created = await postJson<IncidentView>(apiUrl(options.url), '/api/v1/incidents', {
        title: options.title,
        severity: severity(options.severity),
        services: options.service,
        ...(options.commander ? { commander: options.commander } : {}),
        actor: actorName(options.as),
      });
      print(
        options,
        created,
        `opened ${created.id} (${created.severity}): ${created.title}\n` +
          `acknowledge within ${span(created.responseDueAt - created.createdAt)} (by ${timestamp(created.responseDueAt)} UTC): opsbook incidents ack ${created.id}`,
      );
    }),
  );

  const change = (
    name: string,
    description: string,
    path: string,
    line: (i: IncidentView, actor: string) => string,
  ) =>
    withCommon(incidents.command(name).description(description).argument('<id>', 'the incident id')).action(
      (id: string, options: Common) =>
        run(options, async () => {
          const actor = actorName(options.as);
          const changed = await postJson<IncidentView>(
            apiUrl(options.url),
            `/api/v1/incidents/${incidentId(id)}/${path}`,
            { actor },
          );
          // The server records who really acted (a personal token is its owner), not the name sent.
          const recorded =
            (path === 'acknowledge' ? changed.acknowledgedBy : changed.stageHistory.at(-1)?.by) ?? actor;
          print(options, changed, line(changed, recorded));
        }),
    );

  change(
    'ack',
    'acknowledge: stops the response clock (detection moves to triage)',
    'acknowledge',
    (i, actor) =>
      `${i.id} acknowledged by ${actor} ${span((i.acknowledgedAt ?? Date.now()) - i.createdAt)} after it opened` +
      `${i.responseBreachedAt !== null ? ' (the response target was missed)' : ''}; stage ${i.stage}`,
  );

  withCommon(
    incidents
      .command('assign')
      .description(
        'give a person a role, e.g. opsbook incidents assign INC-3 --role commander --person alice',
      )
      .argument('<id>', 'the incident id')
      .option('--role <role>', 'commander, scribe, communications, ... (default commander)', 'commander')
      .option('--person <name>', 'who takes the role (required)'),
  ).action((id: string, options: Common & { role: string; person?: string }) =>
    run(options, async () => {
      if (!options.person) throw new Error('say who takes the role with --person <name>');
      const changed = await postJson<IncidentView>(
        apiUrl(options.url),
        `/api/v1/incidents/${incidentId(id)}/assign`,
        { role: options.role, person: options.person, actor: actorName(options.as) },
      );
      print(options, changed, `${changed.id}: ${options.person} is ${options.role}`);
    }),
  );

  withCommon(
    incidents
      .command('stage')
      .description(
        'move to a later stage: detection, triage, investigation, resolution, post-incident, closed (post-incident → investigation reopens)',
      )
      .argument('<id>', 'the incident id')
      .argument('<stage>', 'the stage to move to'),
  ).action((id: string, to: string, options: Common) =>
    run(options, async () => {
      const changed = await postJson<IncidentView>(
        apiUrl(options.url),
        `/api/v1/incidents/${incidentId(id)}/stage`,
        { stage: stage(to), actor: actorName(options.as) },
      );
      print(options, changed, `${changed.id} is now in ${changed.stage}`);
    }),
  );

  withCommon(
    incidents
      .command('note')
      .description('add a note to the timeline, e.g. opsbook incidents note INC-3 "rolled back 1.4.2"')
      .argument('<id>', 'the incident id')
      .argument('<text...>', 'the note'),
  ).action((id: string, words: string[], options: Common) =>
    run(options, async () => {
      const changed = await postJson<IncidentView>(
        apiUrl(options.url),
        `/api/v1/incidents/${incidentId(id)}/notes`,
        { text: words.join(' '), actor: actorName(options.as) },
      );
      print(options, changed, `note added to ${changed.id}`);
    }),
  );

  withCommon(
    incidents
      .command('status')
      .description(
        'communicate status: post an update to the incident channels (or --to receivers), on the timeline too',
      )
      .argument('<id>', 'the incident id')
      .argument('<text...>', 'the update, e.g. "Mitigated: rolled back; watching error rate"')
      .option('--to <receivers>', 'comma-separated receiver names instead of incidents.channels'),
  ).action((id: string, words: string[], options: Common & { to?: string }) =>
    run(options, async () => {
      const posted = await postJson<{ incidentId: string; receivers: string[] }>(
        apiUrl(options.url),
        `/api/v1/incidents/${incidentId(id)}/status-updates`,
        {
          text: words.join(' '),
          actor: actorName(options.as),
          ...(options.to ? { receivers: options.to.split(',').map((r) => r.trim()) } : {}),
        },
      );
      if (options.json) printJson(posted);
      else
        process.stdout.write(
          `status update for ${posted.incidentId} queued to ${posted.receivers.join(', ')}\n`,
        );
    }),
  );

  change(
    'resolve',
    'resolve: the response is over, move to post-incident',
    'resolve',
    (i) =>
      `${i.id} resolved after ${span((i.resolvedAt ?? Date.now()) - i.createdAt)}; now post-incident (close it with opsbook incidents close ${i.id})`,
  );
  change('close', 'close an incident in post-incident', 'close', (i) => `${i.id} closed`);
}

function describe(i: IncidentDetail, now = Date.now()): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${pc.bold(`${name}:`.padEnd(12))}${value}`);
  out.push(`${pc.bold(i.id)}  ${severityColour(i.severity)}  ${stageColour(i.stage)}  ${i.title}`, '');
  field('services', i.services.join(', ') || '-');
  field('commander', i.commander ?? '-');
  const roles = Object.entries(i.roles);
  if (roles.length) field('roles', roles.map(([role, person]) => `${role}: ${person}`).join(', '));
  field('opened', `${timestamp(i.createdAt)} UTC (${ago(i.createdAt, now)}) by ${i.createdBy}`);
  field(
    'response',
    i.acknowledgedAt !== null
      ? `${ackTimer(i, now)} at ${timestamp(i.acknowledgedAt)}${i.responseBreachedAt !== null ? pc.red(' (target missed)') : ''}`
      : `${ackTimer(i, now)} (due ${timestamp(i.responseDueAt)})`,
  );
  if (i.resolutionDueAt !== null)
    field(
      'resolution',
      `due ${timestamp(i.resolutionDueAt)}${i.resolutionBreachedAt !== null ? pc.red(' (target missed)') : ''}`,
    );
  if (i.resolvedAt !== null)
    field('resolved', `${timestamp(i.resolvedAt)} (after ${span(i.resolvedAt - i.createdAt)})`);
  if (i.closedAt !== null) field('closed', timestamp(i.closedAt));
  field('stages', i.stageHistory.map((s) => `${s.stage} ${timestamp(s.at).slice(11)} (${s.by})`).join(' → '));
  if (i.alerts.length) {
    out.push(pc.bold('alerts:'));
    for (const a of i.alerts) {
      const labels = Object.entries(a.labels)
        .filter(([k]) => k !== 'alertname')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      out.push(
        `  ${a.status === 'firing' ? pc.red('firing  ') : pc.green('resolved')}  ${a.alertname}  ${labels}  since ${timestamp(a.firstFiringAt)}`,
      );
    }
  }
  out.push('', pc.bold('Timeline (UTC)'));
  for (const entry of i.timeline) out.push(timelineLine(entry));
  if (i.timeline.length === 0) out.push('  (empty)');
  return `${out.join('\n')}\n`;
}

function timelineLine(e: TimelineEntryView): string {
  const kind = e.kind.padEnd(14);
  return `  ${timestamp(e.at)}  ${e.kind === 'sla.breach' ? pc.red(kind) : kind}  ${e.actor}: ${e.text}`;
}
