// Real Prometheus and Alertmanager processes (Debian's binaries) for end-to-end tests: each runs on a free
// loopback port with its config and storage in a temp dir, and stops (and is cleaned up) by itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand, freePort } from './postgres-cluster.js';

/** Installs the Debian package when root (as CI does), else stops with the command to run. */
function ensureBinary(command: string, aptPackage: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
  if (found) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      `${command} is missing; install it with: sudo apt-get update && sudo apt-get install -y ${aptPackage}`,
    );
  ensureCommand(command, aptPackage);
}

export interface RunningBinary {
  /** e.g. http://127.0.0.1:40123 (no trailing slash); also the process's --web.external-url. */
  url: string;
  port: number;
  /** The temp dir holding the config files and the storage; removed by stop(). */
  dir: string;
  /** The last 64 KiB of stdout and stderr, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** prometheus.yml; `rule_files: [rules.yml]` is added when rulesYaml is given and the config names none. */
  configYaml: string;
  /** Written to rules.yml next to the config. */
  rulesYaml?: string;
  /** Extra command-line flags, e.g. --rules.alert.resend-delay=1s. */
  args?: string[];
  /** How long to wait for /-/ready (default 30 s). */
  readyTimeoutMs?: number;
}

export interface AlertmanagerOptions {
  /** alertmanager.yml */
  configYaml: string;
  args?: string[];
  readyTimeoutMs?: number;
}

const STOP_GRACE_MS = 5_000;
const OUTPUT_LIMIT = 64 * 1024;
const PORT_ATTEMPTS = 3;

export async function startPrometheus(options: PrometheusOptions): Promise<RunningBinary> {
  ensureBinary('prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-prometheus-'));
  try {
    let config = options.configYaml;
    if (options.rulesYaml !== undefined) {
      writeFileSync(join(dir, 'rules.yml'), options.rulesYaml);
      if (!/^rule_files:/m.test(config)) config = `${config.trimEnd()}\nrule_files:\n  - rules.yml\n`;
    }
    writeFileSync(join(dir, 'prometheus.yml'), config);
    return await startBinary(
      'prometheus',
      dir,
      (url) => [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${new URL(url).host}`,
        `--web.external-url=${url}/`,
        ...(options.args ?? []),
      ],
      options.readyTimeoutMs,
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export async function startAlertmanager(options: AlertmanagerOptions): Promise<RunningBinary> {
  ensureBinary('prometheus-alertmanager', 'prometheus-alertmanager');
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-alertmanager-'));
  try {
    writeFileSync(join(dir, 'alertmanager.yml'), options.configYaml);
    return await startBinary(
      'prometheus-alertmanager',
      dir,
      (url) => [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=${new URL(url).host}`,
        `--web.external-url=${url}/`,
        '--cluster.listen-address=', // no gossip: a single, isolated instance
        ...(options.args ?? []),
      ],
      options.readyTimeoutMs,
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Spawns the binary on a free port and waits for /-/ready; retries on another port if the one picked got taken. */
async function startBinary(
  command: string,
  dir: string,
  flags: (url: string) => string[],
  readyTimeoutMs = 30_000,
): Promise<RunningBinary> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const running = spawnBinary(command, dir, url, port, flags(url));
    try {
      await waitReady(running, command, readyTimeoutMs);
      return running.binary;
    } catch (error) {
      await running.terminate(); // keeps the dir (config files) for the next attempt
      if (attempt < PORT_ATTEMPTS && /address already in use/i.test(running.binary.output())) continue;
      throw error;
    }
  }
}

interface Spawned {
  binary: RunningBinary;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  terminate(): Promise<void>;
  exited: Promise<void>;
  exitCode(): string | undefined;
}

let setprivAvailable: boolean | undefined;

/** With setpriv, the kernel kills the binary if this test process dies before stop() (no orphans). */
function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  setprivAvailable ??=
    spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout?.includes('--pdeathsig') ?? false;
  return setprivAvailable ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
}

function spawnBinary(command: string, dir: string, url: string, port: number, args: string[]): Spawned {
  const [file, argv] = withParentDeathSignal(command, args);
  const child = spawn(file, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once('error', (error) => {
      exit = `spawn error: ${error.message}`;
      append(Buffer.from(`${error.message}\n`));
      resolve();
    });
  });
  // Last resort if the test process exits without calling stop().
  const killOnExit = () => {
    if (exit === undefined) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let terminating: Promise<void> | undefined;
  const terminate = (): Promise<void> => {
    terminating ??= (async () => {
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killOnExit);
    })();
    return terminating;
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= terminate().then(() => rmSync(dir, { recursive: true, force: true }));
    return stopping;
  };
  return {
    child,
    terminate,
    exited,
    exitCode: () => exit,
    binary: { url, port, dir, output: () => output, stop },
  };
}

async function waitReady(running: Spawned, command: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const exit = running.exitCode();
    if (exit !== undefined)
      throw new Error(`${command} exited (${exit}) before it was ready:\n${running.binary.output()}`);
    try {
      const response = await fetch(`${running.binary.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      last = `HTTP ${response.status}`;
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await Promise.race([new Promise((r) => setTimeout(r, 100)), running.exited]);
  }
  throw new Error(
    `${command} was not ready at ${running.binary.url}/-/ready within ${timeoutMs} ms (${last}):\n${running.binary.output()}`,
  );
}
