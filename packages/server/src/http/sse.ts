// GET /api/v1/stream: server-sent events telling the console what changed, so it refetches only that.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { StreamEvent } from '@opsbook/contracts';
import type { EventBus } from '../runtime/event-bus.js';
import type { AuthService } from '../auth/auth.service.js';
import { identify } from './auth.middleware.js';

const MAX_QUEUED = 1000;

export interface SseDeps {
  events: EventBus;
  auth(): AuthService;
}

/** Comment lines keep proxies and browsers from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export function mountStream(app: OpenAPIHono, deps: SseDeps, heartbeatMs = HEARTBEAT_MS): void {
  app.get('/api/v1/stream', (c) => {
    c.header('cache-control', 'no-cache, no-transform');
    // nginx buffers responses unless told not to, which would hold events back.
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, async (stream) => {
      const queue: StreamEvent[] = [];
      // A client that cannot keep up is told to refetch everything instead of growing the queue.
      let overflowed = false;
      let wake: (() => void) | undefined;
      let open = true;
      const stop = (): void => {
        open = false;
        wake?.();
      };
      const unsubscribe = deps.events.subscribe((event) => {
        if (queue.length >= MAX_QUEUED) {
          queue.length = 0;
          overflowed = true;
        } else queue.push(event);
        wake?.();
      }, stop);
      stream.onAbort(stop);
      // A stream outlives no sign-out, disabling or revoked token: the caller is checked at each heartbeat.
      const heartbeat = setInterval(() => {
        void identify(c, deps.auth())
          .then(async (principal) => {
            if (principal) await stream.write(': heartbeat\n\n');
            else stop();
          })
          .catch(stop);
      }, heartbeatMs);
      try {
        // Tells the client the stream is up, so it can refetch what it may have missed while away.
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (open) {
          if (overflowed) {
            overflowed = false;
            await stream.writeSSE({ event: 'ready', data: '{"overflow":true}' });
            continue;
          }
          const event = queue.shift();
          if (event) {
            await stream.writeSSE({ event: 'change', data: JSON.stringify(event) });
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        clearInterval(heartbeat);
        unsubscribe();
      }
    });
  });
}
