// What PITR backups and restores share: background jobs that stop with Opsbook, throttled progress
// writes, ids, and the context a restore runs in.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { PitrRepository } from '../storage/pitr.repository.js';
import type { PgBackRest } from './pgbackrest.js';
import type { PitrSettings } from './pitr.config.js';

export interface PitrContext {
  repository: PitrRepository;
  logger: Logger;
  now: () => number;
  jobs: Jobs;
  pgbackrest(settings: PitrSettings): PgBackRest;
  /** The settings of a database with PITR on, if it still has them. */
  settingsOf(database: string): PitrSettings | undefined;
  event(
    kind: string,
    severity: 'info' | 'warning' | 'error',
    database: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void>;
  audit(
    actor: string,
    action: string,
    database: string,
    subject: string | null,
    detail: Record<string, unknown>,
  ): Promise<void>;
}

/** Background jobs by id; stop() aborts them all and waits. */
export class Jobs {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(private readonly logger: Logger) {}

  track(id: string, run: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    const done = run(controller.signal)
      .catch((error: unknown) => this.logger.error({ err: error, job: id }, 'PITR job failed unexpectedly'))
      .finally(() => this.running.delete(id));
    this.running.set(id, { controller, done });
  }

  has(id: string): boolean {
    return this.running.has(id);
  }

  /** Resolves when the job has ended (at once for an unknown id). */
  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  async stop(): Promise<void> {
    for (const job of this.running.values()) job.controller.abort();
    await Promise.all([...this.running.values()].map((job) => job.done.catch(() => {})));
  }
}

/** Writes the newest value at most once a second; flush() writes what is pending and waits. */
export class Throttled {
  private pending: number | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private last = 0;

  constructor(private readonly write: (value: number) => Promise<unknown>) {}

  set(value: number): void {
    this.pending = value;
    if (Date.now() - this.last < 1_000) return;
    this.last = Date.now();
    this.drain();
  }

  private drain(): void {
    const value = this.pending;
    if (value === undefined) return;
    this.pending = undefined;
    this.writing = this.writing.then(() => this.write(value)).catch(() => {});
  }

  async flush(): Promise<void> {
    this.drain();
    await this.writing;
  }
}

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', wake);
      resolve();
    }, ms);
    signal.addEventListener('abort', wake, { once: true });
  });
}
