// Live updates: the server's event stream says what changed; we refetch only the queries it touches.
import { useEffect, useState } from 'react';
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import type { StreamEvent } from '@opsbook/contracts';
import { streamUrl } from './api.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export function keysFor(event: StreamEvent): QueryKey[] {
  switch (event.type) {
    case 'check':
      return [['services'], ['checks'], ['events']];
    case 'alert':
      // A firing alert may fall in a deployment's watch window ("regressions after deploy").
      return [['alerts'], ['events'], ...(event.status === 'firing' ? [['deployments']] : [])];
    case 'incident':
      return [['incidents'], ['incident', event.id]];
    case 'runbook':
      return [['runs'], ['run', event.id], ...(event.incident ? [['incident', event.incident]] : [])];
    case 'deployment':
      return [['deployments'], ['events']];
    case 'backup':
      return [['backups'], ['events']];
    case 'drill':
      return [['drills'], ['events']];
  }
}

// A burst (a thousand checks failing together) becomes one refetch per query, not a thousand.
const BATCH_MS = 200;

export function useLiveUpdates(client: QueryClient): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  useEffect(() => {
    const pending = new Map<string, QueryKey>();
    let timer: number | undefined;
    const flush = () => {
      timer = undefined;
      for (const key of pending.values()) void client.invalidateQueries({ queryKey: key });
      pending.clear();
    };
    const source = new EventSource(streamUrl);
    source.addEventListener('ready', () => {
      setState('live');
      // Whatever changed while the stream was down (or the client fell behind) is fetched again.
      void client.invalidateQueries();
    });
    source.addEventListener('change', (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as StreamEvent;
      for (const key of keysFor(event)) pending.set(JSON.stringify(key), key);
      timer ??= window.setTimeout(flush, BATCH_MS);
    });
    // EventSource reconnects by itself; we only show that it is doing so.
    source.onerror = () => setState('reconnecting');
    return () => {
      source.close();
      window.clearTimeout(timer);
    };
  }, [client]);
  return state;
}
