import type { Command } from 'commander';
import type { IncidentView, RunbookAuditEntry, RunbookRunView, RunbookStepView } from '@opsbook/contracts';
import pc from 'picocolors';
import { actorName, api, ApiError, apiUrl, postJson } from './api-client.js';
import { ago, confirm, fail, printJson, printList, printTable, span, timestamp } from './output.js';
import { incidentId } from './incidents.command.js';

/** GET /api/v1/runbooks items (the route's own schema, not in contracts). */
interface RunbookSummary {
  id: string;
  title: string;
  description: string | null;
  triggers: { alerts?: string[]; matchers?: string[]; manual?: boolean };
  parameters: Record<
    string,
    {
      type: 'string' | 'number' | 'boolean' | 'enum';
      description?: string;
      values?: string[];
      default?: string | number | boolean;
      required?: boolean;
    }
  >;
  steps: { id: string; title: string; kind: string; phase: string }[];
}

type ParameterValue = string | number | boolean;

const RUN_STATUSES = ['running', 'waiting', 'succeeded', 'completed_with_failures', 'failed'];
const FINISHED = new Set(['succeeded', 'completed_with_failures', 'failed']);
const FAILED_STEP = new Set(['failed', 'timed_out', 'rejected']);
const POLL_MS = 500;

interface Common {
  url?: string;
  json?: boolean;
  as?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(options: Common, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    let message = (error as Error).message;
    if (error instanceof ApiError && error.status === 403 && /needs role/.test(message))
      message +=
        '; your account needs that role or group: an admin adds it with `opsbook users set-groups <you> <group>`';
    else if (error instanceof ApiError && error.status === 404 && /runbook run/.test(message))
      message += '; see `opsbook runbooks runs` for the runs there are';
    fail(message, 1, options.json);
  }
}

function statusColour(status: string): string {
  if (status === 'succeeded') return pc.green(status);
  if (FAILED_STEP.has(status) || status === 'failed') return pc.red(status);
  if (status === 'waiting' || status === 'completed_with_failures') return pc.yellow(status);
  if (status === 'running') return pc.cyan(status);
  return pc.dim(status);
}

function kindLabel(step: { kind: string; destructive?: boolean }): string {
  return step.kind === 'action' || step.destructive ? `${step.kind} ${pc.red('DESTRUCTIVE')}` : step.kind;
}

async function runbookById(base: string, id: string): Promise<RunbookSummary> {
  const { items } = await api<{ items: RunbookSummary[] }>(base, '/api/v1/runbooks');
  const found = items.find((r) => r.id === id);
  if (!found)
    throw new Error(
      `no runbook "${id}"; there are: ${items.map((r) => r.id).join(', ') || 'none'} (see \`opsbook runbooks list\`)`,
    );
  return found;
}

/** key=value pairs typed by the runbook's parameter definitions, so numbers and booleans arrive as such. */
export function parseParameters(pairs: string[], runbook: RunbookSummary): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  const names = Object.keys(runbook.parameters);
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--param "${pair}" is not key=value, e.g. --param database=primary`);
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    const definition = runbook.parameters[name];
    if (!definition)
      throw new Error(
        `runbook ${runbook.id} has no parameter "${name}"; it takes: ${names.join(', ') || 'none'}`,
      );
    switch (definition.type) {
      case 'number': {
        const number = Number(value);
        if (value.trim() === '' || !Number.isFinite(number))
          throw new Error(`--param ${name}: "${value}" is not a number`);
        out[name] = number;
        break;
      }
      case 'boolean':
        if (!/^(true|false)$/i.test(value)) throw new Error(`--param ${name}: write true or false`);
        out[name] = value.toLowerCase() === 'true';
        break;
      case 'enum':
        if (!definition.values?.includes(value))
          throw new Error(`--param ${name}: "${value}" is not one of ${definition.values?.join(', ')}`);
        out[name] = value;
        break;
      case 'string':
        out[name] = value;
        break;
    }
  }
  return out;
}

/** Destructive steps an approval lets run: the actions after it, up to the next approval. */
function gatedBy(run: RunbookRunView, stepId: string): RunbookStepView[] {
  const index = run.steps.findIndex((s) => s.id === stepId);
  const gated: RunbookStepView[] = [];
  for (const step of run.steps.slice(index + 1)) {
    if (step.kind === 'approval') break;
    if (step.destructive) gated.push(step);
  }
  return gated;
}

function done(run: RunbookRunView): number {
  return run.steps.filter((s) => !['pending', 'running', 'waiting'].includes(s.status)).length;
}

function progressLine(run: RunbookRunView): string {
  const width = 20;
  const filled = run.steps.length ? Math.round((done(run) / run.steps.length) * width) : width;
  const current = run.steps.find((s) => s.status === 'running' || s.status === 'waiting');
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done(run)}/${run.steps.length} steps  ${statusColour(run.status)}${current ? `: ${current.status === 'waiting' ? 'waiting on' : 'running'} ${current.id}` : ''}`;
}

function stepLine(step: RunbookStepView): string {
  return `  ${statusColour(step.status.padEnd(9))}  ${step.id} (${kindLabel(step)}): ${step.title}${step.message ? ` — ${step.message}` : ''}`;
}

/** What the person at the keyboard can do next, if the run waits for one. */
function nextAction(run: RunbookRunView): string | undefined {
  const waiting = run.steps.find((s) => s.status === 'waiting');
  if (!waiting) return undefined;
  if (waiting.kind === 'manual')
    return `waiting for a person: ${waiting.title}\n  when it is done: opsbook runbooks tick ${run.id} ${waiting.id}`;
  const role = typeof waiting.evidence.role === 'string' ? waiting.evidence.role : 'operator';
  const gated = gatedBy(run, waiting.id);
  return (
    `waiting for approval by role or group ${role}${waiting.deadline ? ` until ${timestamp(waiting.deadline)} UTC` : ''}: ${waiting.title}\n` +
    (gated.length
      ? `  approving lets ${gated.length} destructive step${gated.length > 1 ? 's' : ''} run: ${gated.map((s) => s.id).join(', ')}\n`
      : '') +
    `  opsbook runbooks approve ${run.id} ${waiting.id}\n` +
    `  opsbook runbooks reject ${run.id} ${waiting.id} --comment "why"`
  );
}

function finishedLine(run: RunbookRunView): string {
  const took = run.finishedAt !== null ? ` in ${span(run.finishedAt - run.createdAt)}` : '';
  const failed = run.steps.filter((s) => FAILED_STEP.has(s.status)).map((s) => s.id);
  return `run ${run.id} ${statusColour(run.status)}${took}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}`;
}

/** Prints each step as its status changes, with a progress line (redrawn in place on a terminal). */
class Follower {
  private readonly seen = new Map<string, string>();
  private lastProgress = '';
  private readonly tty = process.stdout.isTTY === true;

  update(run: RunbookRunView): void {
    const lines = run.steps
      .filter((s) => s.status !== 'pending' && this.seen.get(s.id) !== s.status)
      .map((s) => {
        this.seen.set(s.id, s.status);
        return stepLine(s);
      });
    const progress = progressLine(run);
    if (this.tty) {
      if (lines.length) process.stdout.write(`\r\x1b[K${lines.join('\n')}\n`);
      process.stdout.write(`\r\x1b[K${progress}`);
    } else {
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
      if (progress !== this.lastProgress) process.stdout.write(`${progress}\n`);
    }
    this.lastProgress = progress;
  }

  end(): void {
    if (this.tty) process.stdout.write('\n');
  }
}

/**
 * Starts a run and follows it. The start request returns only once the run waits or ends, so
 * meanwhile the new run is found in the run list (same runbook and actor, not there before).
 */
async function startAndFollow(
  base: string,
  runbookId: string,
  body: { parameters: Record<string, ParameterValue>; actor: string },
  follower: Follower | undefined,
): Promise<RunbookRunView> {
  const before = new Set(
    follower
      ? (await api<{ items: RunbookRunView[] }>(base, '/api/v1/runbook-runs?limit=50')).items.map((r) => r.id)
      : [],
  );
  let outcome: { run?: RunbookRunView; error?: unknown } | undefined;
  const request = postJson<RunbookRunView>(
    base,
    `/api/v1/runbooks/${encodeURIComponent(runbookId)}/runs`,
    body,
  )
    .then((run) => (outcome = { run }))
    .catch((error: unknown) => (outcome = { error }));
  while (!outcome) {
    await (follower ? Promise.race([request, sleep(POLL_MS)]) : request);
    if (outcome || !follower) continue;
    const list = await api<{ items: RunbookRunView[] }>(base, '/api/v1/runbook-runs?limit=20').catch(
      () => undefined,
    );
    const mine = list?.items.find(
      (r) => r.runbookId === runbookId && r.startedBy === body.actor && !before.has(r.id),
    );
    if (mine && !outcome) follower.update(mine);
  }
  const settled = outcome as { run?: RunbookRunView; error?: unknown };
  if (!settled.run) throw settled.error;
  let current = settled.run;
  follower?.update(current);
  while (current.status === 'running') {
    await sleep(POLL_MS);
    current = await api<RunbookRunView>(base, `/api/v1/runbook-runs/${current.id}`);
    follower?.update(current);
  }
  return current;
}

function evidenceLines(step: RunbookStepView): string[] {
  const e = step.evidence as Record<string, unknown>;
  const lines: string[] = [];
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const request = e.request as { method?: string; url?: string } | undefined;
  if (request?.url)
    lines.push(
      `${request.method ?? 'GET'} ${request.url}${typeof e.status === 'number' ? ` → ${e.status}` : ''}${typeof e.responseTimeMs === 'number' ? ` in ${e.responseTimeMs} ms` : ''}`,
    );
  if (Array.isArray(e.conditions))
    for (const c of e.conditions as { ok: boolean; description: string }[])
      if (!c.ok) lines.push(`condition failed: ${c.description}`);
  if (Array.isArray(e.argv)) {
    lines.push(`$ ${(e.argv as string[]).join(' ')}  (exit code ${text(e.exitCode ?? '?')})`);
    for (const stream of ['stdout', 'stderr'] as const) {
      const output = typeof e[stream] === 'string' ? (e[stream] as string).trimEnd() : '';
      if (output) {
        const all = output.split('\n');
        lines.push(...all.slice(0, 5).map((l) => `${stream}: ${l}`));
        if (all.length > 5) lines.push(`${stream}: … ${all.length - 5} more lines (--json for all)`);
      }
    }
  }
  if (Array.isArray(e.columns) && Array.isArray(e.rows)) {
    const rows = e.rows as unknown[][];
    lines.push(
      `${text(e.rowCount ?? rows.length)} rows from ${text(e.database)}${e.truncated ? ' (truncated)' : ''}`,
    );
    if (rows.length) {
      lines.push((e.columns as string[]).join(' | '));
      for (const row of rows.slice(0, 5)) lines.push(row.map((cell) => text(cell)).join(' | '));
      if (rows.length > 5) lines.push(`… ${rows.length - 5} more rows (--json for all)`);
    }
  } else if (e.database && e.query) lines.push(`on ${text(e.database)}`);
  if (Array.isArray(e.samples)) {
    const shown = (Array.isArray(e.breaching) ? e.breaching : e.samples) as {
      labels: Record<string, string>;
      value: number;
    }[];
    if (Array.isArray(e.breaching)) lines.push(`${shown.length} series crossing the threshold:`);
    for (const s of shown.slice(0, 5))
      lines.push(
        `${
          Object.entries(s.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || '(no labels)'
        } = ${Number(s.value.toFixed(4))}`,
      );
    if (shown.length > 5) lines.push(`… ${shown.length - 5} more series (--json for all)`);
  }
  if (typeof e.check === 'string' && typeof e.latencyMs === 'number')
    lines.push(`check ${e.check}: ${text(e.status)} in ${e.latencyMs} ms`);
  if (Array.isArray(e.checklist))
    for (const item of e.checklist as string[])
      lines.push(`[${step.status === 'succeeded' ? 'x' : ' '}] ${item}`);
  if (typeof e.role === 'string' && step.kind === 'approval') lines.push(`needs role ${e.role}`);
  if (typeof e.error === 'string') lines.push(`error: ${e.error}`);
  return lines;
}

function describeRun(run: RunbookRunView & { audit?: RunbookAuditEntry[] }): string {
  const out: string[] = [];
  out.push(`${pc.bold(run.title)} (${run.runbookId})  run ${run.id}  ${statusColour(run.status)}`);
  const trigger = run.trigger as { incident?: string; alert?: Record<string, string>; manual?: boolean };
  out.push(
    `started ${timestamp(run.createdAt)} UTC (${ago(run.createdAt)}) by ${run.startedBy}` +
      (trigger.incident ? ` for incident ${trigger.incident}` : '') +
      (trigger.alert?.alertname ? ` on alert ${trigger.alert.alertname}` : '') +
      (run.finishedAt !== null ? `; finished after ${span(run.finishedAt - run.createdAt)}` : ''),
  );
  const params = Object.entries(run.parameters);
  if (params.length) out.push(`parameters: ${params.map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  out.push('');
  run.steps.forEach((step, index) => {
    const took =
      step.startedAt !== null && step.finishedAt !== null
        ? `  ${span(step.finishedAt - step.startedAt)}`
        : '';
    out.push(
      `${String(index + 1).padStart(2)}. ${statusColour(step.status.padEnd(9))}  ${pc.bold(step.id)}  (${kindLabel(step)}, ${step.phase})${took}${step.actor ? `  by ${step.actor}` : ''}`,
    );
    out.push(`    ${step.title}`);
    if (step.message) out.push(`    ${step.message}`);
    for (const line of evidenceLines(step)) out.push(`      ${line}`);
  });
  const next = nextAction(run);
  if (next) out.push('', next);
  if (run.audit?.length) {
    out.push('', pc.bold('Audit (UTC)'));
    for (const a of run.audit)
      out.push(`  ${timestamp(a.at)}  ${a.actor}  ${a.action}${a.stepId ? ` ${a.stepId}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

function triggerText(t: RunbookSummary['triggers']): string {
  const parts = [
    ...(t.alerts?.length ? [`alerts ${t.alerts.join(', ')}`] : []),
    ...(t.matchers?.length ? [`matchers ${t.matchers.join(' ')}`] : []),
    t.manual === false ? 'not by hand' : 'by hand',
  ];
  return parts.join('; ');
}

export function registerRunbookCommands(program: Command): void {
  const runbooks = program.commands.find((c) => c.name() === 'runbooks') ?? program.command('runbooks');
  runbooks.description('runbooks: list, show, run and follow them; tick, approve or reject their steps');

  const withCommon = (command: Command, actor = false): Command => {
    command
      .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
      .option('--json', 'print as JSON');
    if (actor) command.option('--as <name>', 'who does it (default $OPSBOOK_USER, else your user name)');
    return command;
  };

  withCommon(runbooks.command('list').description('the runbooks: built-in and from runbooks.dirs')).action(
    (options: Common) =>
      run(options, async () => {
        const list = await api<{ items: RunbookSummary[] }>(apiUrl(options.url), '/api/v1/runbooks');
        printList(
          options.json,
          list,
          list.items,
          'no runbooks (runbooks.builtin is false and runbooks.dirs holds none)',
          ['ID', 'TITLE', 'STEPS', 'STARTS', 'PARAMETERS'],
          (r) => {
            const destructive = r.steps.filter((s) => s.kind === 'action').length;
            return [
              r.id,
              r.title,
              `${r.steps.length}${destructive ? pc.red(` (${destructive} destructive)`) : ''}`,
              triggerText(r.triggers),
              Object.keys(r.parameters).join(', ') || '-',
            ];
          },
        );
      }),
  );

  withCommon(
    runbooks
      .command('show')
      .description('one runbook: triggers, parameters with their allowed values, and steps')
      .argument('<id>', 'the runbook id (see runbooks list)'),
  ).action((id: string, options: Common) =>
    run(options, async () => {
      const runbook = await runbookById(apiUrl(options.url), id);
      if (options.json) return printJson(runbook);
      const out = process.stdout;
      out.write(`${pc.bold(runbook.title)} (${runbook.id})\n`);
      if (runbook.description) out.write(`${runbook.description}\n`);
      out.write(`\nstarts: ${triggerText(runbook.triggers)}\n\n`);
      const params = Object.entries(runbook.parameters);
      if (params.length) {
        printTable(
          ['PARAMETER', 'TYPE', 'ALLOWED', 'DEFAULT', 'DESCRIPTION'],
          params.map(([name, p]) => [
            `${name}${p.required ? ' (required)' : ''}`,
            p.type,
            p.values?.join(', ') ?? (p.type === 'boolean' ? 'true, false' : 'any'),
            p.default === undefined ? '-' : String(p.default),
            p.description ?? '',
          ]),
        );
        out.write('\n');
      } else out.write('parameters: none\n\n');
      printTable(
        ['#', 'STEP', 'KIND', 'PHASE', 'TITLE'],
        runbook.steps.map((s, i) => [String(i + 1), s.id, kindLabel(s), s.phase, s.title]),
      );
      out.write(
        `\nrun it: opsbook runbooks run ${runbook.id}${params.length ? ' --param name=value' : ''} --wait\n`,
      );
    }),
  );

  withCommon(
    runbooks
      .command('run')
      .description('start a run; steps execute until one waits for a person (--wait follows it)')
      .argument('<id>', 'the runbook id (see runbooks list)')
      .option('-p, --param <key=value>', 'a parameter (repeat for more)', collect, [] as string[])
      .option('--incident <id>', 'the incident this run is for: its steps and evidence go on its timeline')
      .option(
        '-w, --wait',
        'follow the run, printing each step as it changes, until it ends or waits for a person',
      ),
    true,
  ).action((id: string, options: Common & { param: string[]; incident?: string; wait?: boolean }) =>
    run(options, async () => {
      const base = apiUrl(options.url);
      const actor = actorName(options.as);
      const runbook = await runbookById(base, id);
      const parameters = parseParameters(options.param, runbook);
      const incident = options.incident
        ? await api<IncidentView>(base, `/api/v1/incidents/${incidentId(options.incident)}`).catch(
            (error: unknown) => {
              throw error instanceof ApiError && error.status === 404
                ? new Error(`${(error as Error).message}; check the id with \`opsbook incidents list\``)
                : error;
            },
          )
        : undefined;
      const follower = options.wait && !options.json ? new Follower() : undefined;
      if (follower) process.stdout.write(`starting ${runbook.id} (${runbook.steps.length} steps)\n`);
      // The server links the run to the incident, so its steps and evidence go on the timeline.
      const started = await startAndFollow(
        base,
        runbook.id,
        { parameters, actor, ...(incident ? { incident: incident.id } : {}) },
        follower,
      );
      follower?.end();
      if (options.json) printJson(started);
      else if (follower) {
        process.stdout.write(`${finishedLine(started)}\n`);
        const next = nextAction(started);
        if (next) process.stdout.write(`${next}\n`);
      } else process.stdout.write(describeRun(started));
      if (options.wait && (started.status === 'failed' || started.status === 'completed_with_failures'))
        process.exitCode = 1;
    }),
  );

  const runs = runbooks.command('runs').description('runs of runbooks: list them, or show one');
  withCommon(
    runs
      .command('list', { isDefault: true })
      .description('runs, newest first')
      .option('--status <status>', `only these (comma-separated): ${RUN_STATUSES.join(', ')}`)
      .option('--limit <n>', 'at most this many (default 50)'),
  ).action((options: Common & { status?: string; limit?: string }) =>
    run(options, async () => {
      const params = new URLSearchParams();
      if (options.status) {
        const wanted = options.status.split(',').filter(Boolean);
        const unknown = wanted.filter((s) => !RUN_STATUSES.includes(s));
        if (unknown.length)
          throw new Error(
            `--status ${unknown.join(',')} is not a run status; use ${RUN_STATUSES.join(', ')}`,
          );
        params.set('status', wanted.join(','));
      }
      if (options.limit) params.set('limit', options.limit);
      const list = await api<{ items: RunbookRunView[] }>(
        apiUrl(options.url),
        `/api/v1/runbook-runs?${params}`,
      );
      printList(
        options.json,
        list,
        list.items,
        'no runs',
        ['RUN', 'RUNBOOK', 'STATUS', 'STEPS', 'WAITING ON', 'FOR', 'BY', 'STARTED'],
        (r) => {
          const trigger = r.trigger as { incident?: string; alert?: Record<string, string> };
          return [
            r.id,
            r.runbookId,
            statusColour(r.status),
            `${done(r)}/${r.steps.length}`,
            r.steps.find((s) => s.status === 'waiting')?.id ?? '-',
            trigger.incident ?? trigger.alert?.alertname ?? 'manual',
            r.startedBy,
            ago(r.createdAt),
          ];
        },
      );
    }),
  );
  withCommon(
    runs
      .command('show')
      .description('one run: every step with its status and evidence, and the audit log')
      .argument('<runId>', 'the run id (see runbooks runs)'),
  ).action((runId: string, options: Common) =>
    run(options, async () => {
      const found = await api<RunbookRunView & { audit: RunbookAuditEntry[] }>(
        apiUrl(options.url),
        `/api/v1/runbook-runs/${encodeURIComponent(runId)}`,
      );
      if (options.json) return printJson(found);
      process.stdout.write(describeRun(found));
    }),
  );

  withCommon(
    runbooks
      .command('tick')
      .description('tick a manual step done; the run goes on')
      .argument('<runId>', 'the run id')
      .argument('<stepId>', 'the waiting manual step')
      .option('--note <text>', 'what was done or found'),
    true,
  ).action((runId: string, stepId: string, options: Common & { note?: string }) =>
    run(options, async () => {
      const base = apiUrl(options.url);
      const before = await api<RunbookRunView>(base, `/api/v1/runbook-runs/${encodeURIComponent(runId)}`);
      const after = await postJson<RunbookRunView>(
        base,
        `/api/v1/runbook-runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/tick`,
        { actor: actorName(options.as), ...(options.note ? { note: options.note } : {}) },
      );
      report(options, after, `ticked ${stepId}`, before);
    }),
  );

  const decide = (decision: 'approve' | 'reject') =>
    withCommon(
      runbooks
        .command(decision)
        .description(
          decision === 'approve'
            ? 'approve a waiting approval step; asks for confirmation (or --yes) when it lets destructive steps run'
            : 'reject a waiting approval step; the destructive steps it gates are skipped',
        )
        .argument('<runId>', 'the run id')
        .argument('<stepId>', 'the waiting approval step')
        .option(
          '-c, --comment <text>',
          decision === 'approve' ? 'why (sent as the reason)' : 'why it is rejected (required)',
        )
        .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)'),
      true,
    ).action((runId: string, stepId: string, options: Common & { comment?: string; yes?: boolean }) =>
      run(options, async () => {
        if (decision === 'reject' && !options.comment)
          throw new Error('say why with --comment "..." so the next person knows');
        const base = apiUrl(options.url);
        const before = await api<RunbookRunView>(base, `/api/v1/runbook-runs/${encodeURIComponent(runId)}`);
        const step = before.steps.find((s) => s.id === stepId);
        if (!step)
          throw new Error(
            `run ${runId} has no step "${stepId}"; its steps: ${before.steps.map((s) => s.id).join(', ')}`,
          );
        if (step.kind === 'manual')
          throw new Error(
            `${stepId} is a manual step; tick it with: opsbook runbooks tick ${runId} ${stepId}`,
          );
        const gated = gatedBy(before, stepId);
        if (decision === 'approve' && gated.length && !options.yes) {
          const what = `approving ${stepId} lets destructive step${gated.length > 1 ? 's' : ''} run: ${gated.map((s) => `${s.id} (${s.title})`).join(', ')}`;
          if (!process.stdin.isTTY)
            throw new Error(`${what}; there is no terminal to confirm on, so pass --yes to approve`);
          if (!(await confirm(`${what}. Approve?`))) {
            process.stderr.write('not approved; nothing changed\n');
            process.exitCode = 1;
            return;
          }
        }
        const after = await postJson<RunbookRunView>(
          base,
          `/api/v1/runbook-runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/${decision}`,
          {
            actor: actorName(options.as),
            ...(options.comment ? { reason: options.comment } : {}),
          },
        );
        report(options, after, `${decision === 'approve' ? 'approved' : 'rejected'} ${stepId}`, before);
      }),
    );
  decide('approve');
  decide('reject');
}

/** After a tick or decision: the steps that changed because of it, and what the run waits for now. */
function report(options: Common, after: RunbookRunView, what: string, before: RunbookRunView): void {
  if (options.json) return printJson(after);
  const previous = new Map(before.steps.map((s) => [s.id, s.status]));
  const out = [
    `${what}; run ${after.id} is ${statusColour(after.status)} (${done(after)}/${after.steps.length} steps)`,
  ];
  for (const step of after.steps)
    if (step.status !== 'pending' && previous.get(step.id) !== step.status) out.push(stepLine(step));
  const next = nextAction(after);
  if (next) out.push(next);
  else if (FINISHED.has(after.status)) out.push(finishedLine(after));
  process.stdout.write(`${out.join('\n')}\n`);
}
