// Process helpers for bench/alerts.bench.ts: a free loopback port, CPU and memory of another process
// (from /proc, so Opsbook in a child and the Alertmanager binary are measured the same way), and a
// forked tsx child that talks over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on every Linux we run on). */
const CLOCK_TICKS = 100;

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A port free on 127.0.0.1 right now (for a program that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ProcUsage {
  /** User + system CPU time so far (ms). */
  cpuMs: number;
  /** Resident set size (MB); the high-water mark too. */
  rssMB: number;
  peakRssMB: number;
}

/** CPU time and memory of any process on this machine, read from /proc. */
export function procUsage(pid: number): ProcUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuMs: ((utime + stime) / CLOCK_TICKS) * 1000,
    rssMB: Math.round(kb('VmRSS') / 102.4) / 10,
    peakRssMB: Math.round(kb('VmHWM') / 102.4) / 10,
  };
}

export interface Child {
  child: ChildProcess;
  pid: number;
  /** Sends a message and waits for the first reply that `pick` accepts. */
  ask<T>(message: unknown, pick: (reply: unknown) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop ('stop'), then SIGKILLs it after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Forks a TypeScript helper from bench/alerts with tsx and waits for its first message accepted by
 * `ready`. Its stdout is dropped (the benchmark's stdout is one JSON object); stderr is inherited.
 */
export async function forkChild<T>(
  script: string,
  args: string[],
  ready: (message: unknown) => T | undefined,
  options: { execArgv?: string[]; startTimeoutMs?: number } = {},
): Promise<{ handle: Child; ready: T }> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let readyValue: T;
  try {
    readyValue = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} did not start within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${script} exited early (code ${code})`)));
      child.on('message', function onReady(message: unknown) {
        const value = ready(message);
        if (value === undefined) return;
        clearTimeout(timer);
        child.off('message', onReady);
        resolve(value);
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('error', () => {});

  const handle: Child = {
    child,
    pid: child.pid ?? -1,
    ask: <R>(message: unknown, pick: (reply: unknown) => R | undefined, askTimeoutMs = 10_000) =>
      new Promise<R>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onReply);
          reject(new Error(`${script} did not answer ${JSON.stringify(message)} within ${askTimeoutMs} ms`));
        }, askTimeoutMs);
        function onReply(reply: unknown): void {
          const value = pick(reply);
          if (value === undefined) return;
          clearTimeout(timer);
          child.off('message', onReply);
          resolve(value);
        }
        child.on('message', onReply);
        child.send(message as string);
      }),
    stop: (graceMs = 15_000) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        if (child.connected) child.send('stop');
        else child.kill('SIGTERM');
      }),
  };
  return { handle, ready: readyValue };
}
