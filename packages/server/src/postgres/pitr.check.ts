// What PITR needs from the server and this host, checked one by one so `pitr check` says exactly
// what is missing instead of an archive that silently never fills.
import type { PitrCheck, PitrFinding } from '@opsbook/contracts';
import { archiveCommand, type PitrSettings } from './pitr.config.js';
import { withConnection } from './pitr.connection.js';
import { canAccess } from './pitr.exec.js';
import type { PgBackRest } from './pgbackrest.js';

interface ServerSettings {
  /** null: the role may not read it. */
  wal_level: string | null;
  archive_mode: string | null;
  archive_command: string | null;
  archive_timeout: string | null;
  port: string | null;
  data_directory: string | null;
  failed_count: string;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
  last_archived_wal: string | null;
  last_archived_time: Date | null;
}

export async function checkPitr(settings: PitrSettings, pgbackrest: PgBackRest): Promise<PitrCheck> {
  const findings: PitrFinding[] = [];
  const add = (id: string, status: PitrFinding['status'], message: string, fix: string | null = null) =>
    findings.push({ id, status, message, fix });
  const command = archiveCommand(settings);

  try {
    add('pgbackrest', 'ok', await pgbackrest.version());
  } catch (error) {
    add(
      'pgbackrest',
      'error',
      (error as Error).message,
      'apt-get install -y pgbackrest on the database host',
    );
  }
  if (await canAccess(settings.pgUser, 'r', settings.configFile))
    add('config-file', 'ok', `${settings.pgUser} can read ${settings.configFile}`);
  else
    add(
      'config-file',
      'error',
      `${settings.pgUser} cannot read ${settings.configFile}, so archive-push fails`,
      `set pitr.configFile to a path ${settings.pgUser} can reach (e.g. /etc/pgbackrest/conf.d/${settings.stanza}.conf) or open the folders on the way`,
    );

  let server: ServerSettings | undefined;
  try {
    server = await withConnection(settings, async (client) => {
      // One statement per setting: archive_command and data_directory need pg_read_all_settings.
      const setting = async (name: string) =>
        client
          .query<{ value: string }>('select current_setting($1) as value', [name])
          .then((r) => r.rows[0]?.value ?? null)
          .catch(() => null);
      const { rows } = await client.query<ServerSettings>(
        `select failed_count::text, last_failed_wal, last_failed_time, last_archived_wal, last_archived_time
           from pg_stat_archiver`,
      );
      return {
        ...rows[0]!,
        wal_level: await setting('wal_level'),
        archive_mode: await setting('archive_mode'),
        archive_command: await setting('archive_command'),
        archive_timeout: await setting('archive_timeout'),
        port: await setting('port'),
        data_directory: await setting('data_directory'),
      };
    });
  } catch (error) {
    add(
      'connect',
      'error',
      `cannot read the server's settings: ${(error as Error).message}`,
      'check the database url and password; the other server checks were skipped',
    );
  }
  if (server) serverFindings(settings, server, command, add);
  return {
    database: settings.database,
    ok: !findings.some((f) => f.status === 'error'),
    findings,
    archiveCommand: command,
  };
}

function serverFindings(
  settings: PitrSettings,
  server: ServerSettings,
  command: string,
  add: (id: string, status: PitrFinding['status'], message: string, fix?: string | null) => void,
): void {
  if (server.wal_level === 'minimal')
    add(
      'wal_level',
      'error',
      'wal_level is minimal: the WAL lacks what archive recovery replays',
      'set wal_level = replica in postgresql.conf and restart PostgreSQL',
    );
  else add('wal_level', 'ok', `wal_level is ${server.wal_level}`);

  if (server.archive_mode === 'off')
    add(
      'archive_mode',
      'error',
      'archive_mode is off: no WAL reaches the repository, so nothing after a backup can be restored',
      'set archive_mode = on in postgresql.conf and restart PostgreSQL',
    );
  else add('archive_mode', 'ok', `archive_mode is ${server.archive_mode}`);

  archiveCommandFinding(settings, server.archive_command, command, add);

  if (server.archive_timeout === '0')
    add(
      'archive_timeout',
      'warning',
      'archive_timeout is 0: on a quiet server a WAL segment can take hours to fill, and commits in it cannot be restored until it is archived',
      'set archive_timeout = 60s so at most a minute of commits waits for the archive (Azure keeps this under 5 minutes)',
    );
  else add('archive_timeout', 'ok', `archive_timeout is ${server.archive_timeout}`);

  const failedAt = server.last_failed_time?.getTime();
  const archivedAt = server.last_archived_time?.getTime();
  if (failedAt !== undefined && (archivedAt === undefined || failedAt > archivedAt))
    add(
      'archiver',
      'error',
      `archiving is failing: WAL ${server.last_failed_wal} failed at ${new Date(failedAt).toISOString()} (${server.failed_count} failures so far)${archivedAt ? `; last success ${new Date(archivedAt).toISOString()}` : ''}`,
      "the PostgreSQL log has archive-push's error; run `opsbook pitr setup` if the stanza does not exist yet",
    );
  else
    add(
      'archiver',
      'ok',
      archivedAt
        ? `last WAL archived: ${server.last_archived_wal} at ${new Date(archivedAt).toISOString()}`
        : 'no WAL archived yet',
    );

  if (server.data_directory !== null && server.data_directory !== settings.pgData)
    add(
      'pgData',
      'error',
      `pitr.pgData is ${settings.pgData} but the server's data_directory is ${server.data_directory}`,
      `set pitr.pgData: ${server.data_directory}`,
    );
  if (server.port !== null && Number(server.port) !== settings.pgPort)
    add(
      'pgPort',
      'error',
      `pitr.pgPort is ${settings.pgPort} but the server listens on ${server.port}`,
      `set pitr.pgPort: ${server.port}`,
    );
}

function archiveCommandFinding(
  settings: PitrSettings,
  current: string | null,
  command: string,
  add: (id: string, status: PitrFinding['status'], message: string, fix?: string | null) => void,
): void {
  if (current === null) {
    add(
      'archive_command',
      'warning',
      'the database role may not read archive_command, so it was not checked',
      `GRANT pg_read_all_settings TO the role in the url, or check by hand that archive_command = '${command}'`,
    );
    return;
  }
  const cmd = current.trim();
  const needed = [
    'pgbackrest',
    `--stanza=${settings.stanza}`,
    'archive-push',
    `--config=${settings.configFile}`,
  ];
  const missing = needed.filter((part) => !cmd.includes(part));
  if (missing.length > 0)
    add(
      'archive_command',
      'error',
      cmd === '' || cmd === '(disabled)'
        ? 'archive_command is not set'
        : `archive_command "${cmd}" lacks ${missing.join(', ')}`,
      `set archive_command = '${command}' in postgresql.conf, then SELECT pg_reload_conf()`,
    );
  else add('archive_command', 'ok', 'archive_command pushes to this stanza');
}
