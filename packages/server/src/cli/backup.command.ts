import { createInterface } from 'node:readline/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { BackupSummary, BackupView, RestoreJobView, VerifyReportView } from '@opsbook/contracts';
import pc from 'picocolors';
import { actorName, api, apiUrl, postJson } from './api-client.js';
import { ago, fail, printJson, printList, printTable, span, timestamp } from './output.js';
import { formatBytes } from '../lib/format.js';

interface Common {
  url?: string;
  json?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function statusColour(status: string): string {
  return status === 'succeeded' || status === 'copied'
    ? pc.green(status)
    : status === 'failed' || status === 'cancelled'
      ? pc.red(status)
      : pc.yellow(status);
}

function took(b: { startedAt: number; finishedAt: number | null }): string {
  return b.finishedAt === null ? '-' : span(b.finishedAt - b.startedAt);
}

async function run(json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, json);
  }
}

function withCommon(command: Command): Command {
  return command
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON');
}

function printBackup(b: BackupView): void {
  const out = process.stdout;
  const line = (label: string, value: string) => out.write(`${label.padEnd(14)}${value}\n`);
  line('backup', b.id);
  line('database', b.database);
  line('status', statusColour(b.status));
  line('trigger', b.trigger);
  line('started', `${timestamp(b.startedAt)} UTC (${ago(b.startedAt)})`);
  line('took', took(b));
  line('size', formatBytes(b.sizeBytes));
  line('path', b.path);
  if (b.error) line('error', pc.red(b.error));
  const m = b.manifest;
  if (m) {
    line('server', `PostgreSQL ${m.serverVersion}, database ${m.dbname}`);
    line('data as of', `${timestamp(m.snapshotAt)} UTC (WAL ${m.walLsn ?? '-'})`);
    line(
      'dump',
      `pg_dump directory format, ${m.jobs} jobs, compression ${m.compression}, ${m.files.length} files`,
    );
    out.write('\n');
    printTable(
      ['TABLE', 'ROWS', 'SIZE'],
      m.tables.map((t) => [`${t.schema}.${t.name}`, String(t.rows), formatBytes(t.bytes)]),
    );
  }
  if (b.copies.length > 0) {
    out.write('\n');
    printTable(
      ['COPY', 'STATUS', 'AT', 'LOCATION', 'ERROR'],
      b.copies.map((c) => [c.target, statusColour(c.status), timestamp(c.at), c.location, c.error ?? '']),
    );
  }
}

/** Asks for the database name again; only someone at a terminal can confirm a destructive restore. */
async function confirmName(name: string, backup: string): Promise<boolean> {
  process.stderr.write(
    `${pc.red('destructive:')} restoring backup ${backup} with --force replaces database "${name}" if it exists.\n` +
      'Its sessions are ended and its current data is dropped once the restore has completed.\n',
  );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`Type the database name to confirm: `)).trim() === name;
  } finally {
    rl.close();
  }
}

/** Follows a restore job: a progress bar on a terminal, a line per phase and 10 % otherwise. */
async function follow(base: string, job: RestoreJobView, json: boolean | undefined): Promise<RestoreJobView> {
  const tty = process.stderr.isTTY && !json;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: '{phase} [{bar}] {percentage}% | {message}',
          hideCursor: true,
          stream: process.stderr,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(100, 0, { phase: job.progress.phase.padEnd(15), message: job.progress.message });
  let lastPhase = '';
  let lastStep = -1;
  let current = job;
  // Ctrl-C cancels the restore on the server (dropping the half-restored database) before exiting.
  const interrupt = () => {
    bar?.stop();
    process.stderr.write('cancelling the restore...\n');
    void postJson(base, `/api/v1/restores/${job.id}/cancel`, {}).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  try {
    for (;;) {
      const percent = Math.floor(current.progress.fraction * 100);
      if (bar)
        bar.update(percent, { phase: current.progress.phase.padEnd(15), message: current.progress.message });
      else if (!json && (current.progress.phase !== lastPhase || Math.floor(percent / 10) > lastStep)) {
        process.stdout.write(
          `restore ${job.id}: ${current.progress.phase} ${percent}% ${current.progress.message}\n`,
        );
        lastPhase = current.progress.phase;
        lastStep = Math.floor(percent / 10);
      }
      if (current.status !== 'running') break;
      await sleep(250);
      current = await api<RestoreJobView>(base, `/api/v1/restores/${job.id}`);
    }
  } finally {
    process.removeListener('SIGINT', interrupt);
    bar?.stop();
  }
  return current;
}

export function registerBackupCommands(program: Command): void {
  const backup = program
    .command('backup')
    .description('PostgreSQL backups (pg_dump), their off-site copies, verification and restore');

  withCommon(backup.command('list').description('backups, newest first'))
    .option('-d, --database <id>', 'only this database')
    .option('--status <status>', 'running, succeeded or failed')
    .option('--limit <n>', 'at most this many', '50')
    .action((options: Common & { database?: string; status?: string; limit: string }) =>
      run(options.json, async () => {
        const params = new URLSearchParams({ limit: options.limit });
        if (options.database) params.set('database', options.database);
        if (options.status) params.set('status', options.status);
        const body = await api<{ items: BackupSummary[] }>(apiUrl(options.url), `/api/v1/backups?${params}`);
        printList(
          options.json,
          body,
          body.items,
          'no backups yet; take one with: opsbook backup run <database>',
          ['ID', 'STATUS', 'TRIGGER', 'STARTED', 'TOOK', 'SIZE', 'TABLES', 'COPIES'],
          (b) => [
            b.id,
            statusColour(b.status),
            b.trigger,
            `${timestamp(b.startedAt)} (${ago(b.startedAt)})`,
            took(b),
            formatBytes(b.sizeBytes),
            b.tables === null ? '-' : String(b.tables),
            b.copies.map((c) => `${c.target}:${statusColour(c.status)}`).join(' ') || '-',
          ],
        );
      }),
    );

  withCommon(backup.command('run').description('back up a database now'))
    .argument('<database>', 'database id from the config')
    .option('-w, --wait', 'wait until it has finished (exit 1 if it failed)')
    .action((database: string, options: Common & { wait?: boolean }) =>
      run(options.json, async () => {
        const base = apiUrl(options.url);
        let record = await postJson<BackupView>(
          base,
          `/api/v1/databases/${encodeURIComponent(database)}/backups`,
          {},
        );
        if (!options.wait) {
          if (options.json) return printJson(record);
          process.stdout.write(
            `backup ${record.id} of ${database} started; follow it with: opsbook backup show ${record.id}\n`,
          );
          return;
        }
        if (!options.json) process.stderr.write(`backing up ${database} (${record.id})...\n`);
        // Until the dump has finished and each copy has had its first attempt (a retrying copy has an error).
        while (record.status === 'running' || record.copies.some((c) => c.status === 'pending' && !c.error)) {
          await sleep(500);
          record = await api<BackupView>(base, `/api/v1/backups/${record.id}`);
        }
        if (options.json) printJson(record);
        else printBackup(record);
        if (record.status === 'failed') process.exitCode = 1;
      }),
    );

  withCommon(backup.command('show').description('one backup: manifest, tables with row counts, copies'))
    .argument('<id>', 'backup id')
    .action((id: string, options: Common) =>
      run(options.json, async () => {
        const record = await api<BackupView>(
          apiUrl(options.url),
          `/api/v1/backups/${encodeURIComponent(id)}`,
        );
        if (options.json) return printJson(record);
        printBackup(record);
      }),
    );

  withCommon(backup.command('verify').description('check every checksum now, locally and in each copy'))
    .argument('<id>', 'backup id')
    .action((id: string, options: Common) =>
      run(options.json, async () => {
        const report = await postJson<VerifyReportView>(
          apiUrl(options.url),
          `/api/v1/backups/${encodeURIComponent(id)}/verify`,
          {},
        );
        if (!report.ok) process.exitCode = 1;
        if (options.json) return printJson(report);
        printTable(
          ['WHERE', 'RESULT', 'FILES', 'LOCATION', 'PROBLEM'],
          report.locations.map((l) => [
            l.target,
            l.ok ? pc.green('ok') : pc.red('FAILED'),
            String(l.files),
            l.location,
            l.error ?? '',
          ]),
        );
      }),
    );

  withCommon(
    backup
      .command('restore')
      .description(
        'restore a backup into a new database (checksums are verified first); destructive with --force',
      ),
  )
    .argument('<id>', 'backup id')
    .requiredOption('--to <database>', 'name of the database to create')
    .option('--target-url <url>', "restore onto another server (default: the source database's server)")
    .option('--force', 'replace the database if it exists, even the source itself (asks to confirm)')
    .option('-y, --yes', 'confirm --force without asking (for scripts)')
    .option('-j, --jobs <n>', 'pg_restore parallel jobs (default: as the backup was taken)')
    .option('--as <name>', 'who restores (default $OPSBOOK_USER or the OS user)')
    .action(
      (
        id: string,
        options: Common & {
          to: string;
          targetUrl?: string;
          force?: boolean;
          yes?: boolean;
          jobs?: string;
          as?: string;
        },
      ) =>
        run(options.json, async () => {
          const base = apiUrl(options.url);
          if (options.force && !options.yes) {
            if (!process.stdin.isTTY)
              throw new Error(
                '--force replaces a database; confirm with --yes when no one can type the name',
              );
            if (!(await confirmName(options.to, id)))
              throw new Error('the name did not match; nothing was restored');
          }
          const jobs = options.jobs === undefined ? undefined : Number(options.jobs);
          if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1))
            throw new Error(`--jobs must be a whole number of at least 1, not "${options.jobs}"`);
          const job = await postJson<RestoreJobView>(
            base,
            `/api/v1/backups/${encodeURIComponent(id)}/restore`,
            {
              to: options.to,
              targetUrl: options.targetUrl,
              force: options.force ?? false,
              confirm: options.force ? options.to : undefined,
              jobs,
              actor: actorName(options.as),
            },
          );
          const done = await follow(base, job, options.json);
          if (options.json) {
            printJson(done);
            if (done.status !== 'succeeded') process.exitCode = 1;
            return;
          }
          if (done.status !== 'succeeded') return fail(`restore ${done.status}: ${done.error}`);
          const result = done.result!;
          process.stdout.write(
            `restored backup ${result.backupId} into ${done.to} in ${span(result.finishedAt - result.startedAt)} ` +
              `(${result.checksumsVerified} checksums verified): ${result.targetUrl}\n`,
          );
        }),
    );
}
