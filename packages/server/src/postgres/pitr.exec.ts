// Runs pgBackRest and pg_ctl as the user that owns the cluster. initdb, pg_ctl and pgBackRest refuse
// or misbehave as root, so a root Opsbook switches user with runuser; otherwise it runs them itself.
import { execFileSync, spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called with each complete line of stdout and stderr, as it arrives. */
  onLine?: (line: string) => void;
}

const KEEP = 64 * 1024;

export function commandAs(user: string, command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0 && user !== 'root') return ['runuser', ['-u', user, '--', command, ...args]];
  return [command, args];
}

/** Runs to the end; keeps the last 64 KiB of each stream (a backup at detail level logs every file). */
export function execAs(user: string, command: string, args: string[], options: ExecOptions = {}) {
  const [file, argv] = commandAs(user, command, args);
  return new Promise<ExecResult>((resolve, reject) => {
    // cwd /: the cluster owner usually cannot enter root's working directory, and tools warn about it.
    const child = spawn(file, argv, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const collect = (which: 'out' | 'err') => (chunk: Buffer) => {
      const text = chunk.toString();
      if (which === 'out') stdout = (stdout + text).slice(-KEEP);
      else stderr = (stderr + text).slice(-KEEP);
      if (!options.onLine) return;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on('data', collect('out'));
    child.stderr.on('data', collect('err'));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs).unref();
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT')
        reject(new Error(`${file} is not installed or not on PATH (apt-get install -y ${packageOf(file)})`));
      else reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (partial && options.onLine) options.onLine(partial);
      resolve({ code, stdout, stderr });
    });
  });
}

function packageOf(file: string): string {
  if (file === 'runuser') return 'util-linux';
  if (file === 'pgbackrest') return 'pgbackrest';
  return 'postgresql';
}

export function userIds(user: string): { uid: number; gid: number } {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', user]).toString().trim()),
      gid: Number(execFileSync('id', ['-g', user]).toString().trim()),
    };
  } catch {
    throw new Error(`there is no user "${user}" on this machine; set pitr.pgUser to the cluster's owner`);
  }
}

/** Whether the cluster owner can do `test <flag> path` (r, w or x), walking the parents as it would. */
export async function canAccess(user: string, flag: 'r' | 'w' | 'x', path: string): Promise<boolean> {
  const result = await execAs(user, 'test', [`-${flag}`, path]).catch(() => undefined);
  return result?.code === 0;
}
