// Parent side of bench/lib/targets.ts: forks it, waits for its ports, asks for its CPU time, stops it.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface TargetProcess {
  ports: number[];
  pid: number;
  /** CPU time (user + system, µs) the targets process has used so far, and requests served. */
  usage(): Promise<{ cpuMicros: number; requests: number }>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./targets.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function startTargets(servers: number): Promise<TargetProcess> {
  const child: ChildProcess = fork(SCRIPT, [String(servers)], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    // stdout is the benchmark's JSON: the child may only use stderr.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the targets process did not start within 20 s')),
      20_000,
    );
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the targets process exited early (code ${code})`)));
    child.on('message', function onPorts(message: { ports?: number[] }) {
      if (!message.ports) return;
      clearTimeout(timer);
      child.off('message', onPorts);
      resolve(message.ports);
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  child.removeAllListeners('exit');

  return {
    ports,
    pid: child.pid ?? -1,
    usage: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the targets process did not answer within 5 s')),
          5_000,
        );
        child.on('message', function onUsage(message: { cpu?: NodeJS.CpuUsage; requests?: number }) {
          if (!message.cpu) return;
          clearTimeout(timer);
          child.off('message', onUsage);
          resolve({ cpuMicros: message.cpu.user + message.cpu.system, requests: message.requests ?? 0 });
        });
        child.send('cpu');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        if (child.connected) child.send('stop');
        else child.kill('SIGTERM');
      }),
  };
}
