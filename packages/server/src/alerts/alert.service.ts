import { createHash } from 'node:crypto';
// Holds every active alert (from rules evaluated here and from external Prometheus/Alertmanager),
// persists each change so state survives a restart, works out suppression, and hands changes to
// the notification pipeline.
import type { Logger } from 'pino';
import { expandWindow, type AlertingConfig, type RuleConfig } from '../config/alerting.schema.js';
import type { NewEvent } from '../storage/event.repository.js';
import { AlertRepository, type AlertRow, type NewHistoryRow } from '../storage/alert.repository.js';
import type { Store } from '../storage/db.js';
import type { Labels, SeriesSource } from '../telemetry/series.js';
import { parseExpr, type Expr } from '../telemetry/promql/parser.js';
import { evaluateInstant } from '../telemetry/promql/engine.js';
import type { AlertSink, AlertSnapshot } from './alert.types.js';
import { defaultRules } from './default-rules.js';
import { fingerprint } from './fingerprint.js';
import { applyRuleResult, type ActiveAlert, type StateChange } from './rule-state.js';
import { SilenceService } from './silence.service.js';
import { InhibitionIndex } from './inhibition-index.js';
import {
  compileInhibitRules,
  sameSuppression,
  silenceActive,
  suppressionFor,
  windowActive,
} from './suppression.js';

/** Resolved alerts stay listed (and re-notifiable) this long, like Prometheus's resend of resolved alerts. */
const KEEP_RESOLVED_MS = 15 * 60_000;

export interface CompiledRule {
  /** Alert name plus a hash of what defines the rule, so two rules may share a name. */
  id: string;
  config: RuleConfig;
  expr: Expr;
  exprText: string;
  health: 'unknown' | 'ok' | 'err';
  lastError: string | null;
  lastEvaluation: number | null;
  evaluationMs: number | null;
}

export interface ExternalAlert {
  labels: Labels;
  annotations: Record<string, string>;
  startsAt?: number;
  endsAt?: number;
  generatorUrl?: string;
  /** Alertmanager webhooks do not re-send firing alerts: keep them until a resolved one arrives. */
  keepUntilResolved?: boolean;
}

export interface AlertServiceOptions {
  store: Store;
  source: SeriesSource;
  logger: Logger;
  sink?: AlertSink;
  onEvent?(event: NewEvent): void;
  /** Every recorded state change, pending and inactive included (the sink hears only firing and resolved). */
  onTransition?(change: { fingerprint: string; state: string; service: string | null }): void;
  externalUrl?: string;
  now?(): number;
}

type Suppression = AlertSnapshot['suppressedBy'];
const NONE: Suppression = { silences: [], inhibitedBy: [], maintenance: [] };
const NONE_JSON = JSON.stringify(NONE);

/** A POST waiting to join the next group commit. */
interface QueuedIntake {
  alerts: ExternalAlert[];
  resolve(accepted: number): void;
  reject(error: unknown): void;
}

/** Bounds one group commit; requests beyond it wait for the next. */
const MAX_GROUP_ALERTS = 5_000;

export class AlertService {
  readonly silences: SilenceService;
  private readonly repository: AlertRepository;
  private readonly alerts = new Map<string, ActiveAlert>();
  private readonly suppression = new Map<string, Suppression>();
  private rules: CompiledRule[] = [];
  private inhibition = new InhibitionIndex([]);
  /** Alerts whose suppression must be worked out again at the next commit. */
  private readonly dirty = new Set<string>();
  /** The expiry each external alert has in the store, to skip writing unchanged re-sends. */
  private readonly storedExpiry = new Map<string, number | null>();
  private config: AlertingConfig | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly intake: QueuedIntake[] = [];
  private intakeQueued = false;
  private evaluationTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private boundaryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: AlertServiceOptions) {
    this.now = options.now ?? Date.now;
    this.repository = new AlertRepository(options.store.db, options.store.sqlite);
    this.silences = new SilenceService(this.repository, this.now);
  }

  /** Loads alerts, silences and windows from the store: alert state survives restarts. */
  async load(): Promise<void> {
    for (const row of await this.repository.loadAlerts()) {
      const alert = fromRow(row);
      this.put(alert);
      this.storedExpiry.set(alert.fingerprint, alert.expiresAt);
      this.suppression.set(alert.fingerprint, JSON.parse(row.suppressed_by) as Suppression);
    }
    await this.silences.load();
  }

  async applyConfig(config: AlertingConfig): Promise<void> {
    this.config = config;
    const previous = new Map(this.rules.map((r) => [r.id, r]));
    this.rules = [...defaultRules(config.defaultRules), ...config.rules].map((rule) => {
      const exprText = expandWindow(rule.expr, rule.window);
      const id = ruleId(rule, exprText);
      const kept = previous.get(id);
      return kept
        ? { ...kept, config: rule }
        : {
            id,
            config: rule,
            expr: parseExpr(exprText),
            exprText,
            health: 'unknown',
            lastError: null,
            lastEvaluation: null,
            evaluationMs: null,
          };
    });
    this.inhibition = new InhibitionIndex(compileInhibitRules(config.inhibitRules));
    for (const alert of this.alerts.values()) this.inhibition.set(alert);
    await this.silences.syncConfigWindows(config.maintenance);
  }

  /** Starts evaluating every evaluationInterval (guide 3.4: 1 min) and re-checking suppression every 10 s. */
  start(): void {
    const interval = this.config?.evaluationInterval ?? 60_000;
    const loop = () => {
      void this.evaluate();
      this.evaluationTimer = setTimeout(loop, interval - (this.now() % interval) || interval);
      this.evaluationTimer.unref();
    };
    loop();
    this.tickTimer = setInterval(() => void this.tick(), 10_000);
    this.tickTimer.unref();
    // Tell the notification pipeline everything that is active, so nothing is lost across a restart.
    this.options.sink?.update(
      [...this.alerts.values()].filter((a) => a.state !== 'pending').map((a) => this.snapshot(a)),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.boundaryTimer);
    clearTimeout(this.evaluationTimer);
    clearInterval(this.tickTimer);
    await this.queue.catch(() => {});
  }

  /** Evaluates every rule once (one cycle) and applies the results. */
  evaluate(): Promise<void> {
    return this.serial(async () => {
      const now = this.now();
      const changes: StateChange[] = [];
      const removed: string[] = [];
      const touched: ActiveAlert[] = [];
      const byRule = new Map<string, ActiveAlert[]>();
      for (const alert of this.alerts.values()) {
        if (alert.source !== 'rule' || !alert.rule) continue;
        const list = byRule.get(alert.rule);
        if (list) list.push(alert);
        else byRule.set(alert.rule, [alert]);
      }
      const evaluated = new Set<string>();
      for (const rule of this.rules) {
        evaluated.add(rule.id);
        const started = performance.now();
        let samples: { labels: Labels; value: number }[];
        try {
          const result = await evaluateInstant(rule.expr, now, this.options.source);
          samples = result.type === 'vector' ? result.samples : [];
          rule.health = 'ok';
          rule.lastError = null;
        } catch (error) {
          rule.health = 'err';
          rule.lastError = (error as Error).message;
          rule.lastEvaluation = now;
          continue;
        }
        rule.lastEvaluation = now;
        rule.evaluationMs = performance.now() - started;
        const current = byRule.get(rule.id) ?? [];
        const url = `${this.options.externalUrl ?? ''}/api/v1/query?query=${encodeURIComponent(rule.exprText)}`;
        const result = applyRuleResult(rule.config, samples, current, now, url, rule.id);
        const kept = new Set(result.alerts.map((a) => a.fingerprint));
        for (const alert of current) if (!kept.has(alert.fingerprint)) removed.push(alert.fingerprint);
        for (const alert of result.alerts) {
          this.put(alert);
          // Value and annotations change every cycle; store them.
          if (alert.lastSeenAt === now) touched.push(alert);
        }
        changes.push(...result.changes);
      }
      // Alerts of rules that no longer exist resolve.
      for (const [rule, alerts] of byRule) {
        if (evaluated.has(rule)) continue;
        for (const alert of alerts) {
          if (alert.state === 'pending') {
            removed.push(alert.fingerprint);
            changes.push({ alert, to: 'inactive' });
          } else if (alert.state === 'firing') {
            const resolved = { ...alert, state: 'resolved' as const, resolvedAt: now };
            this.put(resolved);
            changes.push({ alert: resolved, to: 'resolved' });
          }
        }
      }
      for (const fp of removed) this.drop(fp);
      await this.commit(changes, removed, now, { touched });
    });
  }

  /**
   * Alerts received from Prometheus (POST /api/v2/alerts) or an Alertmanager webhook; resolves with how
   * many were taken once they are committed. Concurrent calls share one pass and one transaction (group
   * commit), handled as one request with the bodies in arrival order; each caller gets its own count.
   */
  ingest(external: ExternalAlert[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.intake.push({ alerts: external, resolve, reject });
      if (this.intakeQueued) return;
      this.intakeQueued = true;
      this.serial(async () => {
        // One turn of the event loop: requests whose bodies are already in join this group.
        await new Promise((next) => setImmediate(next));
        this.intakeQueued = false;
        await this.ingestGroup(this.takeGroup());
      }).catch(() => {});
    });
  }

  /** The queued requests up to MAX_GROUP_ALERTS (at least one); the rest get a pass of their own. */
  private takeGroup(): QueuedIntake[] {
    let alerts = 0;
    let count = 0;
    while (
      count < this.intake.length &&
      (count === 0 || alerts + this.intake[count]!.alerts.length <= MAX_GROUP_ALERTS)
    )
      alerts += this.intake[count++]!.alerts.length;
    const group = this.intake.splice(0, count);
    if (this.intake.length > 0 && !this.intakeQueued) {
      this.intakeQueued = true;
      this.serial(async () => {
        this.intakeQueued = false;
        await this.ingestGroup(this.takeGroup());
      }).catch(() => {});
    }
    return group;
  }

  /**
   * Applies a group of requests and commits them in one transaction. Every caller hears only after the
   * commit; if it fails, every caller gets the error and the alerts in memory go back to what is stored,
   * so a retry writes them again.
   */
  private async ingestGroup(group: QueuedIntake[]): Promise<void> {
    const now = this.now();
    const resolveTimeout = this.config?.resolveTimeout ?? 5 * 60_000;
    const changes: StateChange[] = [];
    const accepted: number[] = [];
    /** Each alert as it was before this group touched it (undefined: it was not held). */
    const before = new Map<string, ActiveAlert | undefined>();
    try {
      for (const request of group) {
        let stored = 0;
        for (const input of request.alerts) {
          // An empty label is an absent label, as in Alertmanager: same alert, same fingerprint.
          const labels = withoutEmptyValues(input.labels);
          const id = fingerprint(labels);
          const previous = this.alerts.get(id);
          const endsAt = input.endsAt;
          const resolved = endsAt !== undefined && endsAt <= now;
          if (resolved && (!previous || previous.state === 'resolved')) continue;
          if (!before.has(id)) before.set(id, previous);
          const alert: ActiveAlert = {
            fingerprint: id,
            source: 'external',
            rule: null,
            labels,
            annotations: input.annotations,
            state: resolved ? 'resolved' : 'firing',
            activeAt: previous && previous.state !== 'resolved' ? previous.activeAt : (input.startsAt ?? now),
            firedAt: previous && previous.state === 'firing' ? previous.firedAt : (input.startsAt ?? now),
            resolvedAt: resolved ? endsAt : null,
            expiresAt: resolved ? null : (endsAt ?? (input.keepUntilResolved ? null : now + resolveTimeout)),
            lastSeenAt: now,
            value: null,
            generatorUrl: input.generatorUrl ?? '',
          };
          stored++;
          if (!previous || previous.state !== alert.state) {
            this.put(alert);
            changes.push({ alert, to: alert.state });
          } else {
            // Same fingerprint, so the same labels, and the same state: suppression cannot have changed.
            this.alerts.set(id, alert);
            if (this.needsStoring(previous, alert, resolveTimeout))
              changes.push({ alert, to: alert.state, quiet: true });
          }
        }
        accepted.push(stored);
      }
      await this.commit(changes, [], now);
    } catch (error) {
      for (const [id, alert] of before) {
        if (alert) this.put(alert);
        else this.drop(id);
      }
      for (const request of group) request.reject(error);
      throw error;
    }
    group.forEach((request, i) => request.resolve(accepted[i]!));
  }

  /** Expires external alerts past their endsAt, drops old resolved ones, re-checks suppression. */
  tick(): Promise<void> {
    return this.serial(async () => {
      const now = this.now();
      const changes: StateChange[] = [];
      const removed: string[] = [];
      for (const alert of this.alerts.values()) {
        if (
          alert.source === 'external' &&
          alert.state === 'firing' &&
          alert.expiresAt !== null &&
          alert.expiresAt <= now
        ) {
          const resolved = { ...alert, state: 'resolved' as const, resolvedAt: alert.expiresAt };
          this.put(resolved);
          changes.push({ alert: resolved, to: 'resolved' });
        } else if (
          alert.state === 'resolved' &&
          alert.resolvedAt !== null &&
          now - alert.resolvedAt > KEEP_RESOLVED_MS
        ) {
          removed.push(alert.fingerprint);
        }
      }
      for (const fp of removed) this.drop(fp);
      await this.commit(changes, removed, now, { full: true });
    });
  }

  /** Re-checks suppression now (after a silence or window was created or expired). */
  refresh(): Promise<void> {
    return this.serial(() => this.commit([], [], this.now(), { full: true }));
  }

  list(): { alert: ActiveAlert; suppressedBy: Suppression }[] {
    return [...this.alerts.values()].map((alert) => ({
      alert,
      suppressedBy: this.suppression.get(alert.fingerprint) ?? NONE,
    }));
  }

  ruleList(): CompiledRule[] {
    return this.rules;
  }

  /** Active alert counts per rule id. */
  countByRule(): Map<string, { pending: number; firing: number }> {
    const counts = new Map<string, { pending: number; firing: number }>();
    for (const alert of this.alerts.values()) {
      if (!alert.rule || alert.state === 'resolved') continue;
      const entry = counts.get(alert.rule) ?? { pending: 0, firing: 0 };
      entry[alert.state]++;
      counts.set(alert.rule, entry);
    }
    return counts;
  }

  /** Retention: alert history older than `historyBefore`, silences expired over 120 h ago. */
  purge(historyBefore: number): Promise<number> {
    return this.serial(async () => {
      const history = await this.repository.purgeHistory(historyBefore);
      return history + (await this.silences.forgetExpired(this.now() - 120 * 3_600_000));
    });
  }

  history = (filter: Parameters<AlertRepository['history']>[0]) => this.repository.history(filter);

  /** Fingerprints of pending or firing alerts that match, for until-resolved silences. */
  matching(predicate: (labels: Labels) => boolean): string[] {
    return [...this.alerts.values()]
      .filter((a) => a.state !== 'resolved' && predicate(a.labels))
      .map((a) => a.fingerprint);
  }

  snapshot(alert: ActiveAlert): AlertSnapshot {
    return {
      fingerprint: alert.fingerprint,
      labels: alert.labels,
      annotations: alert.annotations,
      status: alert.state === 'resolved' ? 'resolved' : 'firing',
      startsAt: alert.firedAt ?? alert.activeAt,
      endsAt: alert.state === 'resolved' ? alert.resolvedAt : null,
      generatorUrl: alert.generatorUrl,
      suppressedBy: this.suppression.get(alert.fingerprint) ?? NONE,
    };
  }

  /** Wakes up exactly when a silence or maintenance window starts or ends (Alertmanager #3367: notify at once). */
  private armBoundary(now: number): void {
    clearTimeout(this.boundaryTimer);
    const next = this.silences.nextBoundary(now);
    if (next === undefined || this.stopped) return;
    this.boundaryTimer = setTimeout(() => void this.refresh(), Math.min(next - now + 5, 2 ** 31 - 1));
    this.boundaryTimer.unref();
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'alert processing failed'),
    );
    return run;
  }

  /**
   * Prometheus re-sends firing alerts every evaluation. A re-send that changes nothing but the expiry
   * is stored only when the stored expiry would lapse within half the resolve timeout.
   */
  private needsStoring(before: ActiveAlert, after: ActiveAlert, resolveTimeout: number): boolean {
    if (before.generatorUrl !== after.generatorUrl || !sameRecord(before.annotations, after.annotations))
      return true;
    const stored = this.storedExpiry.get(after.fingerprint);
    if (after.expiresAt === null || stored === undefined || stored === null)
      return after.expiresAt !== stored;
    return stored - after.lastSeenAt < resolveTimeout / 2;
  }

  private put(alert: ActiveAlert): void {
    this.alerts.set(alert.fingerprint, alert);
    this.dirty.add(alert.fingerprint);
    for (const target of this.inhibition.set(alert)) this.dirty.add(target);
  }

  private drop(fingerprint: string): void {
    this.alerts.delete(fingerprint);
    this.storedExpiry.delete(fingerprint);
    this.suppression.delete(fingerprint);
    this.dirty.delete(fingerprint);
    for (const target of this.inhibition.delete(fingerprint)) this.dirty.add(target);
  }

  /**
   * Works out suppression again (for the alerts that changed and those their change can affect, or for
   * all on a full pass), persists changed alerts and history, records events, notifies the sink.
   * What it works out is kept only once the transaction has committed.
   */
  private async commit(
    changes: StateChange[],
    removed: string[],
    now: number,
    options: { full?: boolean; touched?: ActiveAlert[] } = {},
  ): Promise<void> {
    let full = options.full ?? false;
    const ended =
      changes.some((c) => c.to === 'resolved' || c.to === 'inactive') || removed.length > 0
        ? await this.silences.expireResolved(new Set(this.matching(() => true)))
        : [];
    if (ended.length > 0) full = true;
    const activeSilences = this.silences.listSilences().filter((s) => silenceActive(s, now));
    const activeWindows = this.silences.listWindows().filter((w) => windowActive(w, now));
    const scope: string[] = full ? [...this.alerts.keys()] : [...this.dirty];
    this.dirty.clear();

    const changed = new Map<string, ActiveAlert>();
    const forSink = new Map<string, ActiveAlert>();
    for (const change of changes) {
      if (change.to === 'inactive') continue;
      changed.set(change.alert.fingerprint, this.alerts.get(change.alert.fingerprint) ?? change.alert);
      if (change.alert.state !== 'pending' && !change.quiet)
        forSink.set(change.alert.fingerprint, change.alert);
    }
    const suppression = new Map<string, Suppression>();
    for (const fp of scope) {
      const alert = this.alerts.get(fp);
      if (!alert) continue;
      const next = suppressionFor(alert, activeSilences, activeWindows, this.inhibition);
      if (sameSuppression(next, this.suppression.get(fp) ?? NONE)) continue;
      suppression.set(fp, next);
      changed.set(fp, alert);
      if (alert.state !== 'pending') forSink.set(fp, alert);
    }
    for (const alert of options.touched ?? []) changed.set(alert.fingerprint, alert);

    // Labels are serialized once per alert, for its row, its history and its event.
    const labelsJson = new Map<Labels, string>();
    const json = (labels: Labels): string => {
      let text = labelsJson.get(labels);
      if (text === undefined) labelsJson.set(labels, (text = JSON.stringify(labels)));
      return text;
    };
    const history: NewHistoryRow[] = [];
    const events: NewEvent[] = [];
    for (const c of changes) {
      if (c.quiet) continue;
      const { alert } = c;
      const row: NewHistoryRow = {
        fingerprint: alert.fingerprint,
        at: now,
        state: c.to,
        alertname: alert.labels.alertname ?? '',
        severity: alert.labels.severity ?? 'warning',
        service: alert.labels.service ?? null,
        labels: json(alert.labels),
        value: alert.value,
        summary: alert.annotations.summary ?? alert.annotations.description ?? '',
      };
      history.push(row);
      if (row.state === 'firing' || row.state === 'resolved') events.push(alertEvent(row));
    }
    const rows: AlertRow[] = [];
    for (const alert of changed.values())
      rows.push(
        toRow(
          alert,
          suppression.get(alert.fingerprint) ?? this.suppression.get(alert.fingerprint),
          json,
          now,
        ),
      );
    // Alerts, their history and the events land in one transaction.
    try {
      await this.repository.save(rows, removed, history, events);
    } catch (error) {
      for (const fp of scope) this.dirty.add(fp);
      throw error;
    }
    for (const [fp, next] of suppression) if (this.alerts.has(fp)) this.suppression.set(fp, next);
    for (const alert of changed.values()) this.storedExpiry.set(alert.fingerprint, alert.expiresAt);
    // Committed: a failing listener is logged; it must not fail the requests that were stored.
    try {
      for (const event of events) this.options.onEvent?.(event);
      for (const row of history)
        this.options.onTransition?.({ fingerprint: row.fingerprint, state: row.state, service: row.service });
      for (const silence of ended)
        this.options.logger.info(
          { silence: silence.id },
          'until-resolved silence ended: its alerts resolved',
        );
      this.armBoundary(now);
      if (forSink.size > 0) this.options.sink?.update([...forSink.values()].map((a) => this.snapshot(a)));
    } catch (error) {
      this.options.logger.error({ err: error }, 'alert listeners failed after the commit');
    }
  }
}

/** The event of a firing or resolved history row; its data is built as text from the labels' JSON. */
function alertEvent(row: NewHistoryRow): NewEvent {
  return {
    at: row.at,
    kind: `alert.${row.state}`,
    severity:
      row.state === 'resolved'
        ? 'info'
        : row.severity === 'critical'
          ? 'error'
          : row.severity === 'warning'
            ? 'warning'
            : 'info',
    service_id: row.service,
    check_id: null,
    message: `${row.alertname} ${row.state}${row.service ? ` for ${row.service}` : ''}: ${row.summary}`,
    // The same text as JSON.stringify({ fingerprint, labels, value }).
    data: `{"fingerprint":${JSON.stringify(row.fingerprint)},"labels":${row.labels},"value":${JSON.stringify(row.value)}}`,
  };
}

/** The same record, keys in the same order: what comparing their JSON would say, without building it. */
function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  const other = Object.keys(b);
  if (keys.length !== other.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== other[i] || a[key] !== b[key]) return false;
  }
  return true;
}

/** The labels without empty values; the same object when there are none (the usual case). */
function withoutEmptyValues(labels: Labels): Labels {
  for (const name in labels) {
    if (labels[name] !== '') continue;
    return Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''));
  }
  return labels;
}

function toRow(
  alert: ActiveAlert,
  suppressedBy: Suppression | undefined,
  labelsJson: (labels: Labels) => string,
  now: number,
): AlertRow {
  return {
    fingerprint: alert.fingerprint,
    source: alert.source,
    rule: alert.rule,
    alertname: alert.labels.alertname ?? '',
    severity: alert.labels.severity ?? 'warning',
    service: alert.labels.service ?? null,
    labels: labelsJson(alert.labels),
    annotations: JSON.stringify(alert.annotations),
    state: alert.state,
    active_at: alert.activeAt,
    fired_at: alert.firedAt,
    resolved_at: alert.resolvedAt,
    expires_at: alert.expiresAt,
    last_seen_at: alert.lastSeenAt,
    value: alert.value,
    generator_url: alert.generatorUrl,
    suppressed_by:
      suppressedBy === undefined || suppressedBy === NONE ? NONE_JSON : JSON.stringify(suppressedBy),
    updated_at: now,
  };
}

function fromRow(row: AlertRow): ActiveAlert {
  return {
    fingerprint: row.fingerprint,
    source: row.source as ActiveAlert['source'],
    rule: row.rule,
    labels: JSON.parse(row.labels) as Labels,
    annotations: JSON.parse(row.annotations) as Record<string, string>,
    state: row.state as ActiveAlert['state'],
    activeAt: row.active_at,
    firedAt: row.fired_at,
    resolvedAt: row.resolved_at,
    expiresAt: row.expires_at,
    lastSeenAt: row.last_seen_at,
    value: row.value,
    generatorUrl: row.generator_url,
  };
}

function ruleId(rule: RuleConfig, exprText: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([exprText, rule.severity, rule.labels, rule.for, rule.keepFiringFor]))
    .digest('hex')
    .slice(0, 8);
  return `${rule.alert}:${hash}`;
}
