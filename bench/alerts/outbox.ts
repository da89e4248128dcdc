// Scenario "outbox" helpers: the notifications (groups of two firing alerts, sequences in order) and
// a counter around OutboxRepository's queries, to say how many the worker runs per delivery.
import type { AlertSnapshot } from '../../packages/server/src/alerts/alert.types.js';
import type { Notification } from '../../packages/server/src/notify/notification.types.js';
import { OutboxRepository } from '../../packages/server/src/storage/outbox.repository.js';
import { round } from '../lib/measure.js';

/** `count` notifications over `groups` groups, round-robin, each group's sequences in order. */
export function makeNotifications(run: string, count: number, groups: number): Notification[] {
  const perGroup = Math.ceil(count / groups);
  const out: Notification[] = [];
  const now = Date.now();
  for (let sequence = 1; sequence <= perGroup; sequence++)
    for (let g = 0; g < groups && out.length < count; g++) {
      const service = `${run}-svc-${g}`;
      const groupLabels = { alertname: 'HighErrorRate', service };
      const alerts: AlertSnapshot[] = [0, 1].map((k) => ({
        fingerprint: `${run}${g}x${k}`.padEnd(16, '0').slice(0, 16),
        labels: { ...groupLabels, instance: `host-${g}-${k}:8080`, severity: 'critical' },
        annotations: { summary: `${service} error rate is ${5 + sequence}% (above 5%)` },
        status: 'firing',
        startsAt: now - 60_000,
        endsAt: null,
        generatorUrl: 'http://127.0.0.1:8080/api/v1/query?query=x',
        suppressedBy: { silences: [], inhibitedBy: [], maintenance: [] },
      }));
      out.push({
        receiver: 'bench',
        groupKey: `{}:{alertname="HighErrorRate", service="${service}"}`,
        status: 'firing',
        groupLabels,
        commonLabels: { ...groupLabels, severity: 'critical' },
        commonAnnotations: {},
        alerts,
        reason: sequence === 1 ? 'new' : 'update',
        createdAt: now,
        sequence,
        externalUrl: 'http://127.0.0.1:8080',
      });
    }
  return out;
}

const METHODS = ['insert', 'expire', 'due', 'claim', 'nextDueAt', 'recordAttempt'] as const;
type Method = (typeof METHODS)[number];

export interface QueryCounter {
  /** Calls and time per repository method since the last take() (time includes waiting for the one SQLite connection). */
  take(): Record<Method, { calls: number; ms: number }>;
  restore(): void;
}

/** Wraps OutboxRepository's methods (this process only) to count the worker's queries. */
export function countOutboxQueries(): QueryCounter {
  const proto = OutboxRepository.prototype as unknown as Record<
    Method,
    (...args: unknown[]) => Promise<unknown>
  >;
  const originals = Object.fromEntries(METHODS.map((m) => [m, proto[m]])) as Record<
    Method,
    (...args: unknown[]) => Promise<unknown>
  >;
  const empty = () =>
    Object.fromEntries(METHODS.map((m) => [m, { calls: 0, ms: 0 }])) as Record<
      Method,
      { calls: number; ms: number }
    >;
  let stats = empty();
  for (const method of METHODS)
    proto[method] = async function (this: OutboxRepository, ...args: unknown[]) {
      const started = performance.now();
      try {
        return await originals[method].apply(this, args);
      } finally {
        stats[method].calls++;
        stats[method].ms += performance.now() - started;
      }
    };
  return {
    take() {
      const out = stats;
      stats = empty();
      for (const method of METHODS) out[method].ms = round(out[method].ms, 0);
      return out;
    },
    restore() {
      for (const method of METHODS) proto[method] = originals[method];
    },
  };
}
