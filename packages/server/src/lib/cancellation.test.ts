import { describe, expect, it } from 'vitest';
import { Cancellation } from './cancellation.js';

describe('Cancellation', () => {
  it('runs each listener once with the reason set, and not after unsubscribing', () => {
    const cancel = new Cancellation();
    const calls: string[] = [];
    cancel.onAbort(() => calls.push(`a:${String(cancel.reason)}`));
    const off = cancel.onAbort(() => calls.push('b'));
    off();
    cancel.abort('stop');
    cancel.abort('again');
    expect(calls).toEqual(['a:stop']);
    expect(cancel.aborted).toBe(true);
    cancel.onAbort(() => calls.push('late'));
    expect(calls).toEqual(['a:stop', 'late']);
  });

  it('gives a real AbortSignal that aborts with it, also when asked for after the abort', () => {
    const early = new Cancellation();
    const signal = early.signal;
    expect(signal.aborted).toBe(false);
    early.abort(new Error('timeout'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('timeout');

    const late = new Cancellation();
    late.abort('gone');
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe('gone');
  });

  it('follows an AbortSignal and times out by itself', async () => {
    const controller = new AbortController();
    const followed = Cancellation.fromSignal(controller.signal);
    controller.abort('from signal');
    expect(followed.reason).toBe('from signal');

    const timed = Cancellation.timeout(20);
    await new Promise<void>((resolve) => timed.onAbort(resolve));
    expect((timed.reason as DOMException).name).toBe('TimeoutError');
  });
});
