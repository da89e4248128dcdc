// Finding and running pg_dump and pg_restore. They must be at least the server's major version:
// an older pg_dump refuses a newer server, and Debian keeps each version in its own bin directory.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { IntegrationError } from '../errors.js';

const run = promisify(execFile);
const DEBIAN_ROOT = '/usr/lib/postgresql';

export type PgTool = 'pg_dump' | 'pg_restore';

/** The server's major version from server_version_num (150018 -> 15). */
export function majorOf(versionNum: number): number {
  return Math.floor(versionNum / 10_000);
}

/**
 * The tool of the server's major version: the configured binDir, then /usr/lib/postgresql/<major>/bin,
 * then newer Debian versions, then the PATH. Throws naming every place it looked.
 */
export async function findPgTool(tool: PgTool, serverMajor: number, binDir?: string): Promise<string> {
  const candidates: string[] = [];
  if (binDir) candidates.push(join(binDir, tool));
  candidates.push(join(DEBIAN_ROOT, String(serverMajor), 'bin', tool));
  if (existsSync(DEBIAN_ROOT))
    for (const version of readdirSync(DEBIAN_ROOT)
      .filter((v) => /^\d+$/.test(v) && Number(v) > serverMajor)
      .sort((a, b) => Number(a) - Number(b)))
      candidates.push(join(DEBIAN_ROOT, version, 'bin', tool));
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean))
    candidates.push(join(dir, tool));

  const tooOld: string[] = [];
  for (const path of new Set(candidates)) {
    if (!existsSync(path)) continue;
    const major = await toolMajor(path);
    if (major !== undefined && major >= serverMajor) return path;
    tooOld.push(`${path} is version ${major ?? 'unknown'}`);
  }
  throw new IntegrationError(
    `no ${tool} of PostgreSQL ${serverMajor} or newer found${tooOld.length ? ` (${tooOld.join('; ')})` : ''}; ` +
      `install postgresql-client-${serverMajor} or set backups.binDir to the directory holding ${tool}`,
  );
}

async function toolMajor(path: string): Promise<number | undefined> {
  try {
    const { stdout } = await run(path, ['--version']);
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface ToolRun {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Each stderr line as it comes (pg_restore --verbose reports progress there). */
  onStderrLine?(line: string): void;
  /** Values to hide in the captured stderr. */
  secrets?: string[];
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  /** The last lines of stderr, secrets hidden. */
  stderr: string;
  aborted: boolean;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Runs a tool in its own process group, so an abort stops its parallel workers too
 * (pg_dump and pg_restore --jobs fork one process per job).
 */
export function runTool(options: ToolRun): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ code: null, stdout: '', stderr: '', aborted: true });
      return;
    }
    const child = spawn(options.command, options.args, {
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let aborted = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < STDERR_KEEP) stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP);
      if (!options.onStderrLine) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onStderrLine(line);
    });
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const onAbort = () => {
      aborted = true;
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5_000).unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new IntegrationError(`cannot run ${options.command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (partial && options.onStderrLine) options.onStderrLine(partial);
      resolve({ code, stdout, stderr: hide(stderr, options.secrets ?? []), aborted });
    });
  });
}

/** The useful end of a tool's stderr for an error message: its last few non-empty lines. */
export function stderrTail(stderr: string, lines = 5): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' / ');
}

function hide(text: string, secrets: string[]): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]+@/gi, '$1***@');
  for (const secret of secrets.filter((s) => s.length >= 3)) out = out.split(secret).join('***');
  return out;
}
