import type { Command } from 'commander';
import type {
  ActivityRow,
  BackendActionResult,
  BackendAuditEntry,
  BlockingPair,
  DatabaseSummary,
  Finding,
  HealthReport,
  MaintenanceRunView,
  MaintenanceTaskView,
  StatementRow,
} from '@opsbook/contracts';
import pc from 'picocolors';
import { actorName, api, apiUrl, authHeaders } from './api-client.js';
import { ago, confirm, fail, printJson, printList } from './output.js';
import { formatBytes } from '../lib/format.js';

interface Common {
  url?: string;
  json?: boolean;
}

const POLL_MS = 500;
const SEVERITIES = ['critical', 'warning', 'info'] as const;

async function run(json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, json);
  }
}

const path = (db: string, rest = '') => `/api/v1/databases/${encodeURIComponent(db)}${rest}`;
const write = (line: string): void => void process.stdout.write(`${line}\n`);

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function severity(s: string): string {
  return s === 'critical' ? pc.red(s) : s === 'warning' ? pc.yellow(s) : pc.cyan(s);
}

function status(s: string): string {
  return s === 'succeeded' ? pc.green(s) : s === 'failed' ? pc.red(s) : pc.yellow(s);
}

function oneLine(text: string, chars = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > chars ? `${line.slice(0, chars - 3)}...` : line;
}

function printFindings(report: HealthReport): void {
  const { counts } = report;
  write(
    `${pc.bold(report.database)}: ${report.up ? pc.green('up') : pc.red('down')}, ${counts.critical} critical, ${counts.warning} warning, ${counts.info} info${report.collectedAt ? ` (collected ${ago(report.collectedAt)})` : ''}`,
  );
  if (report.findings.length === 0) return write('no findings: healthy by every check');
  for (const level of SEVERITIES) {
    const findings = report.findings.filter((f) => f.severity === level);
    if (findings.length === 0) continue;
    write('');
    write(pc.bold(`${level.toUpperCase()} (${findings.length})`));
    for (const f of findings) printFinding(f);
  }
  write('');
  write(
    pc.dim('Opsbook never runs these fixes itself; statements marked destructive change or remove things.'),
  );
}

function printFinding(f: Finding): void {
  write(`- ${severity(f.severity)} ${f.title}`);
  const evidence = Object.entries(f.evidence)
    // Times and the backend type add little in a terminal; --json has everything.
    .filter(([k, v]) => v !== null && typeof v !== 'object' && !/(Start|Change|At|backendType)$/.test(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? oneLine(v, 60) : String(v)}`)
    .slice(0, 6);
  if (evidence.length) write(`    evidence: ${evidence.join(', ')}`);
  if (f.fix.sql)
    for (const [i, line] of f.fix.sql.split('\n').entries())
      write(
        `    ${i === 0 ? `fix${f.fix.destructive ? pc.red(' (destructive)') : ''}: ` : '     '}${pc.cyan(line)}`,
      );
  write(`    ${pc.dim(f.fix.note)}`);
}

export function registerDbCommands(program: Command): void {
  // Other parts (backups) may add subcommands to the same group.
  const db =
    program.commands.find((c) => c.name() === 'db') ??
    program.command('db').description('PostgreSQL databases: health, queries, maintenance, backends');

  db.command('list')
    .description('configured databases: up, role, size, connections, findings, last collected')
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON')
    .action((options: Common) =>
      run(options.json, async () => {
        const list = await api<{ items: DatabaseSummary[] }>(apiUrl(options.url), '/api/v1/databases');
        printList(
          options.json,
          list,
          list.items,
          'no databases configured (add a databases: section to the config)',
          ['DATABASE', 'STATUS', 'ROLE', 'SIZE', 'CONNECTIONS', 'FINDINGS', 'COLLECTED', 'SERVICE'],
          (d) => [
            d.id,
            d.up === null ? pc.yellow('pending') : d.up ? pc.green('up') : pc.red('down'),
            d.inRecovery === null ? d.role : d.inRecovery ? 'replica' : 'primary',
            formatBytes(d.sizeBytes),
            d.connections ? `${d.connections.total}/${d.connections.max}` : '-',
            d.findings
              ? [
                  d.findings.critical ? pc.red(`${d.findings.critical} critical`) : '',
                  d.findings.warning ? pc.yellow(`${d.findings.warning} warning`) : '',
                  d.findings.info ? `${d.findings.info} info` : '',
                ]
                  .filter(Boolean)
                  .join(', ') || pc.green('none')
              : '-',
            ago(d.lastCollectedAt),
            d.service ?? '-',
          ],
        );
      }),
    );

  db.command('health')
    .description('advisor findings by severity, with evidence and the SQL that would fix each')
    .argument('<db>', 'database id')
    .option('--refresh', 'collect now instead of using the latest snapshot')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((id: string, options: Common & { refresh?: boolean }) =>
      run(options.json, async () => {
        const report = await api<HealthReport>(
          apiUrl(options.url),
          path(id, `/health${options.refresh ? '?refresh=true' : ''}`),
        );
        if (options.json) return printJson(report);
        printFindings(report);
        if (report.counts.critical > 0) process.exitCode = 2;
      }),
    );

  db.command('queries')
    .description('slow (default), long-running, blocking or idle-in-transaction queries')
    .argument('<db>', 'database id')
    .option('--slow', 'slow statements from pg_stat_statements (default)')
    .option('--long-running', 'queries running longer than the threshold (60 s)')
    .option('--blocking', 'sessions blocking others, with what they block')
    .option('--idle', 'sessions idle in a transaction')
    .option('--refresh', 'collect now')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action(
      (
        id: string,
        options: Common & {
          slow?: boolean;
          longRunning?: boolean;
          blocking?: boolean;
          idle?: boolean;
          refresh?: boolean;
        },
      ) =>
        run(options.json, async () => {
          const kind = options.longRunning
            ? 'long-running'
            : options.blocking
              ? 'blocking'
              : options.idle
                ? 'idle-in-transaction'
                : 'slow';
          const body = await api<{ kind: string; collectedAt: number; items: unknown[] }>(
            apiUrl(options.url),
            path(id, `/queries?kind=${kind}${options.refresh ? '&refresh=true' : ''}`),
          );
          if (options.json) return printJson(body);
          if (kind === 'slow')
            return printList(
              false,
              body,
              body.items as StatementRow[],
              'no slow queries (or pg_stat_statements is missing: see opsbook db health)',
              ['MEAN', 'CALLS', 'TOTAL', '% TIME', 'QUERY'],
              (q) => [
                `${q.meanMs.toFixed(1)} ms`,
                String(q.calls),
                `${Math.round(q.totalMs)} ms`,
                `${q.totalPercent.toFixed(1)}`,
                oneLine(q.query, 100),
              ],
            );
          if (kind === 'blocking')
            return printList(
              false,
              body,
              body.items as BlockingPair[],
              'no blocked queries',
              ['BLOCKING PID', 'STATE', 'FOR', 'BLOCKED PID', 'WAITING', 'BLOCKED QUERY'],
              (b) => [
                String(b.blockingPid),
                b.blockingState ?? '-',
                seconds(b.blockingDurationMs),
                String(b.blockedPid),
                seconds(b.blockedDurationMs),
                oneLine(b.blockedQuery, 80),
              ],
            );
          printList(
            false,
            body,
            body.items as ActivityRow[],
            kind === 'long-running' ? 'no long-running queries' : 'no sessions idle in transaction',
            ['PID', 'USER', 'STATE', 'FOR', 'APPLICATION', 'QUERY'],
            (a) => [
              String(a.pid),
              a.user ?? '-',
              a.state ?? '-',
              seconds(a.durationMs),
              a.application || '-',
              oneLine(a.query, 80),
            ],
          );
        }),
    );

  db.command('maintenance')
    .description('maintenance tasks with schedule, next run and last outcome; `run <task>` runs one now')
    .argument('<db>', 'database id')
    .argument('[action]', 'run')
    .argument('[task]', 'vacuum-analyze, size-review, slow-query-review or index-review')
    .option('--no-wait', 'with run: return once started instead of waiting for the outcome')
    .option('--as <name>', 'who runs it (default $OPSBOOK_USER or the OS user)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action(
      (
        id: string,
        action: string | undefined,
        task: string | undefined,
        options: Common & { wait: boolean; as?: string },
      ) =>
        run(options.json, async () => {
          const base = apiUrl(options.url);
          if (action !== undefined && action !== 'run')
            throw new Error(`unknown action "${action}"; use: opsbook db maintenance ${id} run <task>`);
          if (action === 'run') {
            if (!task) throw new Error(`name the task: opsbook db maintenance ${id} run vacuum-analyze`);
            return runMaintenance(id, task, options);
          }
          const list = await api<{ items: MaintenanceTaskView[] }>(base, path(id, '/maintenance'));
          printList(
            options.json,
            list,
            list.items,
            'no maintenance tasks',
            ['TASK', 'SCHEDULE', 'NEXT', 'LAST', 'OUTCOME', 'MESSAGE'],
            (t) => [
              t.task,
              t.enabled ? `${t.schedule} (${t.timezone})` : pc.dim('disabled'),
              t.nextRunAt ? new Date(t.nextRunAt).toISOString().replace('T', ' ').slice(0, 16) : '-',
              t.running ? pc.yellow('running') : ago(t.lastRun?.startedAt),
              t.lastRun ? status(t.lastRun.status) : '-',
              oneLine(t.lastRun?.message ?? '', 70),
            ],
          );
        }),
    );

  db.command('vacuum')
    .description(
      'VACUUM (ANALYZE) every table now, one at a time (the weekly vacuum-analyze task); never VACUUM FULL',
    )
    .argument('<db>', 'database id')
    .option('--no-wait', 'return once started instead of waiting for the outcome')
    .option('--as <name>', 'who runs it (default $OPSBOOK_USER or the OS user)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((id: string, options: Common & { wait: boolean; as?: string }) =>
      run(options.json, () => runMaintenance(id, 'vacuum-analyze', options)),
    );

  for (const kind of ['cancel', 'terminate'] as const)
    db.command(kind)
      .description(
        kind === 'cancel'
          ? 'cancel the query of a backend (pg_cancel_backend); destructive: asks first, audited'
          : 'end a backend session (pg_terminate_backend); destructive: asks first, audited',
      )
      .argument('<db>', 'database id')
      .argument('<pid>', 'the backend pid (see opsbook db queries --long-running)')
      .option('-y, --yes', 'do not ask (needed when not on a terminal)')
      .option('-r, --reason <text>', 'why, for the audit log')
      .option('--as <name>', 'who does it (default $OPSBOOK_USER or the OS user)')
      .option('--url <url>', 'Opsbook server URL')
      .option('--json', 'print as JSON')
      .action(
        (id: string, pidText: string, options: Common & { yes?: boolean; reason?: string; as?: string }) =>
          run(options.json, async () => {
            const pid = Number(pidText);
            if (!Number.isInteger(pid) || pid <= 0)
              throw new Error(`pid must be a positive whole number, not "${pidText}"`);
            const base = apiUrl(options.url);
            let confirmed = options.yes === true;
            if (!confirmed && process.stdin.isTTY) {
              const backends = await api<{ items: ActivityRow[] }>(base, path(id, '/backends'));
              const target = backends.items.find((b) => b.pid === pid);
              if (target)
                process.stderr.write(
                  `pid ${pid}: ${target.user ?? '?'} ${target.state ?? ''} for ${seconds(target.durationMs)}: ${oneLine(target.query, 100)}\n`,
                );
              confirmed = await confirm(
                `${kind === 'cancel' ? 'Cancel the query of' : 'Terminate the session of'} pid ${pid} on ${id}?`,
              );
            }
            // Unconfirmed requests go to the server too: it refuses them and writes the refusal to the audit log.
            const response = await fetch(`${base}${path(id, `/backends/${pid}/${kind}`)}`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                accept: 'application/json',
                'x-opsbook-source': 'cli',
                ...authHeaders(base),
              },
              body: JSON.stringify({
                confirm: confirmed,
                actor: actorName(options.as),
                reason: options.reason,
              }),
            }).catch(() => undefined);
            if (!confirmed) {
              const why = process.stdin.isTTY
                ? 'not confirmed'
                : 'stdin is not a terminal, so nobody could confirm; pass --yes to do it anyway';
              throw new Error(`${kind} of pid ${pid} refused: ${why}`);
            }
            // Unreachable: the same request through api() reports why, with what to do.
            if (!response) return void (await api(base, path(id)));
            const body = (await response.json()) as BackendActionResult & { error?: { message: string } };
            if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
            if (options.json) return printJson(body);
            write(body.message);
            if (body.stillRunning) process.exitCode = 1;
          }),
      );

  db.command('audit')
    .description('cancel and terminate requests for a database, done or refused, newest first')
    .argument('<db>', 'database id')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((id: string, options: Common) =>
      run(options.json, async () => {
        const list = await api<{ items: BackendAuditEntry[] }>(
          apiUrl(options.url),
          path(id, '/backends/audit'),
        );
        printList(
          options.json,
          list,
          list.items,
          'no cancel or terminate requests yet',
          ['AT', 'ACTOR', 'ACTION', 'PID', 'OUTCOME', 'SOURCE', 'MESSAGE'],
          (a) => [
            new Date(a.at).toISOString().replace('T', ' ').slice(0, 19),
            a.actor,
            a.action,
            String(a.pid),
            a.outcome === 'done' ? pc.green(a.outcome) : pc.yellow(a.outcome),
            a.source,
            oneLine(a.message, 70),
          ],
        );
      }),
    );
}

/** Starts a maintenance task and, unless --no-wait, follows it with a progress line until it ends. */
async function runMaintenance(
  id: string,
  task: string,
  options: Common & { wait: boolean; as?: string },
): Promise<void> {
  const base = apiUrl(options.url);
  let runView = await api<MaintenanceRunView>(
    base,
    path(id, `/maintenance/${encodeURIComponent(task)}/runs`),
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: actorName(options.as) }),
    },
  );
  let shown = '';
  while (options.wait && runView.status === 'running') {
    if (!options.json && runView.progress) {
      const line = `${runView.progress.done}/${runView.progress.total} ${runView.progress.current ?? ''}`;
      // A terminal gets one line redrawn; a log gets a line per table.
      if (line !== shown)
        process.stderr.write(process.stderr.isTTY ? `\r${pc.dim(line)}\x1b[K` : `${line}\n`);
      shown = line;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
    runView = await api<MaintenanceRunView>(base, path(id, `/maintenance/runs/${runView.id}`));
  }
  if (shown && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  if (options.json) return printJson(runView);
  write(
    `${task} on ${id}: ${status(runView.status)}${runView.durationMs !== null ? ` in ${seconds(runView.durationMs)}` : ''}${runView.message ? `: ${runView.message}` : ''} (run ${runView.id})`,
  );
  if (runView.status === 'failed') process.exitCode = 1;
}
