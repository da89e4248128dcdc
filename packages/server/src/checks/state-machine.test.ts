import { describe, expect, it } from 'vitest';
import { applyOutcome, initialState, type CheckState } from './state-machine.js';
import type { ProbeOutcome } from './probe.js';

const timing = {
  initialDelaySeconds: 0,
  periodSeconds: 5,
  timeoutSeconds: 3,
  successThreshold: 2,
  failureThreshold: 3,
};
const up: ProbeOutcome = { status: 'up', latencyMs: 3, message: 'HTTP 200', detail: {} };
const down: ProbeOutcome = { status: 'down', latencyMs: 4, message: 'HTTP 503', detail: {} };

function run(state: CheckState, outcomes: ProbeOutcome[]) {
  const transitions: string[] = [];
  let at = 1000;
  for (const outcome of outcomes) {
    const result = applyOutcome(state, outcome, timing, (at += 5000));
    state = result.state;
    if (result.transition)
      transitions.push(`${result.transition.from}->${result.transition.to}: ${result.transition.reason}`);
  }
  return { state, transitions };
}

describe('probe state machine (Kubernetes thresholds)', () => {
  it('turns healthy only after successThreshold consecutive successes', () => {
    const { state, transitions } = run(initialState(0), [up]);
    expect(state.status).toBe('unknown');
    expect(transitions).toEqual([]);
    const next = run(state, [up]);
    expect(next.state.status).toBe('healthy');
    expect(next.transitions).toEqual(['unknown->healthy: 2 consecutive successes: HTTP 200']);
  });

  it('turns unhealthy only after failureThreshold consecutive failures, with the last reason', () => {
    const healthy = run(initialState(0), [up, up]).state;
    const { state, transitions } = run(healthy, [down, down, up, down, down, down]);
    expect(transitions).toEqual(['healthy->unhealthy: 3 consecutive failures: HTTP 503']);
    expect(state.status).toBe('unhealthy');
    expect(state.consecutiveFailures).toBe(3);
    expect(state.since).toBe(1000 + 6 * 5000);
  });

  it('a single success between failures resets the count; recovery needs successThreshold', () => {
    const unhealthy = run(initialState(0), [down, down, down]).state;
    expect(unhealthy.status).toBe('unhealthy');
    const { state, transitions } = run(unhealthy, [up, down, up, up]);
    expect(transitions).toEqual(['unhealthy->healthy: 2 consecutive successes: HTTP 200']);
    expect(state.lastMessage).toBe('HTTP 200');
  });

  it('marks a startup check as started once it turns healthy', () => {
    const t = { ...timing, successThreshold: 1 };
    const result = applyOutcome(initialState(0), up, t, 5);
    expect(result.state.started).toBe(true);
    expect(applyOutcome(initialState(0), down, t, 5).state.started).toBe(false);
  });
});
