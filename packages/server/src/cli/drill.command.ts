import type { Command } from 'commander';
import type { DrillPhase, DrillReport, DrillSummary } from '@opsbook/contracts';
import pc from 'picocolors';
import { duration } from '../postgres/drill.report.js';
import { ApiError, actorName, api, apiUrl, authHeaders, postJson } from './api-client.js';
import { fail, printJson, printList, printTable, timestamp } from './output.js';

/** Exit codes of `drill run --wait`: scripts and CI can tell a broken backup from a slow restore. */
const EXIT = { passed: 0, failed: 1, 'missed-target': 2 } as const;

function statusColour(status: string): string {
  return status === 'passed'
    ? pc.green(status)
    : status === 'failed'
      ? pc.red(status)
      : status === 'running'
        ? pc.cyan(status)
        : pc.yellow(status);
}

function ms(value: number | null): string {
  return value === null ? '-' : duration(value);
}

async function run(json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, json);
  }
}

function phaseLine(phase: DrillPhase): string {
  const mark =
    phase.status === 'passed'
      ? pc.green('ok  ')
      : phase.status === 'skipped'
        ? pc.dim('skip')
        : phase.status === 'warning'
          ? pc.yellow('warn')
          : pc.red('FAIL');
  return `  ${mark}  ${phase.name.padEnd(16)} ${ms(phase.durationMs).padStart(8)}  ${phase.message}`;
}

function printSummary(report: DrillReport): void {
  const out = process.stdout;
  out.write(`drill ${report.id} of ${report.database}: ${statusColour(report.status)}\n`);
  if (report.backup)
    out.write(`  backup    ${report.backup.id} (data as of ${timestamp(report.backup.snapshotAt)} UTC)\n`);
  const target = (label: string, t: DrillReport['rto']) =>
    `  ${label}       ${ms(t.ms)} (target ${duration(t.targetMs)}${t.met === false ? `, ${pc.red('MISSED')}` : t.met ? ', met' : ''})\n`;
  out.write(target('RTO', report.rto));
  out.write(target('RPO', report.rpo));
  for (const problem of report.problems) out.write(`  ${pc.red('problem')}   ${problem}\n`);
  for (const warning of report.warnings) out.write(`  ${pc.yellow('warning')}   ${warning}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerDrillCommands(program: Command): void {
  const drill = program
    .command('drill')
    .description(
      'disaster-recovery drills: restore the latest backup into a scratch database, verify it, measure RTO and RPO',
    );

  drill
    .command('run')
    .description('start a drill of a database (as configured under databases:)')
    .argument('<database>', 'database id')
    .option('-w, --wait', 'follow the drill phase by phase; exit 0 passed, 1 failed, 2 missed target')
    .option('--as <name>', 'who starts it (default $OPSBOOK_USER or the OS user)')
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON (with --wait, the final report)')
    .action((database: string, options: { wait?: boolean; as?: string; url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const base = apiUrl(options.url);
        const started = await postJson<DrillReport>(
          base,
          `/api/v1/databases/${encodeURIComponent(database)}/drills`,
          {
            actor: actorName(options.as),
          },
        );
        if (!options.wait) {
          if (options.json) return printJson(started);
          process.stdout.write(
            `drill ${started.id} of ${database} started; follow it with: opsbook drill show ${started.id}\n`,
          );
          return;
        }
        if (!options.json) process.stdout.write(`drill ${started.id} of ${database} started\n`);
        const printed = new Set<string>();
        let report = started;
        for (;;) {
          for (const phase of report.phases)
            if (phase.status !== 'pending' && phase.status !== 'running' && !printed.has(phase.name)) {
              printed.add(phase.name);
              if (!options.json) process.stdout.write(`${phaseLine(phase)}\n`);
            }
          if (report.status !== 'running') break;
          await sleep(500);
          try {
            report = await api<DrillReport>(base, `/api/v1/drills/${started.id}`);
          } catch (error) {
            // A restart of Opsbook mid-drill: keep asking; the drill is recorded as interrupted.
            if (!(error instanceof ApiError) || error.status !== 0) throw error;
          }
        }
        if (options.json) printJson(report);
        else printSummary(report);
        process.exitCode = EXIT[report.status as keyof typeof EXIT];
      }),
    );

  drill
    .command('list')
    .description('drills, newest first')
    .option('-d, --database <id>', 'only this database')
    .option('-n, --limit <n>', 'how many', '20')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((options: { database?: string; limit: string; url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const params = new URLSearchParams({ limit: options.limit });
        if (options.database) params.set('database', options.database);
        const list = await api<{ items: DrillSummary[] }>(apiUrl(options.url), `/api/v1/drills?${params}`);
        printList(
          options.json,
          list,
          list.items,
          'no drills yet; start one with: opsbook drill run <database>',
          ['ID', 'DATABASE', 'STATUS', 'STARTED', 'RTO', 'RPO', 'BACKUP', 'PROBLEMS'],
          (d) => [
            d.id,
            d.database,
            statusColour(d.status === 'running' && d.phase ? `running (${d.phase})` : d.status),
            timestamp(d.startedAt),
            ms(d.rtoMs),
            ms(d.rpoMs),
            d.backupId ?? '-',
            String(d.problems),
          ],
        );
      }),
    );

  drill
    .command('show')
    .description('one drill: verdict, RTO and RPO against targets, phases and problems')
    .argument('<id>', 'drill id')
    .option('--markdown', 'print the full Markdown report')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print the JSON report')
    .action((id: string, options: { markdown?: boolean; url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const base = apiUrl(options.url);
        const path = `/api/v1/drills/${encodeURIComponent(id)}`;
        if (options.markdown && !options.json) {
          const response = await fetch(`${base}${path}/report.md`, { headers: authHeaders(base) }).catch(
            () => undefined,
          );
          if (response?.ok) {
            process.stdout.write(await response.text());
            return;
          }
        }
        // Also the error path of --markdown: api() words a 404 or an unreachable server.
        const report = await api<DrillReport>(base, path);
        if (options.json) return printJson(report);
        printSummary(report);
        printTable(
          ['PHASE', 'STATUS', 'DURATION', 'NOTE'],
          report.phases.map((p) => [p.name, statusColour(p.status), ms(p.durationMs), p.message]),
        );
      }),
    );
}
