// Checkpoints an SQLite WAL from its own thread and connection, so the copy back into the database
// file and its fsync never run inside a commit on the main thread. Plain JavaScript: a worker does not
// inherit the TypeScript loader, and this needs none.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');

const timer = setInterval(() => {
  try {
    // PASSIVE never waits for the writer or for readers; what it cannot copy now it copies next time.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}, workerData.intervalMs);

parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
