// `npm start` and the browser tests run this first: build the console only when a source is newer than
// the last build. A lock keeps two test files starting together from building over each other.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

const web = fileURLToPath(new URL('..', import.meta.url));
const built = join(web, '..', 'server', 'static', 'index.html');
const lock = join(tmpdir(), `opsbook-web-build-${createHash('sha1').update(web).digest('hex').slice(0, 12)}`);
const STALE_LOCK_MS = 120_000;

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function stale() {
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => join(web, p));
  const contracts = join(web, '..', 'contracts', 'src');
  return !existsSync(built) || Math.max(...[...sources, contracts].map(newest)) > statSync(built).mtimeMs;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function acquire() {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      // A build that died leaves its lock behind; one older than any real build is taken over.
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS)
          rmSync(lock, { recursive: true, force: true });
      } catch {
        // removed by its owner meanwhile
      }
      sleep(200);
    }
  }
}

if (!stale()) {
  console.error('the web console is up to date');
} else {
  acquire();
  try {
    // Another process may have built it while we waited for the lock.
    if (stale()) {
      console.error('building the web console (packages/web)...');
      execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: web, stdio: 'inherit' });
    } else console.error('the web console is up to date');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
