// Moves SQLite's WAL checkpoints off the main thread (see sqlite-checkpoint.worker.js). Until the
// thread is up, and if it ever fails, SQLite's own automatic checkpoint stays on, so the WAL is
// always bounded.
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

const ENTRY = new URL('./sqlite-checkpoint.worker.js', import.meta.url);
/** SQLite's default: checkpoint once the WAL holds 1,000 pages. */
const AUTO_CHECKPOINT_PAGES = 1000;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  /** The connection checkpoints by itself again (the thread failed or is stopping). */
  private fellBack = false;
  private exited = false;

  constructor(
    private readonly database: Database.Database,
    file: string,
    intervalMs = 1_000,
  ) {
    this.worker = new Worker(ENTRY, { name: 'opsbook-sqlite-checkpoint', workerData: { file, intervalMs } });
    this.worker.once('online', () => {
      if (!this.fellBack) database.pragma('wal_autocheckpoint = 0');
    });
    this.worker.on('message', (message: { error?: string }) => {
      if (message.error) this.fallBack();
    });
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => {
      this.exited = true;
      this.fallBack();
    });
    this.worker.unref();
  }

  /** Stops the thread; the connection checkpoints by itself again (and fully when it closes). */
  async stop(): Promise<void> {
    this.fallBack();
    if (this.exited) return;
    this.worker.postMessage('stop');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 2_000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private fallBack(): void {
    if (this.fellBack) return;
    this.fellBack = true;
    try {
      this.database.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    } catch {
      // The connection is already closed: nothing left to checkpoint from here.
    }
  }
}
