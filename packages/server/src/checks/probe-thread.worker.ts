// The probe thread: its own Scheduler and probes, so probing never competes with the API, the store
// and alert evaluation for the main thread. Reports go back in batches every few milliseconds.
import { parentPort } from 'node:worker_threads';
import { runJob, type ProbeReport } from './probe-executor.js';
import type { FromProbeThread, ToProbeThread } from './probe-thread.messages.js';
import { Scheduler } from './scheduler.js';

const BATCH_MS = 5;
const port = parentPort!;
let scheduler: Scheduler | undefined;
let reports: (string | number)[] = [];
let lags: number[] = [];
let skipped = { count: 0, example: '' };
let timer: NodeJS.Timeout | undefined;

function send(): void {
  timer = undefined;
  if (reports.length === 0 && lags.length === 0 && skipped.count === 0) return;
  const message: FromProbeThread = { type: 'reports', reports, lags, skipped };
  reports = [];
  lags = [];
  skipped = { count: 0, example: '' };
  port.postMessage(message);
}

function soon(): void {
  timer ??= setTimeout(send, BATCH_MS);
}

function collect(report: ProbeReport): void {
  const { outcome } = report;
  reports.push(
    report.id,
    report.tag,
    report.startedAt,
    outcome.status === 'up' ? 1 : 0,
    outcome.latencyMs,
    outcome.message,
    JSON.stringify(outcome.detail),
  );
  soon();
}

function required(): Scheduler {
  if (!scheduler) throw new Error('probe thread: "init" must come first');
  return scheduler;
}

port.on('message', (message: ToProbeThread) => {
  switch (message.type) {
    case 'init':
      scheduler = new Scheduler({
        concurrency: message.concurrency,
        onStart: (lag) => (lags.push(lag), soon()),
        onSkip: (job) => {
          skipped.count++;
          skipped.example = job.id;
          soon();
        },
      });
      return;
    case 'schedule': {
      const { job } = message;
      required().schedule({
        id: job.id,
        periodMs: job.periodMs,
        firstDueAt: job.firstDueAt,
        timeoutMs: job.timeoutMs,
        run: (cancel) => runJob(job, cancel, Date.now, collect),
      });
      return;
    }
    case 'unschedule':
      required().unschedule(message.id);
      return;
    case 'start':
      required().start();
      return;
    case 'stop':
      void required()
        .stop()
        .then(() => {
          clearTimeout(timer);
          send();
          port.postMessage({ type: 'stopped' } satisfies FromProbeThread);
        });
      return;
  }
});
