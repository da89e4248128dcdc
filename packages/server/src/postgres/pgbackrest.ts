// A typed wrapper over the pgBackRest command line (2.45, the Debian 12 package): stanza-create,
// check, backup, info --output=json and restore. Every run goes through the cluster owner.
import { IntegrationError } from '../errors.js';
import { execAs, type ExecResult } from './pitr.exec.js';

export type PgBackRestBackupType = 'full' | 'diff' | 'incr';

/** One backup as `info --output=json` reports it (the fields Opsbook reads). */
export interface InfoBackup {
  label: string;
  type: PgBackRestBackupType;
  prior: string | null;
  reference: string[] | null;
  error?: boolean;
  /** Epoch seconds. */
  timestamp: { start: number; stop: number };
  archive: { start: string | null; stop: string | null };
  lsn?: { start: string; stop: string };
  info: { size: number; delta: number; repository: { size: number; delta: number } };
  database: { id: number };
  /** Only with `info --set=<label>`. */
  tablespace?: { name: string; oid: number; destination: string }[] | null;
}

export interface InfoStanza {
  name: string;
  /** 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data, 99 other. */
  status: { code: number; message: string; lock?: { backup?: { held: boolean } } };
  archive: { id: string; min: string | null; max: string | null; database: { id: number } }[];
  backup: InfoBackup[];
  /** system-id is kept as a string: it does not fit a JS number. */
  db: { id: number; version: string; 'system-id': string }[];
}

export interface RestoreRequest {
  /** The new data directory (pg1-path for the restore only). */
  pgData: string;
  /** "YYYY-MM-DD HH:MM:SS.mmm+00" */
  target: string;
  /** Where tablespaces go, so none is written over the source's own tablespace folders. */
  tablespaceDir?: string;
  /** The backup set to start from (pgBackRest's own pick compares whole seconds). */
  set: string;
}

export class PgBackRestError extends IntegrationError {
  constructor(
    message: string,
    /** pgBackRest's error code ("ERROR: [055]"), when it printed one. */
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

export interface PgBackRestOptions {
  configFile: string;
  stanza: string;
  /** The cluster owner. */
  user: string;
  binary?: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  onLine?: (line: string) => void;
}

export class PgBackRest {
  constructor(private readonly options: PgBackRestOptions) {}

  /** Creates the stanza in the repository; pgBackRest accepts a repeat for the same cluster. */
  async stanzaCreate(run: RunOptions = {}): Promise<string> {
    return (await this.run('stanza-create', [], run)).stdout;
  }

  /** Verifies the configuration and that WAL archiving works: it switches WAL and waits for the archive. */
  async check(run: RunOptions = {}): Promise<string> {
    return (await this.run('check', [], run)).stdout;
  }

  async backup(type: PgBackRestBackupType, run: RunOptions = {}): Promise<string> {
    return (await this.run('backup', [`--type=${type}`, '--log-level-console=detail'], run)).stdout;
  }

  async info(run: RunOptions = {}): Promise<InfoStanza> {
    const { stdout } = await this.run('info', ['--output=json'], run);
    return parseInfo(stdout, this.options.stanza);
  }

  /** The tablespaces a backup set holds, from its manifest. */
  async tablespacesOf(
    label: string,
    run: RunOptions = {},
  ): Promise<{ name: string; oid: number; destination: string }[]> {
    const { stdout } = await this.run('info', [`--set=${label}`, '--output=json'], run);
    const backup = parseInfo(stdout, this.options.stanza).backup.find((b) => b.label === label);
    return backup?.tablespace ?? [];
  }

  /**
   * Restores into a new data directory, recovering to the target time and promoting there. The
   * restored cluster does not archive: its WAL must not land in the source's stanza.
   */
  async restore(request: RestoreRequest, run: RunOptions = {}): Promise<string> {
    const args = [
      `--pg1-path=${request.pgData}`,
      ...(request.tablespaceDir ? [`--tablespace-map-all=${request.tablespaceDir}`] : []),
      `--set=${request.set}`,
      '--type=time',
      `--target=${request.target}`,
      '--target-action=promote',
      '--archive-mode=off',
      '--log-level-console=detail',
    ];
    return (await this.run('restore', args, run)).stdout;
  }

  async version(): Promise<string> {
    const result = await execAs(this.options.user, this.options.binary ?? 'pgbackrest', ['version']);
    return result.stdout.trim();
  }

  private async run(command: string, args: string[], run: RunOptions): Promise<ExecResult> {
    const argv = [
      `--config=${this.options.configFile}`,
      `--stanza=${this.options.stanza}`,
      // Only the console: errors come back on stderr; the file log follows pgbackrest.conf.
      ...(args.some((a) => a.startsWith('--log-level-console')) ? [] : ['--log-level-console=warn']),
      ...args,
      command,
    ];
    let result: ExecResult;
    try {
      result = await execAs(this.options.user, this.options.binary ?? 'pgbackrest', argv, run);
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new PgBackRestError(`pgbackrest ${command}: ${(error as Error).message}`, undefined);
    }
    if (result.code !== 0) throw failure(command, result, this.options.stanza);
    return result;
  }
}

/** The ERROR lines pgBackRest printed, with a next step for the common ones. */
function failure(command: string, result: ExecResult, stanza: string): PgBackRestError {
  const text = `${result.stderr}\n${result.stdout}`;
  const errors = text
    .split('\n')
    .map((line) => line.replace(/^\S+ \S+ P\d+ +/, '').trim())
    .filter((line) => /^(ERROR|HINT)/.test(line));
  const code = Number(/ERROR: \[(\d+)\]/.exec(text)?.[1]) || undefined;
  const detail = errors.length > 0 ? errors.join(' ') : text.trim().split('\n').slice(-5).join(' ');
  const hint =
    code === 55 && command !== 'stanza-create'
      ? ` (the stanza "${stanza}" has no repository yet: run \`opsbook pitr setup\` first)`
      : code === 82 || code === 87
        ? ' (WAL is not reaching the repository: run `opsbook pitr check` to see the archive settings)'
        : '';
  return new PgBackRestError(
    `pgbackrest ${command} failed (exit ${result.code ?? 'signal'}): ${detail || 'no output'}${hint}`,
    code,
  );
}

export function parseInfo(stdout: string, stanza: string): InfoStanza {
  let list: InfoStanza[];
  try {
    list = JSON.parse(stdout.replace(/"system-id":(\d+)/g, '"system-id":"$1"')) as InfoStanza[];
  } catch {
    throw new PgBackRestError(`pgbackrest info did not print JSON: ${stdout.slice(0, 200)}`, undefined);
  }
  const found = list.find((s) => s.name === stanza);
  if (!found) throw new PgBackRestError(`pgbackrest info has no stanza "${stanza}"`, undefined);
  return found;
}

/** pgBackRest's --target format, in UTC: "2026-01-15 10:30:00.000+00". */
export function targetTime(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

/** "restore file /path (16KB, 42.15%) checksum ..." at detail level: the share done so far. */
export function percentOf(line: string): number | undefined {
  const match = /\((?:[^,()]+, )?(\d{1,3}(?:\.\d+)?)%\)/.exec(line);
  return match ? Number(match[1]) / 100 : undefined;
}
