// Runs scheduled probes on a worker thread (see probe-thread.worker.ts). A thread that dies is
// started again with every job it had, and the error is logged.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ProbeExecutor, ProbeExecutorEvents, ProbeJob } from './probe-executor.js';
import { REPORT_FIELDS, type FromProbeThread, type ToProbeThread } from './probe-thread.messages.js';

const ENTRY = new URL('./probe-thread.boot.js', import.meta.url);
const STOP_TIMEOUT_MS = 15_000;
const RESTART_DELAY_MS = 1_000;

export class ThreadProbeExecutor implements ProbeExecutor {
  private worker: Worker;
  private readonly jobs = new Map<string, ProbeJob>();
  private started = false;
  private stopping: Promise<void> | undefined;
  private onStopped: (() => void) | undefined;

  constructor(
    private readonly concurrency: number,
    private readonly events: ProbeExecutorEvents,
    private readonly logger: Logger,
  ) {
    this.worker = this.spawn();
  }

  get size(): number {
    return this.jobs.size;
  }

  has(id: string): boolean {
    return this.jobs.has(id);
  }

  start(): void {
    this.started = true;
    this.post({ type: 'start' });
  }

  schedule(job: ProbeJob): void {
    this.jobs.set(job.id, job);
    this.post({ type: 'schedule', job });
  }

  unschedule(id: string): void {
    if (this.jobs.delete(id)) this.post({ type: 'unschedule', id });
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn('the probe thread did not stop within 15 s; terminating it');
        resolve();
      }, STOP_TIMEOUT_MS);
      this.onStopped = () => {
        clearTimeout(timer);
        resolve();
      };
      this.post({ type: 'stop' });
    }).then(() => this.worker.terminate().then(() => undefined));
    return this.stopping;
  }

  private post(message: ToProbeThread): void {
    this.worker.postMessage(message);
  }

  private spawn(delayMs = 0): Worker {
    const worker = new Worker(ENTRY, { name: 'opsbook-probes', workerData: { delayMs } });
    // The process lives as long as its own work (the server) does; the thread never holds it up.
    worker.unref();
    worker.on('message', (message: FromProbeThread) => this.receive(message));
    worker.on('error', (error) => this.logger.error({ err: error }, 'the probe thread failed'));
    worker.on('exit', (code) => {
      if (this.stopping) return this.onStopped?.();
      // After a pause, so a thread that cannot start does not spin; messages meanwhile queue on the new one.
      this.logger.error({ code }, 'the probe thread exited; starting it again in 1 s');
      this.worker = this.spawn(RESTART_DELAY_MS);
      for (const job of this.jobs.values()) this.post({ type: 'schedule', job });
      if (this.started) this.post({ type: 'start' });
    });
    worker.postMessage({ type: 'init', concurrency: this.concurrency } satisfies ToProbeThread);
    return worker;
  }

  private receive(message: FromProbeThread): void {
    if (message.type === 'stopped') return this.onStopped?.();
    const { reports, lags, skipped } = message;
    for (const lag of lags) this.events.onLag(lag);
    if (skipped.count > 0) this.events.onSkip(skipped.example, skipped.count);
    for (let i = 0; i < reports.length; i += REPORT_FIELDS) {
      const up = reports[i + 3] === 1;
      this.events.onReport({
        id: reports[i] as string,
        tag: reports[i + 1] as string,
        startedAt: reports[i + 2] as number,
        outcome: {
          status: up ? 'up' : 'down',
          latencyMs: reports[i + 4] as number,
          message: reports[i + 5] as string,
          detail: JSON.parse(reports[i + 6] as string) as Record<string, unknown>,
        },
        detailJson: reports[i + 6] as string,
      });
    }
  }
}
