// A throwaway PostgreSQL cluster from the machine's binaries, for tests and benchmarks.
// initdb refuses to run as root, so as root the cluster runs as the `postgres` user.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chownSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

export interface PostgresCluster {
  url: string;
  port: number;
  binDir: string;
  dataDir: string;
  stop(): Promise<void>;
}

export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** Installs a Debian package for a missing command when root, else stops with the command to run. */
export function ensureCommand(command: string, aptPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return;
  } catch {
    // missing: install below
  }
  const install = `apt-get update && apt-get install -y ${aptPackage}`;
  const sudoInstall = `sudo apt-get update && sudo apt-get install -y ${aptPackage}`;
  if (process.getuid?.() !== 0) throw new Error(`${command} is missing; install it with: ${sudoInstall}`);
  execFileSync('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${install}`], { stdio: 'inherit' });
}

/** Installs PostgreSQL with apt when running as root, else explains the command to run. */
export function ensurePostgresInstalled(): string {
  let bin = findPostgresBin();
  if (bin) return bin;
  const command = 'apt-get update && apt-get install -y postgresql postgresql-contrib';
  if (process.getuid?.() !== 0) {
    throw new Error(
      `PostgreSQL server binaries are missing; install them with: sudo apt-get update && sudo apt-get install -y postgresql postgresql-contrib`,
    );
  }
  execFileSync('bash', ['-c', `DEBIAN_FRONTEND=noninteractive ${command}`], { stdio: 'inherit' });
  bin = findPostgresBin();
  if (!bin) throw new Error(`PostgreSQL is still missing after: ${command}`);
  return bin;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startPostgresCluster(
  options: { settings?: Record<string, string> } = {},
): Promise<PostgresCluster> {
  const binDir = ensurePostgresInstalled();
  const dataDir = newDataDir('opsbook-pg-');
  const data = join(dataDir, 'data');
  runAsPostgres(join(binDir, 'initdb'), [
    ...['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
  ]);
  const port = await freePort();
  return startServer(binDir, dataDir, port, 'PostgreSQL', {
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    // Statements inside functions count too, so slow-query tests see what they run.
    'pg_stat_statements.track': 'all',
    ...options.settings,
  });
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user]).toString().trim());
}
function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user]).toString().trim());
}

/**
 * A hot standby of `primary` (pg_basebackup -R over a physical slot named `slot`), for replica tests.
 * Stop it before the primary.
 */
export async function startStandby(primary: PostgresCluster, slot: string): Promise<PostgresCluster> {
  const dataDir = newDataDir('opsbook-pg-standby-');
  runAsPostgres(join(primary.binDir, 'pg_basebackup'), [
    ...['-D', join(dataDir, 'data'), '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'],
    ...['-R', '-X', 'stream', '-C', '-S', slot, '--no-sync'],
  ]);
  return startServer(primary.binDir, dataDir, await freePort(), 'the standby', {
    hot_standby: 'on',
    fsync: 'off',
  });
}

const asRoot = process.getuid?.() === 0;

/** initdb and the server refuse root, so as root they run as the `postgres` user. */
function runAsPostgres(cmd: string, args: string[]): Buffer {
  return asRoot
    ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
    : execFileSync(cmd, args, { stdio: 'pipe' });
}

function newDataDir(prefix: string): string {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) chownSync(dataDir, uid('postgres'), gid('postgres'));
  return dataDir;
}

/** Starts the server in <dataDir>/data on loopback; removed again on stop() or process exit. */
async function startServer(
  binDir: string,
  dataDir: string,
  port: number,
  what: string,
  extra: Record<string, string>,
): Promise<PostgresCluster> {
  const settings: Record<string, string> = {
    port: String(port),
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir,
    // A hot standby needs max_connections (and the like) at least the primary's.
    max_connections: '200',
    shared_preload_libraries: 'pg_stat_statements',
    ...extra,
  };
  const options = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const data = join(dataDir, 'data');
  const pgCtl = join(binDir, 'pg_ctl');
  const logFile = join(dataDir, 'postgres.log');
  // pg_ctl daemonizes the server and stops it reliably; a signal to runuser would not reach postgres.
  try {
    runAsPostgres(pgCtl, ['-D', data, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
  } catch (error) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    throw new Error(`${what} did not start: ${(error as Error).message}\n${log}`);
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      runAsPostgres(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    binDir,
    dataDir,
    async stop() {
      stop();
    },
  };
}
