// A cheap stand-in for AbortController on hot paths: a check run that completes normally (the common
// case) never builds an AbortSignal or touches EventTarget, which cost microseconds per run at
// thousands of runs a second. Code that needs a real AbortSignal asks for `signal` and gets one.

export class Cancellation {
  private abortReason: unknown = undefined;
  private done = false;
  private listeners: (() => void)[] | undefined;
  private controller: AbortController | undefined;

  /** A cancellation that follows an AbortSignal (for callers that hold one). */
  static fromSignal(signal: AbortSignal): Cancellation {
    const cancel = new Cancellation();
    if (signal.aborted) cancel.abort(signal.reason);
    else signal.addEventListener('abort', () => cancel.abort(signal.reason), { once: true });
    return cancel;
  }

  /** A cancellation that aborts by itself after `ms` with a TimeoutError, like AbortSignal.timeout. */
  static timeout(ms: number): Cancellation {
    const cancel = new Cancellation();
    const timer = setTimeout(
      () => cancel.abort(new DOMException(`timed out after ${ms}ms`, 'TimeoutError')),
      ms,
    );
    timer.unref();
    return cancel;
  }

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  /** A real AbortSignal that aborts with this cancellation (built on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.done) return;
    this.done = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /** Runs `listener` once on abort (now, if already aborted); the returned function unsubscribes. */
  onAbort(listener: () => void): () => void {
    if (this.done) {
      listener();
      return noop;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.listeners!.splice(index, 1);
    };
  }
}

function noop(): void {}
