// In-process fan-out of "something changed" notices from the domains to live clients (the SSE stream).
import type { StreamEvent } from '@opsbook/contracts';

export type StreamListener = (event: StreamEvent) => void;

export class EventBus {
  private readonly listeners = new Set<StreamListener>();
  private readonly closers = new Set<() => void>();

  publish(event: StreamEvent): void {
    for (const listener of this.listeners) {
      // One broken subscriber must not stop the others or the domain that published.
      try {
        listener(event);
      } catch {
        this.listeners.delete(listener);
      }
    }
  }

  /** Returns the unsubscribe function; `onClose` runs when the bus closes (shutdown ends streams). */
  subscribe(listener: StreamListener, onClose?: () => void): () => void {
    this.listeners.add(listener);
    if (onClose) this.closers.add(onClose);
    return () => {
      this.listeners.delete(listener);
      if (onClose) this.closers.delete(onClose);
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Ends every subscription, so open streams do not hold the HTTP server open at shutdown. */
  close(): void {
    for (const close of [...this.closers]) close();
    this.closers.clear();
    this.listeners.clear();
  }
}
