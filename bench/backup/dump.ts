// The baseline: a bare pg_dump with the same format, jobs and compression as Opsbook's backup, and
// what the server spent on each kind of statement during a run (pg_stat_statements).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { round } from '../lib/measure.js';

const running = new Set<ChildProcess>();

/** Stops every bare pg_dump still running (its process group: the parallel workers too). */
export function killBareDumps(): void {
  for (const child of running)
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
}

export interface BareDumpOptions {
  pgDump: string;
  url: string;
  folder: string;
  jobs: number;
  compression: number;
}

/** Runs `pg_dump --format=directory --jobs=J --compress=C` and returns its wall time in ms. */
export function bareDump(options: BareDumpOptions): Promise<number> {
  mkdirSync(dirname(options.folder), { recursive: true });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      options.pgDump,
      [
        '--format=directory',
        `--jobs=${options.jobs}`,
        `--compress=${options.compression}`,
        `--file=${options.folder}`,
        '--no-password',
        `--dbname=${options.url}`,
      ],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PGAPPNAME: 'bench' } },
    );
    running.add(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      running.delete(child);
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`bare pg_dump exited with ${code}: ${stderr.trim()}`));
    });
  });
}

export function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

export interface StatementTimes {
  /** COPY ... TO stdout: pg_dump reading the table data. */
  copyMs: number;
  /** The manifest's exact row counts. */
  rowCountMs: number;
  /** The drills' sample checksums (md5 of every row's text, top N). */
  sampleChecksumMs: number;
}

/**
 * Resets pg_stat_statements. `client` is connected to another database (`postgres`) holding the
 * extension, so the database under test stays as a user's would be.
 */
export async function resetStatements(client: pg.Client): Promise<void> {
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await client.query('SELECT pg_stat_statements_reset()');
}

/** Server execution time per kind of statement in database `dbname` since the last reset. */
export async function statementTimes(client: pg.Client, dbname: string): Promise<StatementTimes> {
  const { rows } = await client.query<{ kind: string; ms: number }>(
    `SELECT CASE WHEN query LIKE 'COPY %' THEN 'copy'
                 WHEN query LIKE 'SELECT count(*)::text AS rows FROM %' THEN 'count'
                 WHEN query LIKE '%md5(coalesce(string_agg(%' THEN 'sample' END AS kind,
            sum(total_exec_time)::float8 AS ms
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
      GROUP BY 1`,
    [dbname],
  );
  const ms = (kind: string) => round(rows.find((r) => r.kind === kind)?.ms ?? 0, 0);
  return { copyMs: ms('copy'), rowCountMs: ms('count'), sampleChecksumMs: ms('sample') };
}
