// Kubernetes probe semantics: a check turns healthy after successThreshold consecutive successes and
// unhealthy after failureThreshold consecutive failures; single results in between change nothing.
import type { ProbeTiming } from '../config/schema.js';
import type { ProbeOutcome } from './probe.js';

export type CheckHealth = 'unknown' | 'healthy' | 'unhealthy';

export interface CheckState {
  status: CheckHealth;
  /** When status last changed (epoch ms). */
  since: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** For startup checks: it has succeeded, so the service's other checks may run. */
  started: boolean;
  lastRunAt: number | null;
  lastStatus: 'up' | 'down' | null;
  lastLatencyMs: number | null;
  lastMessage: string | null;
}

export interface Transition {
  from: CheckHealth;
  to: CheckHealth;
  reason: string;
}

export function initialState(now: number): CheckState {
  return {
    status: 'unknown',
    since: now,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    started: false,
    lastRunAt: null,
    lastStatus: null,
    lastLatencyMs: null,
    lastMessage: null,
  };
}

export function applyOutcome(
  state: CheckState,
  outcome: ProbeOutcome,
  timing: ProbeTiming,
  at: number,
): { state: CheckState; transition?: Transition } {
  const up = outcome.status === 'up';
  const next: CheckState = {
    ...state,
    consecutiveSuccesses: up ? state.consecutiveSuccesses + 1 : 0,
    consecutiveFailures: up ? 0 : state.consecutiveFailures + 1,
    lastRunAt: at,
    lastStatus: outcome.status,
    lastLatencyMs: outcome.latencyMs,
    lastMessage: outcome.message,
  };
  let to: CheckHealth | undefined;
  if (up && state.status !== 'healthy' && next.consecutiveSuccesses >= timing.successThreshold)
    to = 'healthy';
  if (!up && state.status !== 'unhealthy' && next.consecutiveFailures >= timing.failureThreshold)
    to = 'unhealthy';
  if (!to) return { state: next };
  const count = up ? next.consecutiveSuccesses : next.consecutiveFailures;
  const reason = `${count} consecutive ${up ? (count === 1 ? 'success' : 'successes') : count === 1 ? 'failure' : 'failures'}: ${outcome.message}`;
  return {
    state: { ...next, status: to, since: at, started: next.started || up },
    transition: { from: state.status, to, reason },
  };
}
