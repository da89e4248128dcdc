// Alertmanager's dispatcher: routes alerts into aggregation groups, flushes each group on its
// group_wait / group_interval / repeat_interval timers into the notification queue, and keeps its
// notification log in the database (Alertmanager #2370: restarts neither repeat nor lose notifications).
import { MinHeap } from '../lib/min-heap.js';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AlertSink, AlertSnapshot } from '../alerts/alert.types.js';
import type { ReceiverConfig, RouteConfig } from '../config/notifications.schema.js';
import type { Store } from '../storage/db.js';
import { DispatchRepository, type DispatchLogRow } from '../storage/dispatch.repository.js';
import type { Labels } from '../telemetry/series.js';
import {
  AggregationGroup,
  fingerprintSetHash,
  newLog,
  type Entry,
  type GroupLog,
} from './aggregation-group.js';
import type { Notification, NotificationQueue } from './notification.types.js';
import { compileRoutes, groupKeyFor, groupLabelsFor, type CompiledRoute, type RouteTree } from './routing.js';

export interface DispatcherOptions {
  store: Store;
  queue: NotificationQueue;
  route: RouteConfig | undefined;
  receivers: ReceiverConfig[];
  externalUrl?: string;
  logger: Logger;
  now?: () => number;
  /** Longest the timer sleeps between checks (and saves of pending state); 0 turns the timer off. */
  tickMs?: number;
  /**
   * After a restart, how long an alert the log says was notified as firing may go without being
   * re-sent by the alerts domain before it counts as resolved (Alertmanager's resolve_timeout).
   */
  restoreGraceMs?: number;
  /** How long the log keeps entries of groups that ended (Alertmanager's nflog retention). */
  logRetentionMs?: number;
}

export interface GroupInfo {
  groupKey: string;
  receiver: string;
  routeId: string;
  groupLabels: Labels;
  /** Alerts held: firing (including suppressed) and resolved ones not notified yet. */
  alerts: number;
  firing: number;
  /** Epoch ms of the next flush, null when the group only waits for alerts. */
  nextFlushAt: number | null;
  lastNotifiedAt: number | null;
  sequence: number;
}

const DEFAULT_TICK_MS = 1_000;
const DEFAULT_RESTORE_GRACE_MS = 5 * 60_000;
const DEFAULT_LOG_RETENTION_MS = 120 * 3_600_000;
/** Delay before retrying a flush the queue refused. */
const RETRY_MS = 10_000;
const PRUNE_EVERY_MS = 3_600_000;

interface HeapEntry {
  at: number;
  key: string;
  version: number;
}

interface PendingResolve {
  alert: AlertSnapshot;
  silenced: boolean;
}

function logId(groupKey: string, receiver: string): string {
  return createHash('sha256')
    .update(JSON.stringify([groupKey, receiver]))
    .digest('hex')
    .slice(0, 40);
}

export class Dispatcher implements AlertSink {
  private readonly repository: DispatchRepository;
  private readonly queue: NotificationQueue;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly restoreGraceMs: number;
  private readonly logRetentionMs: number;

  private tree: RouteTree | undefined;
  private receivers = new Map<string, ReceiverConfig>();
  private externalUrl = '';
  private groupsByKey = new Map<string, AggregationGroup>();
  /** Every log entry loaded or written, by id; entries outlive their groups so sequences continue. */
  private readonly logs = new Map<string, GroupLog>();
  private readonly dirty = new Set<string>();
  private readonly heap = new MinHeap<HeapEntry>((e) => e.at);
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private loaded = false;
  private running = false;
  private stopped = false;
  private buffered: AlertSnapshot[] = [];
  private chain: Promise<void> = Promise.resolve();
  private lastPruneAt = 0;
  /** New groups number their notifications above this (see DispatchRepository.prune). */
  private sequenceFloor = 0;
  private configured = false;

  constructor(options: DispatcherOptions) {
    this.repository = new DispatchRepository(options.store.db);
    this.queue = options.queue;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.tickMs = options.tickMs ?? DEFAULT_TICK_MS;
    this.restoreGraceMs = options.restoreGraceMs ?? DEFAULT_RESTORE_GRACE_MS;
    this.logRetentionMs = options.logRetentionMs ?? DEFAULT_LOG_RETENTION_MS;
    this.configure(options.route, options.receivers, options.externalUrl);
  }

  /** Loads the notification log, restores the groups it describes and starts the timer. */
  async start(): Promise<void> {
    if (this.loaded) return;
    const now = this.now();
    await this.repository.prune(now - this.logRetentionMs, now);
    const { rows, sequenceFloor } = await this.repository.load();
    this.sequenceFloor = sequenceFloor;
    for (const row of rows) this.restore(row, now);
    this.lastPruneAt = now;
    this.loaded = true;
    this.running = true;
    const buffered = this.buffered;
    this.buffered = [];
    if (buffered.length > 0) this.update(buffered);
    this.arm();
  }

  /** Stops the timer and writes pending state; in-flight flushes finish first. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    await this.serial(() => this.saveDirty(this.now()));
  }

  update(alerts: AlertSnapshot[]): void {
    if (this.stopped) return;
    if (!this.loaded) {
      // The log decides what is new; hold alerts until it is loaded.
      this.buffered.push(...alerts);
      return;
    }
    const tree = this.tree;
    if (!tree) return;
    const now = this.now();
    const touched = new Set<AggregationGroup>();
    for (const alert of alerts) {
      for (const route of tree.match(alert.labels)) {
        const labels = groupLabelsFor(route, alert.labels);
        const key = groupKeyFor(route, labels);
        let group = this.groupsByKey.get(key);
        if (!group) {
          if (alert.status === 'resolved') continue;
          group = this.createGroup(key, route, labels, now);
        }
        if (group.insert(alert)) touched.add(group);
      }
    }
    for (const group of touched) {
      this.reschedule(group, now);
      for (const entry of group.alerts.values())
        if (entry.alert.status === 'resolved') {
          this.markDirty(group.log);
          break;
        }
    }
    this.arm();
  }

  /** A config reload: regroups every held alert under the new tree, keeping groups whose key remains. */
  apply(route: RouteConfig | undefined, receivers: ReceiverConfig[], externalUrl?: string): void {
    const previous = this.groupsByKey;
    this.configure(route, receivers, externalUrl);
    const now = this.now();
    this.groupsByKey = new Map();
    this.heap.clear();
    const tree = this.tree;
    const entries = new Map<string, Entry>();
    for (const group of previous.values())
      for (const entry of group.alerts.values()) {
        const seen = entries.get(entry.alert.fingerprint);
        if (!seen || (seen.restored && !entry.restored)) entries.set(entry.alert.fingerprint, entry);
      }
    const reused = new Set<AggregationGroup>();
    if (tree) {
      for (const group of previous.values()) {
        const next = tree.byKey.get(group.route.key);
        if (next && next.receiver === group.route.receiver) {
          group.route = next;
          group.alerts.clear();
        }
      }
      for (const entry of entries.values()) {
        for (const next of tree.match(entry.alert.labels)) {
          const labels = groupLabelsFor(next, entry.alert.labels);
          const key = groupKeyFor(next, labels);
          let group = this.groupsByKey.get(key);
          if (!group) {
            const old = previous.get(key);
            if (old && old.route === next) {
              group = old;
              reused.add(old);
            } else {
              // A new group only takes what fires; its receiver never heard of the rest.
              if (entry.restored || entry.alert.status === 'resolved') continue;
              group = this.createGroup(key, next, labels, now);
            }
            this.groupsByKey.set(key, group);
          }
          if (group.alerts.has(entry.alert.fingerprint)) continue;
          if (!reused.has(group) && (entry.restored || entry.alert.status === 'resolved')) continue;
          group.alerts.set(entry.alert.fingerprint, entry);
        }
      }
    }
    for (const [key, group] of this.groupsByKey)
      if (group.empty) {
        this.groupsByKey.delete(key);
        this.forget(group);
      }
    for (const group of previous.values()) if (!reused.has(group)) this.forget(group);
    for (const group of this.groupsByKey.values()) {
      group.nextFlushAt = Infinity;
      this.reschedule(group, now);
    }
    this.arm();
  }

  /** The groups held now, for the API. */
  groups(): GroupInfo[] {
    return [...this.groupsByKey.values()]
      .map((g) => {
        let firing = 0;
        for (const e of g.alerts.values()) if (e.alert.status === 'firing') firing++;
        return {
          groupKey: g.key,
          receiver: g.route.receiver,
          routeId: g.route.key,
          groupLabels: { ...g.labels },
          alerts: g.alerts.size,
          firing,
          nextFlushAt: Number.isFinite(g.nextFlushAt) ? g.nextFlushAt : null,
          lastNotifiedAt: g.log.notifiedAt,
          sequence: g.log.sequence,
        };
      })
      .sort((a, b) => (a.groupKey < b.groupKey ? -1 : a.groupKey > b.groupKey ? 1 : 0));
  }

  /** Flushes every group due at `now` and saves pending state. The timer calls it; tests call it directly. */
  tick(now: number = this.now()): Promise<void> {
    return this.serial(async () => {
      if (!this.loaded) return;
      const due: AggregationGroup[] = [];
      while ((this.heap.peek()?.at ?? Infinity) <= now) {
        const entry = this.heap.pop()!;
        const group = this.groupsByKey.get(entry.key);
        if (!group || group.version !== entry.version) continue;
        group.nextFlushAt = Infinity;
        group.version++;
        due.push(group);
      }
      for (const group of due) await this.flush(group, now);
      if (now - this.lastPruneAt >= PRUNE_EVERY_MS) await this.prune(now);
      await this.saveDirty(now);
    }).finally(() => this.arm());
  }

  private configure(route: RouteConfig | undefined, receivers: ReceiverConfig[], externalUrl?: string): void {
    const hadTree = this.tree !== undefined;
    this.receivers = new Map(receivers.map((r) => [r.name, r]));
    this.externalUrl = externalUrl ?? '';
    this.tree = undefined;
    if (!route) {
      if (hadTree || !this.configured)
        this.logger.info('notifications: no route configured; alerts are not dispatched');
      this.configured = true;
      return;
    }
    this.configured = true;
    let tree: RouteTree;
    try {
      tree = compileRoutes(route);
    } catch (error) {
      this.logger.error(
        { err: error },
        'notifications: the route tree does not compile; alerts are not dispatched',
      );
      return;
    }
    if (!tree.root.receiver) {
      this.logger.error('notifications: the root route has no receiver; alerts are not dispatched');
      return;
    }
    for (const warning of tree.warnings) this.logger.warn(`notifications: ${warning}`);
    for (const r of tree.byKey.values())
      if (!this.receivers.has(r.receiver))
        this.logger.warn(
          `notifications: route ${r.key} names receiver "${r.receiver}", which is not defined`,
        );
    this.tree = tree;
  }

  private sendResolved(group: AggregationGroup): boolean {
    return this.receivers.get(group.route.receiver)?.sendResolved ?? true;
  }

  private createGroup(key: string, route: CompiledRoute, labels: Labels, now: number): AggregationGroup {
    const id = logId(key, route.receiver);
    const log = this.logs.get(id) ?? newLog(key, route.receiver, route.key, labels, this.sequenceFloor);
    // A group starting afresh: whatever its receiver was told earlier has been resolved or re-routed.
    if (log.firing.size > 0 || log.resolved.size > 0) {
      log.firing = new Map();
      log.resolved = new Set();
      this.markDirty(log);
    }
    log.routeId = route.key;
    log.groupLabels = labels;
    const group = new AggregationGroup(key, route, labels, log, now);
    this.groupsByKey.set(key, group);
    return group;
  }

  /** Rebuilds a group from its log entry: what was notified as firing waits to be confirmed. */
  private restore(row: DispatchLogRow, now: number): void {
    const firing = JSON.parse(row.firing) as AlertSnapshot[];
    const pending = JSON.parse(row.pending) as PendingResolve[];
    const log: GroupLog = {
      groupKey: row.group_key,
      receiver: row.receiver,
      routeId: row.route_id,
      groupLabels: JSON.parse(row.group_labels) as Labels,
      sequence: row.sequence,
      firing: new Map(firing.map((a) => [a.fingerprint, a])),
      resolved: new Set(JSON.parse(row.resolved) as string[]),
      notifiedAt: row.notified_at,
    };
    this.logs.set(row.id, log);
    if (log.firing.size === 0) return;
    const route = this.tree?.byKey.get(log.routeId);
    const sameGroup =
      route !== undefined &&
      route.receiver === log.receiver &&
      firing.every((a) => groupKeyFor(route, groupLabelsFor(route, a.labels)) === log.groupKey);
    if (!sameGroup) {
      // The config changed while we were down: this group no longer exists.
      this.logger.info(
        { groupKey: log.groupKey, receiver: log.receiver },
        'notifications: dropped a group the config no longer has',
      );
      log.firing = new Map();
      this.markDirty(log);
      return;
    }
    const group = new AggregationGroup(log.groupKey, route, log.groupLabels, log, now);
    group.hasFlushed = true;
    group.lastFlushAt = log.notifiedAt;
    for (const alert of firing)
      group.alerts.set(alert.fingerprint, { alert, restored: true, silenced: false });
    for (const p of pending)
      group.alerts.set(p.alert.fingerprint, { alert: p.alert, restored: false, silenced: p.silenced });
    group.restoredUntil = now + this.restoreGraceMs;
    this.groupsByKey.set(group.key, group);
    this.reschedule(group, now);
  }

  private async flush(group: AggregationGroup, now: number): Promise<void> {
    group.expireRestored(now);
    const plan = group.plan(now, this.sendResolved(group));
    if (plan.notification) {
      const notification: Notification = {
        ...plan.notification,
        receiver: group.route.receiver,
        groupKey: group.key,
        createdAt: now,
        sequence: group.log.sequence + 1,
        externalUrl: this.externalUrl,
      };
      try {
        await this.queue.enqueue(notification);
      } catch (error) {
        this.logger.error(
          { err: error, groupKey: group.key, receiver: group.route.receiver },
          'notifications: could not queue a notification; retrying',
        );
        group.notBefore = now + Math.min(RETRY_MS, Math.max(1, group.route.groupInterval));
        this.reschedule(group, now);
        return;
      }
      this.logger.debug(
        {
          groupKey: group.key,
          receiver: notification.receiver,
          reason: notification.reason,
          sequence: notification.sequence,
        },
        'notifications: queued',
      );
    }
    group.commit(plan, now);
    group.notBefore = 0;
    if (plan.log) {
      this.logs.set(logId(group.key, group.log.receiver), group.log);
      this.markDirty(group.log);
    } else if (plan.drop.length > 0 && this.logs.has(logId(group.key, group.log.receiver))) {
      this.markDirty(group.log);
    }
    if (group.empty) {
      if (this.groupsByKey.get(group.key) === group) this.groupsByKey.delete(group.key);
    } else this.reschedule(group, now);
    // What was sent is logged before anything else happens, so a crash can only repeat it once
    // (with the same sequence number), never lose it.
    if (plan.notification) await this.saveDirty(now);
  }

  private reschedule(group: AggregationGroup, now: number): void {
    if (this.groupsByKey.get(group.key) !== group) return;
    const next = Math.max(group.computeNextFlush(now, this.sendResolved(group)), group.notBefore);
    if (next === group.nextFlushAt) return;
    group.nextFlushAt = next;
    group.version++;
    if (Number.isFinite(next)) this.heap.push({ at: next, key: group.key, version: group.version });
  }

  /** A group dropped by a config reload: a restart must not bring it back. */
  private forget(group: AggregationGroup): void {
    if (group.log.firing.size === 0) return;
    group.log.firing = new Map();
    if (this.logs.has(logId(group.key, group.log.receiver))) this.markDirty(group.log);
  }

  private markDirty(log: GroupLog): void {
    this.dirty.add(logId(log.groupKey, log.receiver));
  }

  private async saveDirty(now: number): Promise<void> {
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const rows: DispatchLogRow[] = [];
    for (const id of ids) {
      const log = this.logs.get(id);
      if (!log) continue;
      const group = this.groupsByKey.get(log.groupKey);
      const live = group && group.log === log ? group : undefined;
      const pending: PendingResolve[] = [];
      if (live)
        for (const e of live.alerts.values())
          if (e.alert.status === 'resolved') pending.push({ alert: e.alert, silenced: e.silenced });
      rows.push({
        id,
        group_key: log.groupKey,
        receiver: log.receiver,
        route_id: log.routeId,
        group_labels: JSON.stringify(log.groupLabels),
        sequence: log.sequence,
        firing_hash: fingerprintSetHash(log.firing.keys()),
        firing: JSON.stringify([...log.firing.values()]),
        resolved: JSON.stringify([...log.resolved]),
        pending: JSON.stringify(pending),
        notified_at: log.notifiedAt,
        next_flush_at: live && Number.isFinite(live.nextFlushAt) ? live.nextFlushAt : null,
        updated_at: now,
      });
    }
    try {
      await this.repository.save(rows);
    } catch (error) {
      for (const id of ids) this.dirty.add(id);
      this.logger.error({ err: error }, 'notifications: could not save the notification log; retrying');
    }
  }

  private async prune(now: number): Promise<void> {
    this.lastPruneAt = now;
    const cutoff = now - this.logRetentionMs;
    const active = new Set<GroupLog>([...this.groupsByKey.values()].map((g) => g.log));
    try {
      const { ids, sequenceFloor } = await this.repository.prune(cutoff, now);
      this.sequenceFloor = Math.max(this.sequenceFloor, sequenceFloor);
      for (const id of ids) {
        const log = this.logs.get(id);
        if (log && !active.has(log) && !this.dirty.has(id)) this.logs.delete(id);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'notifications: could not prune the notification log');
    }
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private arm(): void {
    if (!this.running || this.tickMs <= 0) return;
    while (this.heap.size > 0) {
      const top = this.heap.peek()!;
      const group = this.groupsByKey.get(top.key);
      if (group && group.version === top.version) break;
      this.heap.pop();
    }
    const now = this.now();
    const at = Math.min(this.heap.peek()?.at ?? Infinity, now + this.tickMs);
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.tick(this.now()).catch((error: unknown) =>
          this.logger.error({ err: error }, 'notifications: dispatcher tick failed'),
        );
      },
      Math.max(0, at - now),
    );
  }
}
