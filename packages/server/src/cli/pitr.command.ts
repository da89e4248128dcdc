import type { Command } from 'commander';
import type { PitrBackupRun, PitrCheck, PitrInfo, PitrRestore, PitrSetupResult } from '@opsbook/contracts';
import pc from 'picocolors';
import { actorName, api, apiUrl, postJson } from './api-client.js';
import { ago, confirm, fail, printJson, printList, printTable, span, timestamp } from './output.js';
import { formatBytes } from '../lib/format.js';

interface Common {
  url?: string;
  json?: boolean;
  as?: string;
}

async function run(json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, json);
  }
}

function statusColour(status: string): string {
  if (['ok', 'succeeded', 'ready'].includes(status)) return pc.green(status);
  if (['error', 'failed'].includes(status)) return pc.red(status);
  return pc.yellow(status);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One line per phase; on a terminal the percentage updates in place. */
function progressPrinter(json: boolean | undefined) {
  let last = '';
  const tty = process.stderr.isTTY && !json;
  return {
    update(label: string, fraction: number) {
      if (json) return;
      const percent = `${Math.round(fraction * 100)}%`.padStart(4);
      if (tty) process.stderr.write(`\r${percent} ${label}\x1b[K`);
      else if (label !== last) process.stderr.write(`${percent} ${label}\n`);
      last = label;
    },
    done() {
      if (tty && last) process.stderr.write('\n');
    },
  };
}

function withCommon(command: Command): Command {
  return command
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON');
}

export function registerPitrCommands(program: Command): void {
  const pitr = program
    .command('pitr')
    .description('point-in-time recovery with pgBackRest: window, backups, restores into a new cluster');

  withCommon(pitr.command('info').description('the recoverable window and the backups in the repository'))
    .argument('<database>', 'database id from the config')
    .action((database: string, options: Common) =>
      run(options.json, async () => {
        const info = await api<PitrInfo>(
          apiUrl(options.url),
          `/api/v1/databases/${encodeURIComponent(database)}/pitr`,
        );
        if (options.json) return printJson(info);
        const out = (line: string) => process.stdout.write(`${line}\n`);
        out(`${pc.bold(info.database)} (stanza ${info.stanza}): ${statusColour(info.status.message)}`);
        out(
          info.window
            ? `recoverable window: ${timestamp(info.window.earliest)} .. ${timestamp(info.window.latest)} UTC (${span(info.window.latest - info.window.earliest)})`
            : 'recoverable window: none yet (no backup); run `opsbook pitr backup ' + info.database + '`',
        );
        if (info.archive) out(`WAL archive: ${info.archive.min ?? '-'} .. ${info.archive.max ?? '-'}`);
        out(
          `last successful backup: ${info.lastSuccessAt ? `${timestamp(info.lastSuccessAt)} (${ago(info.lastSuccessAt)})` : 'never'}`,
        );
        const next = info.schedule.next;
        out(
          `next: full ${timestamp(next.full)}, diff ${timestamp(next.diff)}${info.schedule.incr ? `, incr ${timestamp(next.incr)}` : ''} (${info.schedule.timezone})`,
        );
        out('');
        printList(
          false,
          info,
          info.backups,
          'no backups in the repository',
          ['LABEL', 'TYPE', 'STARTED', 'STOPPED', 'DATABASE', 'REPOSITORY'],
          (b) => [
            b.label,
            b.type,
            timestamp(b.startedAt),
            timestamp(b.stoppedAt),
            formatBytes(b.sizeBytes),
            formatBytes(b.repoSizeBytes),
          ],
        );
      }),
    );

  withCommon(
    pitr
      .command('check')
      .description('what PITR needs from the server (wal_level, archive_mode, archive_command...)'),
  )
    .argument('<database>', 'database id from the config')
    .action((database: string, options: Common) =>
      run(options.json, async () => {
        const check = await api<PitrCheck>(
          apiUrl(options.url),
          `/api/v1/databases/${encodeURIComponent(database)}/pitr/check`,
        );
        if (!check.ok) process.exitCode = 1;
        if (options.json) return printJson(check);
        printTable(
          ['CHECK', 'STATUS', 'MESSAGE'],
          check.findings.map((f) => [f.id, statusColour(f.status), f.message]),
        );
        const fixes = check.findings.filter((f) => f.fix && f.status !== 'ok');
        if (fixes.length > 0)
          process.stdout.write(`\nto fix:\n${fixes.map((f) => `  ${f.id}: ${f.fix}`).join('\n')}\n`);
      }),
    );

  withCommon(pitr.command('setup').description('create the pgBackRest stanza and check WAL archiving'))
    .argument('<database>', 'database id from the config')
    .option('--as <name>', 'who does it (default $OPSBOOK_USER or the OS user)')
    .action((database: string, options: Common) =>
      run(options.json, async () => {
        const result = await postJson<PitrSetupResult>(
          apiUrl(options.url),
          `/api/v1/databases/${encodeURIComponent(database)}/pitr/setup`,
          { actor: actorName(options.as) },
        );
        if (options.json) return printJson(result);
        process.stdout.write(
          `stanza ${result.stanza} ready (config ${result.configFile}); WAL reaches the repository\n`,
        );
      }),
    );

  withCommon(pitr.command('backup').description('take a pgBackRest backup now and wait for it'))
    .argument('<database>', 'database id from the config')
    .option('-t, --type <type>', 'full, diff or incr', 'full')
    .option('--no-wait', 'return once it started')
    .option('--as <name>', 'who does it (default $OPSBOOK_USER or the OS user)')
    .action((database: string, options: Common & { type: string; wait: boolean }) =>
      run(options.json, async () => {
        const base = apiUrl(options.url);
        let backup = await postJson<PitrBackupRun>(
          base,
          `/api/v1/databases/${encodeURIComponent(database)}/pitr/backups`,
          {
            type: options.type,
            actor: actorName(options.as),
          },
        );
        const progress = progressPrinter(options.json);
        while (options.wait && backup.status === 'running') {
          progress.update(`${backup.type} backup ${backup.id} of ${database}`, backup.progress);
          await sleep(500);
          backup = await api<PitrBackupRun>(base, `/api/v1/pitr-backups/${backup.id}`);
        }
        progress.done();
        if (backup.status === 'failed') process.exitCode = 1;
        if (options.json) return printJson(backup);
        if (backup.status === 'running')
          process.stdout.write(`backup ${backup.id} started (${backup.type})\n`);
        else if (backup.status === 'failed')
          process.stderr.write(`${pc.red('error:')} backup ${backup.id} failed: ${backup.error}\n`);
        else
          process.stdout.write(
            `backup ${backup.id} succeeded: ${backup.label}, database ${formatBytes(backup.sizeBytes)}, repository ${formatBytes(backup.repoSizeBytes)}, took ${span(backup.durationMs ?? 0)}\n`,
          );
      }),
    );

  withCommon(
    pitr
      .command('restore')
      .description(
        'restore the database as it was at --time into a NEW data directory and port, start it and wait until it is promoted',
      ),
  )
    .argument('<database>', 'database id from the config')
    .requiredOption(
      '--time <iso>',
      'the moment to restore to, ISO 8601 with a zone, e.g. 2026-01-15T10:30:00Z',
    )
    .requiredOption('--data-dir <path>', 'a new, empty data directory on the database host')
    .requiredOption('--port <n>', 'a free port for the restored cluster')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--no-wait', 'return once it started')
    .option('--as <name>', 'who does it (default $OPSBOOK_USER or the OS user)')
    .action(
      (
        database: string,
        options: Common & { time: string; dataDir: string; port: string; yes?: boolean; wait: boolean },
      ) =>
        run(options.json, async () => {
          const port = Number(options.port);
          if (!Number.isInteger(port) || port < 1 || port > 65535)
            throw new Error(`--port ${options.port} is not a port number (1-65535)`);
          const what = `start a new PostgreSQL cluster for ${database} as of ${options.time} in ${options.dataDir} on port ${port}`;
          if (!options.yes) {
            if (!process.stdin.isTTY) throw new Error(`this would ${what}; pass --yes to confirm`);
            if (!(await confirm(`This will ${what}. Go ahead?`)))
              throw new Error('not confirmed; nothing done');
          }
          const base = apiUrl(options.url);
          let restore = await postJson<PitrRestore>(
            base,
            `/api/v1/databases/${encodeURIComponent(database)}/pitr/restores`,
            {
              targetTime: options.time,
              pgData: options.dataDir,
              port,
              confirm: true,
              actor: actorName(options.as),
            },
          );
          const progress = progressPrinter(options.json);
          while (options.wait && restore.status === 'running') {
            progress.update(`${restore.phase}: ${restore.message}`, restore.progress);
            await sleep(500);
            restore = await api<PitrRestore>(base, `/api/v1/pitr-restores/${restore.id}`);
          }
          progress.done();
          if (restore.status === 'failed') process.exitCode = 1;
          if (options.json) return printJson(restore);
          if (restore.status === 'running')
            process.stdout.write(`restore ${restore.id} started; follow it with \`opsbook pitr restores\`\n`);
          else if (restore.status === 'failed')
            process.stderr.write(`${pc.red('error:')} restore ${restore.id} failed: ${restore.error}\n`);
          else
            process.stdout.write(
              [
                `restored ${database} to ${timestamp(restore.targetTime)} UTC in ${span(restore.durationMs ?? 0)} (restore ${restore.id})`,
                `  connect:     ${restore.connectionUrl}`,
                `  data dir:    ${restore.pgData}`,
                `  backup set:  ${restore.backupLabel ?? '-'}`,
                `  last replayed transaction: ${restore.recoveredTo ?? '-'}`,
                `  when done:   opsbook pitr remove ${restore.id}`,
                '',
              ].join('\n'),
            );
        }),
    );

  withCommon(pitr.command('restores').description('restores, newest first'))
    .argument('[database]', 'only this database')
    .action((database: string | undefined, options: Common) =>
      run(options.json, async () => {
        const query = database ? `?database=${encodeURIComponent(database)}` : '';
        const list = await api<{ items: PitrRestore[] }>(
          apiUrl(options.url),
          `/api/v1/pitr-restores${query}`,
        );
        printList(
          options.json,
          list,
          list.items,
          'no restores',
          ['ID', 'DATABASE', 'STATUS', 'TARGET', 'PORT', 'DATA DIR', 'RUNNING', 'TOOK', 'DETAIL'],
          (r) => [
            r.id,
            r.database,
            statusColour(r.status),
            timestamp(r.targetTime),
            String(r.port),
            r.pgData,
            r.clusterRunning ? 'yes' : 'no',
            r.durationMs == null ? '-' : span(r.durationMs),
            r.error ?? (r.status === 'running' ? `${r.phase}: ${r.message}` : (r.connectionUrl ?? '')),
          ],
        );
      }),
    );

  withCommon(pitr.command('stop').description('shut a restored cluster down (its data directory stays)'))
    .argument('<restore>', 'restore id (see pitr restores)')
    .option('--as <name>', 'who does it (default $OPSBOOK_USER or the OS user)')
    .action((id: string, options: Common) =>
      run(options.json, async () => {
        const restore = await postJson<PitrRestore>(
          apiUrl(options.url),
          `/api/v1/pitr-restores/${encodeURIComponent(id)}/stop`,
          {
            actor: actorName(options.as),
          },
        );
        if (options.json) return printJson(restore);
        process.stdout.write(`restored cluster ${restore.id} stopped; data kept in ${restore.pgData}\n`);
      }),
    );

  withCommon(
    pitr.command('remove').description('destructive: stop a restored cluster and delete its data directory'),
  )
    .argument('<restore>', 'restore id (see pitr restores)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--as <name>', 'who does it (default $OPSBOOK_USER or the OS user)')
    .action((id: string, options: Common & { yes?: boolean }) =>
      run(options.json, async () => {
        const base = apiUrl(options.url);
        const restore = await api<PitrRestore>(base, `/api/v1/pitr-restores/${encodeURIComponent(id)}`);
        const what = `stop restore ${id} and delete ${restore.pgData}`;
        if (!options.yes) {
          if (!process.stdin.isTTY) throw new Error(`this would ${what}; pass --yes to confirm`);
          if (!(await confirm(`This will ${what}. Go ahead?`)))
            throw new Error('not confirmed; nothing done');
        }
        const params = new URLSearchParams({ confirm: 'true', actor: actorName(options.as) });
        const removed = await api<PitrRestore>(
          base,
          `/api/v1/pitr-restores/${encodeURIComponent(id)}?${params}`,
          {
            method: 'DELETE',
          },
        );
        if (options.json) return printJson(removed);
        process.stdout.write(`restore ${removed.id} removed: cluster stopped, ${removed.pgData} deleted\n`);
      }),
    );
}
