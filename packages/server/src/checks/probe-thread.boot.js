// Entry of the probe thread. A worker does not inherit the TypeScript loader of the thread that
// started it, so it registers tsx itself before loading the TypeScript worker module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

// A restarted thread waits first, so one that cannot start does not spin (messages queue meanwhile).
if (workerData?.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, workerData.delayMs));
register();
await import('./probe-thread.worker.ts');
