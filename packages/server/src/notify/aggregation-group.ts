// One aggregation group: the alerts of one route with equal group-by labels, and what its receiver
// was last told (Alertmanager's aggrGroup plus its notification-log entry). No I/O here: the
// dispatcher asks for a plan, sends it, then commits it.
import { createHash } from 'node:crypto';
import { isSuppressed, type AlertSnapshot } from '../alerts/alert.types.js';
import type { Labels } from '../telemetry/series.js';
import type { Notification, NotificationReason } from './notification.types.js';
import { formatLabels, type CompiledRoute } from './routing.js';

/** What the receiver of one group was last told; persisted so a restart does not repeat or lose it. */
export interface GroupLog {
  groupKey: string;
  receiver: string;
  routeId: string;
  groupLabels: Labels;
  /** Sequence number of the last notification; a new group starts at 0 (or the log's sequence floor). */
  sequence: number;
  /** Alerts the receiver believes are firing, as last notified. */
  firing: Map<string, AlertSnapshot>;
  /** Fingerprints the last notification reported as resolved. */
  resolved: Set<string>;
  notifiedAt: number | null;
}

export interface Entry {
  alert: AlertSnapshot;
  /** Restored from the log after a restart and not re-sent by the alerts domain yet. */
  restored: boolean;
  /** Resolved while suppressed (or right after being suppressed). */
  silenced: boolean;
}

export interface FlushPlan {
  /** Undefined when nothing is sent; the plan is still committed (it drops resolved alerts). */
  notification?: Omit<Notification, 'sequence' | 'externalUrl' | 'receiver' | 'groupKey' | 'createdAt'>;
  /** The log after a successful flush; undefined when it does not change. */
  log?: { firing: Map<string, AlertSnapshot>; resolved: Set<string>; notified: boolean };
  /** Resolved entries to drop after the flush (unless updated meanwhile). */
  drop: Entry[];
}

export function newLog(
  groupKey: string,
  receiver: string,
  routeId: string,
  groupLabels: Labels,
  sequence = 0,
): GroupLog {
  return {
    groupKey,
    receiver,
    routeId,
    groupLabels,
    sequence,
    firing: new Map(),
    resolved: new Set(),
    notifiedAt: null,
  };
}

export function fingerprintSetHash(fingerprints: Iterable<string>): string {
  return createHash('sha256')
    .update([...fingerprints].sort().join('\n'))
    .digest('hex')
    .slice(0, 32);
}

export class AggregationGroup {
  readonly alerts = new Map<string, Entry>();
  hasFlushed = false;
  /** The group's last flush (a tick); later ticks come every groupInterval after it. */
  lastFlushAt: number | null = null;
  nextFlushAt = Infinity;
  /** An alert stopped being suppressed: flush now rather than at the next tick. */
  maintenanceEnded = false;
  /** Until when restored alerts may wait for the alerts domain to confirm them. */
  restoredUntil: number | null = null;
  /** Bumped on every reschedule; older heap entries are stale. */
  version = 0;
  /** No flush before this time (after the queue refused one). */
  notBefore = 0;

  constructor(
    readonly key: string,
    public route: CompiledRoute,
    readonly labels: Labels,
    public log: GroupLog,
    readonly createdAt: number,
  ) {}

  get empty(): boolean {
    return this.alerts.size === 0;
  }

  /** Takes a new state of one alert; returns false when a resolved alert is unknown here and ignored. */
  insert(alert: AlertSnapshot): boolean {
    const previous = this.alerts.get(alert.fingerprint);
    if (alert.status === 'resolved') {
      // A resolve for an alert this group never held (or already reported) has nothing to tell.
      if (!previous && !this.log.firing.has(alert.fingerprint)) return false;
      const wasSuppressed =
        previous !== undefined &&
        (previous.silenced || (previous.alert.status === 'firing' && isSuppressed(previous.alert)));
      this.alerts.set(alert.fingerprint, {
        alert,
        restored: false,
        silenced: isSuppressed(alert) || wasSuppressed,
      });
      return true;
    }
    // Alertmanager #3367: a firing alert leaving a silence or maintenance window is sent at once,
    // unless the receiver already knows it fires.
    if (
      previous &&
      previous.alert.status === 'firing' &&
      isSuppressed(previous.alert) &&
      !isSuppressed(alert) &&
      !this.log.firing.has(alert.fingerprint)
    )
      this.maintenanceEnded = true;
    this.alerts.set(alert.fingerprint, { alert, restored: false, silenced: false });
    return true;
  }

  /** After the restore grace, restored alerts nobody re-sent count as resolved. */
  expireRestored(now: number): void {
    if (this.restoredUntil === null || this.restoredUntil > now) return;
    this.restoredUntil = null;
    for (const [fingerprint, entry] of this.alerts) {
      if (!entry.restored) continue;
      this.alerts.set(fingerprint, {
        alert: { ...entry.alert, status: 'resolved', endsAt: now },
        restored: false,
        silenced: false,
      });
    }
  }

  get hasRestored(): boolean {
    for (const entry of this.alerts.values()) if (entry.restored) return true;
    return false;
  }

  /**
   * What a flush at `now` sends: Alertmanager's DedupStage.needsUpdate over the group's alerts,
   * with suppressed alerts left out of the firing set (its MuteStage).
   */
  plan(now: number, sendResolved: boolean, withRepeat = true): FlushPlan {
    const firing: AlertSnapshot[] = [];
    const suppressedFiring: AlertSnapshot[] = [];
    const resolved: AlertSnapshot[] = [];
    const drop: Entry[] = [];
    const known = this.log.firing;
    for (const entry of this.alerts.values()) {
      const a = entry.alert;
      if (a.status === 'firing') {
        if (isSuppressed(a)) suppressedFiring.push(a);
        else firing.push(a);
        continue;
      }
      drop.push(entry);
      // Alertmanager #226: a silenced alert's resolve is told only when the route asks for it, and
      // only to a receiver that was told it fires.
      if (!entry.silenced || (this.route.sendResolvedWhenSilenced && known.has(a.fingerprint)))
        resolved.push(a);
    }
    const told = sendResolved ? resolved : [];

    if (firing.length + suppressedFiring.length === 0) {
      // The group is over. Tell the receiver only about alerts it knew were firing.
      if (known.size === 0) return { drop };
      const send = told.some((a) => known.has(a.fingerprint));
      return {
        drop,
        log: {
          firing: new Map(),
          resolved: new Set(send ? told.map((a) => a.fingerprint) : []),
          notified: send,
        },
        notification: send ? this.notification('resolved', firing, told) : undefined,
      };
    }

    const newFiring = firing.some((a) => !known.has(a.fingerprint));
    const newResolved = sendResolved && resolved.some((a) => !this.log.resolved.has(a.fingerprint));
    const changed = newFiring || newResolved;
    const repeat =
      withRepeat &&
      !changed &&
      firing.length > 0 &&
      this.log.notifiedAt !== null &&
      now >= this.log.notifiedAt + this.route.repeatInterval;
    if (!changed && !repeat) return { drop };

    const reason: NotificationReason = this.maintenanceEnded
      ? 'maintenance-ended'
      : known.size === 0
        ? 'new'
        : changed
          ? 'update'
          : 'repeat';
    // Suppressed alerts the receiver was told about stay known, so their resolve can still be told.
    const nextFiring = new Map(firing.map((a) => [a.fingerprint, a]));
    for (const a of suppressedFiring) {
      const notified = known.get(a.fingerprint);
      if (notified) nextFiring.set(a.fingerprint, notified);
    }
    return {
      drop,
      log: { firing: nextFiring, resolved: new Set(told.map((a) => a.fingerprint)), notified: true },
      notification: this.notification(reason, firing, told),
    };
  }

  /** When this group next needs a flush, from the group's state; Infinity when it only waits for alerts. */
  computeNextFlush(now: number, sendResolved: boolean): number {
    if (this.maintenanceEnded) return now;
    if (this.restoredUntil !== null && this.hasRestored) return this.restoredUntil;
    if (!this.hasFlushed) return this.createdAt + this.route.groupWait;
    let next = Infinity;
    const plan = this.plan(now, sendResolved, false);
    if (plan.notification || plan.drop.length > 0 || (plan.log && !plan.log.notified))
      next = this.tickAtOrAfter(now);
    if (this.log.notifiedAt !== null && this.log.firing.size > 0) {
      let hasFiring = false;
      for (const e of this.alerts.values())
        if (e.alert.status === 'firing' && !isSuppressed(e.alert)) hasFiring = true;
      if (hasFiring)
        next = Math.min(next, this.tickAtOrAfter(this.log.notifiedAt + this.route.repeatInterval));
    }
    return next;
  }

  /** Alertmanager flushes a group on a ticker every groupInterval after its first flush. */
  private tickAtOrAfter(at: number): number {
    const last = this.lastFlushAt;
    if (last === null) return at;
    const interval = Math.max(1, this.route.groupInterval);
    return last + Math.max(1, Math.ceil((at - last) / interval)) * interval;
  }

  /** Applies a flush that went out (or needed nothing sent). */
  commit(plan: FlushPlan, now: number): void {
    if (plan.log) {
      this.log.firing = plan.log.firing;
      this.log.resolved = plan.log.resolved;
      if (plan.log.notified) {
        this.log.sequence += 1;
        this.log.notifiedAt = now;
      }
    }
    for (const entry of plan.drop) {
      // Alertmanager's DeleteIfNotModified: an alert updated during the flush stays.
      if (this.alerts.get(entry.alert.fingerprint) !== entry) continue;
      this.alerts.delete(entry.alert.fingerprint);
      // A resolve the receiver is never told: forget it was firing, so a restart does not tell it.
      if (!plan.log) this.log.firing.delete(entry.alert.fingerprint);
    }
    this.hasFlushed = true;
    this.lastFlushAt = now;
    this.maintenanceEnded = false;
  }

  private notification(
    reason: NotificationReason,
    firing: AlertSnapshot[],
    resolved: AlertSnapshot[],
  ): NonNullable<FlushPlan['notification']> {
    // Firing first, each part in label order (Alertmanager sorts by labels too).
    const sorted = (list: AlertSnapshot[]) =>
      list
        .map((a) => [formatLabels(a.labels), a] as const)
        .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
        .map(([, a]) => a);
    const alerts = [...sorted(firing), ...sorted(resolved)];
    return {
      status: firing.length > 0 ? 'firing' : 'resolved',
      groupLabels: { ...this.labels },
      commonLabels: common(alerts.map((a) => a.labels)),
      commonAnnotations: common(alerts.map((a) => a.annotations)),
      alerts,
      reason,
    };
  }
}

/** The name/value pairs present and equal in every record. */
function common(records: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = records;
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(first))
    if (rest.every((r) => r[name] === value)) out[name] = value;
  return out;
}
