// Helpers every probe shares: outcomes, timing, abort handling, error lines, conditions and config files.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { evaluateConditions, parseCondition, type Condition, type ConditionContext } from '../conditions.js';
import type { ProbeOutcome } from '../probe.js';

type Detail = Record<string, unknown>;

/** Milliseconds since `start` (a performance.now() reading), rounded to 0.01 ms. */
export function elapsedSince(start: number): number {
  return Math.round((performance.now() - start) * 100) / 100;
}

/** Starts a clock; the returned function gives the milliseconds since, rounded to 0.01 ms. */
export function startClock(): () => number {
  const start = performance.now();
  return () => elapsedSince(start);
}

export function up(latencyMs: number, message: string, detail: Detail = {}): ProbeOutcome {
  return { status: 'up', latencyMs, message, detail };
}

export function down(latencyMs: number, message: string, detail: Detail = {}): ProbeOutcome {
  return { status: 'down', latencyMs, message, detail };
}

export function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof Error || reason instanceof DOMException ? reason.name === 'TimeoutError' : false;
}

/** The outcome of a probe stopped by its cancellation: a timeout or a shutdown. */
export function abortedOutcome(
  cancel: { reason: unknown },
  timeoutMs: number,
  latencyMs: number,
): ProbeOutcome {
  const timedOut = isTimeoutReason(cancel.reason);
  return down(latencyMs, timedOut ? `timed out after ${timeoutMs}ms` : 'cancelled', {
    aborted: timedOut ? 'timeout' : 'cancelled',
  });
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error's code for detail, when it has one. */
export function errorDetail(error: unknown): Record<string, unknown> {
  const code = errorCode(error);
  return code ? { code } : {};
}

/** One line for an error, keeping Node's code ("connect ECONNREFUSED 127.0.0.1:9"). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Happy-eyeballs connects fail with an AggregateError whose own message is empty.
  if (!error.message && error instanceof AggregateError && error.errors.length > 0)
    return describeError(error.errors[0]);
  const code = errorCode(error);
  const message = error.message || code || error.name;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Conditions are parsed once per spec (the config keeps its arrays), not once per probe run. */
const parsedConditions = new WeakMap<readonly string[], Condition[]>();

function conditionsOf(texts: readonly string[]): Condition[] {
  let parsed = parsedConditions.get(texts);
  if (!parsed) {
    parsed = texts.map((text) => parseCondition(text));
    parsedConditions.set(texts, parsed);
  }
  return parsed;
}

export interface ConditionVerdict {
  ok: boolean;
  /** "condition failed: [STATUS] (503) == 200" when not ok. */
  failure?: string;
  results: { condition: string; ok: boolean }[];
}

export function judgeConditions(texts: readonly string[], context: ConditionContext): ConditionVerdict {
  const results = evaluateConditions(conditionsOf(texts), context).map((r) => ({
    condition: r.description,
    ok: r.ok,
  }));
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return { ok: true, results };
  return { ok: false, failure: `condition failed: ${failed.map((r) => r.condition).join('; ')}`, results };
}

/** Reads a file named in the config, relative to the config's directory. */
export async function readConfigFile(baseDir: string, path: string): Promise<string> {
  return readFile(resolve(baseDir, path), 'utf8');
}

const caFiles = new Map<string, Promise<string>>();

/** CA bundles are read once per path; a failed read is forgotten so a fixed file is picked up. */
export function loadCaFile(baseDir: string, path: string): Promise<string> {
  const absolute = resolve(baseDir, path);
  let pem = caFiles.get(absolute);
  if (!pem) {
    pem = readFile(absolute, 'utf8');
    caFiles.set(absolute, pem);
    pem.catch(() => caFiles.delete(absolute));
  }
  return pem;
}
