import { createInterface } from 'node:readline/promises';
import pc from 'picocolors';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table; colour only when stdout is a terminal. */
export function printTable(headers: string[], rows: string[][]): void {
  const visible = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible(cell).length),
      )
      .join('  ');
  process.stdout.write(`${pc.bold(line(headers))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

export function colourStatus(status: string): string {
  switch (status) {
    case 'healthy':
    case 'up':
    case 'UP':
      return pc.green(status);
    case 'unhealthy':
    case 'down':
    case 'DOWN':
      return pc.red(status);
    default:
      return pc.yellow(status);
  }
}

/** Prints an error with what to do next and sets the exit code. */
export function fail(message: string, code = 1, json = false): void {
  if (json) printJson({ error: { message } });
  else process.stderr.write(`${pc.red('error:')} ${message}\n`);
  process.exitCode = code;
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms == null) return '-';
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

/** A listing: JSON with --json, a line saying it is empty, or a table. */
export function printList<T>(
  json: boolean | undefined,
  body: unknown,
  items: T[],
  empty: string,
  headers: string[],
  row: (item: T) => string[],
): void {
  if (json) return printJson(body);
  if (items.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  printTable(headers, items.map(row));
}

/** A length of time, compact: 45s, 12m, 3h5m, 2d4h. */
export function span(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ''}`;
  return `${Math.floor(hours / 24)}d${hours % 24 ? `${hours % 24}h` : ''}`;
}

/** UTC, to the second: 2026-11-26 14:53:07. */
export function timestamp(ms: number | null | undefined): string {
  return ms == null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * Asks y/N on the terminal; without one there is nobody to ask, so the caller must refuse
 * (and say to pass --yes) rather than guess.
 */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
