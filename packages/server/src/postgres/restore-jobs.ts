// Restores started through the API run as jobs: the request answers 202 at once and clients poll the
// job for its progress. Jobs live in memory (the last 50); a restart cancels a running one, whose
// staging database is then left behind under an opsbook_restore_* name.
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors.js';
import type { RestoreProgress, RestoreResult } from './backup.types.js';

export type RestoreJobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RestoreJob {
  id: string;
  backupId: string;
  database: string;
  to: string;
  force: boolean;
  actor: string;
  status: RestoreJobStatus;
  startedAt: number;
  finishedAt: number | null;
  progress: RestoreProgress;
  result: RestoreResult | null;
  error: string | null;
}

const KEEP = 50;

export class RestoreJobs {
  private readonly jobs = new Map<
    string,
    { job: RestoreJob; controller: AbortController; done: Promise<void>; server: string }
  >();

  constructor(private readonly now: () => number) {}

  start(
    meta: Pick<RestoreJob, 'backupId' | 'database' | 'to' | 'force' | 'actor'> & { server: string },
    work: (signal: AbortSignal, onProgress: (p: RestoreProgress) => void) => Promise<RestoreResult>,
    onEnd: (job: RestoreJob) => void,
  ): RestoreJob {
    const clash = [...this.jobs.values()].find(
      (j) => j.job.status === 'running' && j.job.to === meta.to && j.server === meta.server,
    );
    if (clash)
      throw new ConflictError(
        `restore ${clash.job.id} into "${meta.to}" is already running; wait for it or cancel it`,
      );
    const job: RestoreJob = {
      id: `rs-${randomBytes(6).toString('hex')}`,
      backupId: meta.backupId,
      database: meta.database,
      to: meta.to,
      force: meta.force,
      actor: meta.actor,
      status: 'running',
      startedAt: this.now(),
      finishedAt: null,
      progress: { phase: 'verify', fraction: 0, message: 'starting' },
      result: null,
      error: null,
    };
    const controller = new AbortController();
    const done = work(controller.signal, (progress) => (job.progress = progress))
      .then(
        (result) => {
          job.result = result;
          job.finishedAt = this.now();
          job.status = 'succeeded';
        },
        (error: Error) => {
          job.error = error.message;
          job.finishedAt = this.now();
          job.status = controller.signal.aborted ? 'cancelled' : 'failed';
        },
      )
      .then(() => onEnd(job));
    const entry = { job, controller, done, server: meta.server };
    this.jobs.set(job.id, entry);
    this.trim();
    return job;
  }

  get(id: string): RestoreJob {
    const entry = this.jobs.get(id);
    if (!entry) throw new NotFoundError(`no restore job "${id}" (jobs are kept in memory: the last ${KEEP})`);
    return entry.job;
  }

  list(): RestoreJob[] {
    return [...this.jobs.values()].map((e) => e.job).reverse();
  }

  /** Stops pg_restore and drops the half-restored database; resolves when it has. */
  async cancel(id: string): Promise<RestoreJob> {
    const entry = this.jobs.get(id);
    if (!entry) throw new NotFoundError(`no restore job "${id}"`);
    if (entry.job.status !== 'running') return entry.job;
    entry.controller.abort();
    await entry.done;
    return entry.job;
  }

  async stopAll(): Promise<void> {
    const running = [...this.jobs.values()].filter((e) => e.job.status === 'running');
    for (const entry of running) entry.controller.abort();
    await Promise.all(running.map((e) => e.done));
  }

  private trim(): void {
    for (const [id, entry] of this.jobs) {
      if (this.jobs.size <= KEEP) break;
      if (entry.job.status !== 'running') this.jobs.delete(id);
    }
  }
}
