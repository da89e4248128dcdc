// What a step runner gets and returns. Services come in through small interfaces so the runtime
// can wire the real check scheduler, metric store and configured databases.
import type { SeriesSource } from '../../telemetry/series.js';
import type { ParameterValue, RunbookStep, StepKind } from '../runbook.schema.js';

export interface CheckRunOutcome {
  status: 'up' | 'down';
  latencyMs: number;
  message?: string;
  detail?: Record<string, unknown>;
}

/** The services steps use; the runtime provides them once. */
export interface StepServices {
  checks: { runNow(id: string, signal: AbortSignal): Promise<CheckRunOutcome> };
  metrics: SeriesSource;
  /** The connection URL of a configured PostgreSQL, by name; undefined when unknown. */
  databases: (name: string) => string | undefined;
  /** Shell and command actions are refused unless the config allows them. */
  allowShell: boolean;
}

export interface StepContext extends StepServices {
  /** Aborted when the step's timeout passes. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Validated run parameters; the only values ever interpolated. */
  parameters: Record<string, ParameterValue>;
  now: () => number;
}

export interface StepResult {
  /** waiting: a person must tick or approve (manual and approval steps). */
  status: 'succeeded' | 'failed' | 'waiting';
  message: string;
  evidence?: Record<string, unknown>;
}

export type StepRunner<S extends RunbookStep> = (step: S, context: StepContext) => Promise<StepResult>;
export type StepTable = { [K in StepKind]: StepRunner<Extract<RunbookStep, { kind: K }>> };

export function failed(message: string, evidence?: Record<string, unknown>): StepResult {
  return { status: 'failed', message, evidence };
}
