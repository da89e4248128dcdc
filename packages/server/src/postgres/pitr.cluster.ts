// The restored cluster on this host: its new data directory, its configuration, pg_ctl start and
// stop as the owner, and the wait until recovery has reached the target and promoted.
import {
  appendFileSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { IntegrationError, InputError } from '../errors.js';
import { canAccess, execAs, userIds } from './pitr.exec.js';

export interface RestoredCluster {
  pgData: string;
  port: number;
  pgUser: string;
  /** Folder with pg_ctl, or undefined for the one on PATH. */
  binDir: string | undefined;
}

export const START_LOG = 'opsbook-restore.log';

/** Whether `inner` is `outer` or inside it. */
export function within(inner: string, outer: string): boolean {
  const a = resolve(inner);
  const b = resolve(outer);
  return a === b || a.startsWith(b.endsWith(sep) ? b : `${b}${sep}`);
}

/** Beside the data directory: a restore on the source's host cannot reuse the source's tablespace folders. */
export function tablespaceDir(pgData: string): string {
  return `${pgData}.tablespaces`;
}

/** Creates the new data directory (mode 0700, owned by the cluster owner); it must be new or empty. */
export async function prepareDataDir(pgData: string, pgUser: string): Promise<void> {
  if (!pgData.startsWith('/'))
    throw new InputError(`pgData must be an absolute path, not "${pgData}"`, 'pgData');
  const tablespaces = tablespaceDir(pgData);
  if (existsSync(tablespaces) && readdirSync(tablespaces).length > 0)
    throw new InputError(`${tablespaces} (where the restore puts tablespaces) is not empty`, 'pgData');
  if (existsSync(pgData)) {
    if (!statSync(pgData).isDirectory())
      throw new InputError(`pgData ${pgData} exists and is not a directory`, 'pgData');
    if (readdirSync(pgData).length > 0)
      throw new InputError(
        `pgData ${pgData} is not empty; a restore goes into a new or empty directory, never over data`,
        'pgData',
      );
  } else {
    // Parents Opsbook creates stay open to the owner, who must pass through them; the directory is its alone.
    mkdirSync(dirname(pgData), { recursive: true, mode: 0o755 });
    mkdirSync(pgData, { mode: 0o700 });
  }
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds(pgUser);
    chownSync(pgData, uid, gid);
  }
  if (!(await canAccess(pgUser, 'w', pgData)))
    throw new InputError(
      `${pgUser} cannot write ${pgData}: a folder on the way is closed to it; choose a directory ${pgUser} can reach`,
      'pgData',
    );
}

/** The running cluster's tablespaces: pg_tblspc/<oid> links to each one's folder. */
export function clusterTablespaces(pgData: string): { oid: number; location: string }[] {
  const folder = join(pgData, 'pg_tblspc');
  return readdirSync(folder)
    .filter((name) => /^\d+$/.test(name))
    .map((name) => ({ oid: Number(name), location: readlinkSync(join(folder, name)) }));
}

/** Files the source keeps outside its data directory (Debian's /etc/postgresql/<v>/<cluster>). */
export interface SourceConfigFiles {
  config?: string;
  hba?: string;
  ident?: string;
}

/**
 * Gives the restored data directory a configuration of its own. Debian clusters keep postgresql.conf
 * and pg_hba.conf under /etc, outside what pgBackRest backs up: copy them, without the settings that
 * point back at the source (data_directory, hba_file, includes, the pid file).
 */
export function adoptConfig(pgData: string, source: SourceConfigFiles, pgUser: string): void {
  const owner = process.getuid?.() === 0 ? userIds(pgUser) : undefined;
  const place = (name: string, text: string) => {
    const path = join(pgData, name);
    writeFileSync(path, text, { mode: 0o600 });
    if (owner) chownSync(path, owner.uid, owner.gid);
  };
  if (!existsSync(join(pgData, 'postgresql.conf'))) {
    const text = readable(source.config);
    place(
      'postgresql.conf',
      text === undefined ? '# Written by Opsbook for a restored cluster.\n' : sanitizePostgresConf(text),
    );
  }
  if (!existsSync(join(pgData, 'pg_hba.conf'))) {
    const text = readable(source.hba);
    // Without the source's rules: local peer for the owner, passwords over loopback.
    place(
      'pg_hba.conf',
      text ??
        'local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n',
    );
  }
  if (!existsSync(join(pgData, 'pg_ident.conf')) && source.ident && existsSync(source.ident))
    copyFileSync(source.ident, join(pgData, 'pg_ident.conf'));
}

function readable(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const POINTS_AT_SOURCE =
  /^\s*(data_directory|hba_file|ident_file|external_pid_file|include_dir|include_if_exists|include)\b/;

export function sanitizePostgresConf(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      POINTS_AT_SOURCE.test(line) ? `# (source setting, off in the restored cluster) ${line}` : line,
    )
    .join('\n');
}

/**
 * Settings appended to postgresql.auto.conf, which wins over postgresql.conf and survives restarts:
 * the new port, no pid file shared with the source, a name that shows in ps, and the capacity
 * settings recovery requires to be at least the source's.
 */
export function writeRestoredSettings(
  pgData: string,
  port: number,
  name: string,
  required: Record<string, string> = {},
): void {
  const lines = [
    '',
    `# Opsbook: a point-in-time restore (${name}) runs beside its source on its own port.`,
    `port = ${port}`,
    "external_pid_file = ''",
    `cluster_name = '${name}'`,
    ...Object.entries(required).map(([key, value]) => `${key} = ${value}`),
    '',
  ];
  appendFileSync(join(pgData, 'postgresql.auto.conf'), lines.join('\n'));
}

/** pg_controldata's names for the settings a hot standby must match or exceed. */
const CONTROL_SETTINGS: Record<string, string> = {
  'max_connections setting': 'max_connections',
  'max_worker_processes setting': 'max_worker_processes',
  'max_wal_senders setting': 'max_wal_senders',
  'max_prepared_xacts setting': 'max_prepared_transactions',
  'max_locks_per_xact setting': 'max_locks_per_transaction',
};

/**
 * The source's values of those settings, from the restored control file: the backup carries them,
 * while the source's postgresql.conf or command line may not have come along.
 */
export async function requiredSettings(cluster: RestoredCluster): Promise<Record<string, string>> {
  const tool = cluster.binDir ? join(cluster.binDir, 'pg_controldata') : 'pg_controldata';
  const result = await execAs(cluster.pgUser, tool, [cluster.pgData]).catch(() => undefined);
  const settings: Record<string, string> = {};
  for (const line of result?.code === 0 ? result.stdout.split('\n') : []) {
    const [key, value] = line.split(/:\s+/);
    const name = key ? CONTROL_SETTINGS[key.trim()] : undefined;
    if (name && value && /^\d+$/.test(value.trim())) settings[name] = value.trim();
  }
  return settings;
}

function pgCtl(cluster: RestoredCluster): string {
  return cluster.binDir ? join(cluster.binDir, 'pg_ctl') : 'pg_ctl';
}

/** Starts without waiting: recovery may replay for a long time, which waitForPromotion follows. */
export async function startCluster(cluster: RestoredCluster): Promise<void> {
  const log = join(cluster.pgData, START_LOG);
  const result = await execAs(cluster.pgUser, pgCtl(cluster), [
    '-D',
    cluster.pgData,
    '-l',
    log,
    '-W',
    'start',
  ]);
  if (result.code !== 0)
    throw new IntegrationError(`pg_ctl start failed: ${(result.stderr || result.stdout).trim()}`);
}

export async function stopCluster(cluster: RestoredCluster): Promise<void> {
  if (!isRunning(cluster.pgData)) return;
  const result = await execAs(cluster.pgUser, pgCtl(cluster), [
    '-D',
    cluster.pgData,
    '-m',
    'fast',
    '-w',
    '-t',
    '120',
    'stop',
  ]);
  if (result.code !== 0 && isRunning(cluster.pgData))
    throw new IntegrationError(`pg_ctl stop failed: ${(result.stderr || result.stdout).trim()}`);
}

/** A postmaster owns the data directory: postmaster.pid names a live process. */
export function isRunning(pgData: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The folder the backup set's tablespaces are restored into, owned by the cluster owner. */
export async function prepareTablespaceDir(pgData: string, pgUser: string): Promise<string> {
  const folder = tablespaceDir(pgData);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds(pgUser);
    chownSync(folder, uid, gid);
  }
  return folder;
}

export function removeDataDir(pgData: string): void {
  rmSync(pgData, { recursive: true, force: true });
  rmSync(tablespaceDir(pgData), { recursive: true, force: true });
}

/** The last lines of the start log, for an error message. */
export function startLogTail(pgData: string, lines = 8): string {
  const text = readable(join(pgData, START_LOG)) ?? '';
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The last transaction recovery replayed, as PostgreSQL logged it ("... log time 2026-...+00"). */
export function recoveredTo(pgData: string): string | null {
  const log = readable(join(pgData, START_LOG)) ?? '';
  return /last completed transaction was at log time ([^\n]+)/.exec(log)?.[1]?.trim() ?? null;
}

/** Why a restored cluster that is no longer running stopped, from its start log. */
export function recoveryFailure(pgData: string): string {
  const log = readable(join(pgData, START_LOG)) ?? '';
  if (/recovery ended before configured recovery target was reached/.test(log)) {
    const last = recoveredTo(pgData);
    return (
      'recovery ran out of archived WAL before the target time: no transaction after it has reached the archive' +
      `${last ? ` (the last archived transaction was at ${last})` : ''}; choose an earlier time or wait for the archive`
    );
  }
  // Connections refused during startup log FATAL too; they are not why it stopped.
  const fatal = log
    .split('\n')
    .filter((l) => /FATAL|PANIC/.test(l) && !/starting up|not yet accepting|shutting down/.test(l));
  return `the restored cluster stopped during startup: ${(fatal.at(-1) ?? startLogTail(pgData, 3)).trim() || 'no log'}`;
}
