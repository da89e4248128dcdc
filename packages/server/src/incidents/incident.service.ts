// Incidents (guide 4): opened from critical alerts or by people, moved through five stages, with a
// timeline filled automatically and by hand. In memory for open incidents, persisted on every change.
import type { Logger } from 'pino';
import type { AlertSink, AlertSnapshot } from '../alerts/alert.types.js';
import { isSuppressed } from '../alerts/alert.types.js';
import { matchesAll, parseMatcher } from '../alerts/matchers.js';
import type { IncidentsConfig } from '../config/incidents.schema.js';
import { formatDuration } from './format.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type {
  IncidentAlertRow,
  IncidentRepository,
  IncidentRow,
  NewTimelineRow,
} from '../storage/incident.repository.js';
import {
  ACTIVE_STAGES,
  STAGES,
  SYSTEM_ACTOR,
  type BreachEvent,
  type Incident,
  type IncidentAlert,
  type IncidentInput,
  type IncidentListFilter,
  type IncidentSeverity,
  type IncidentStage,
  type IncidentWithTimeline,
  type TimelineKind,
} from './incident.types.js';
import type { LabelMatcher } from '../telemetry/series.js';

export interface IncidentServiceOptions {
  repository: IncidentRepository;
  config: IncidentsConfig;
  logger: Logger;
  now?: () => number;
  /** Called after a missed response or resolution target is recorded (escalation hooks in here). */
  onBreach?: (event: BreachEvent) => void;
  /** Called once an incident opened from an alert is stored (runbooks start from here). */
  onOpened?: (incident: Incident, alertLabels: Record<string, string>) => void;
  /** Called after every stored change, `opened` when it created the incident (escalation starts and stops here). */
  onChanged?: (incident: Incident, opened: boolean) => void;
  /** How often start() checks targets and auto-resolve; default 10 s. */
  checkIntervalMs?: number;
  /** Asked before a post-incident incident closes; throws (ConflictError) to refuse, e.g. no post-mortem. */
  canClose?: (incident: Incident) => Promise<void>;
}

type NewEntry = Omit<NewTimelineRow, 'incident_id' | 'data' | 'kind'> & {
  kind: TimelineKind;
  data: Record<string, unknown>;
};

interface Draft {
  incident: Incident;
  links: Map<string, IncidentAlert>;
  entries: NewEntry[];
  opened?: boolean;
}

const SEVERITY_RANK: Record<IncidentSeverity, number> = { SEV1: 1, SEV2: 2, SEV3: 3, SEV4: 4 };

export class IncidentService implements AlertSink {
  private readonly open = new Map<string, Incident>();
  /** Fingerprint → id of the not-closed incident it is linked to (the latest one). */
  private readonly byFingerprint = new Map<string, string>();
  private config: IncidentsConfig;
  private mapping: { matchers: LabelMatcher[]; severity: IncidentSeverity }[] = [];
  private readonly now: () => number;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: IncidentServiceOptions) {
    this.now = options.now ?? Date.now;
    this.config = options.config;
    this.configure(options.config);
  }

  /** A reloaded config: new mapping, targets and auto-resolve; open incidents keep their due times. */
  configure(config: IncidentsConfig): void {
    this.mapping = config.mapping.map((rule) => ({
      matchers: rule.matchers.map(parseMatcher),
      severity: rule.severity,
    }));
    this.config = config;
  }

  /** Reads open incidents and the id sequence from the store; call once before anything else. */
  async load(): Promise<void> {
    const { incidents, alerts, maxSeq } = await this.options.repository.loadOpen();
    this.seq = maxSeq;
    this.open.clear();
    this.byFingerprint.clear();
    for (const row of incidents)
      this.remember(
        fromRow(
          row,
          alerts.filter((a) => a.incident_id === row.id),
        ),
      );
  }

  /** Checks response/resolution targets and auto-resolve periodically. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.tick().catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'incident target check failed'),
      );
    }, this.options.checkIntervalMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  /** Resolves when every queued change has been written. */
  async idle(): Promise<void> {
    await this.queue;
  }

  /** AlertSink: every change of alert state; opens, joins and annotates incidents. Never closes them. */
  update(alerts: AlertSnapshot[]): void {
    this.enqueue(() => this.applyAlerts(alerts)).catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'incident update from alerts failed'),
    );
  }

  /** The not-closed incidents these alerts are linked to (for notifications about them). */
  incidentsForAlerts(fingerprints: readonly string[]): string[] {
    const ids = fingerprints.map((f) => this.byFingerprint.get(f));
    return [...new Set(ids.filter((id): id is string => id !== undefined))];
  }

  /** Maps alert labels to a severity by the first matching rule; undefined opens no incident. */
  severityFor(labels: Record<string, string>): IncidentSeverity | undefined {
    return this.mapping.find((rule) => matchesAll(rule.matchers, labels))?.severity;
  }

  async create(input: IncidentInput): Promise<Incident> {
    if (!input.title.trim()) throw new InputError('a title is required', 'title');
    return this.enqueue(async () => {
      const now = this.now();
      const draft = this.newIncident(
        {
          title: input.title.trim(),
          severity: input.severity,
          services: input.services ?? [],
          alertGroup: null,
          commander: input.commander ?? null,
        },
        input.actor,
        now,
      );
      await this.commit(draft);
      return draft.incident;
    });
  }

  async acknowledge(id: string, actor: string): Promise<Incident> {
    return this.mutate(id, (d, now) => {
      const i = d.incident;
      requireActive(i, 'acknowledge');
      if (i.acknowledgedAt !== null)
        throw new ConflictError(`${i.id} was already acknowledged by ${i.acknowledgedBy ?? '?'}`);
      i.acknowledgedAt = now;
      i.acknowledgedBy = actor;
      d.entries.push(entry(now, 'ack', actor, `Acknowledged by ${actor}`));
      if (i.stage === 'detection') this.moveStage(d, 'triage', actor, now);
    });
  }

  async assign(id: string, role: string, person: string, actor: string): Promise<Incident> {
    if (!/^[a-z][a-z0-9-]*$/.test(role))
      throw new InputError('a role is lowercase letters, digits and dashes, e.g. commander', 'role');
    if (!person.trim()) throw new InputError('a person is required', 'person');
    return this.mutate(id, (d, now) => {
      const i = d.incident;
      if (i.stage === 'closed') throw new ConflictError(`${i.id} is closed`);
      const previous = role === 'commander' ? i.commander : (i.roles[role] ?? null);
      if (role === 'commander') i.commander = person;
      else i.roles[role] = person;
      d.entries.push(entry(now, 'assign', actor, `${person} is ${role}`, { role, person, previous }));
    });
  }

  async setStage(id: string, stage: IncidentStage, actor: string): Promise<Incident> {
    if (!STAGES.includes(stage)) throw new InputError(`no stage "${stage}"`, 'stage');
    if (stage === 'closed' && this.options.canClose) {
      const incident = await this.loadOne(id);
      if (incident.stage === 'post-incident') await this.options.canClose(incident);
    }
    return this.mutate(id, (d, now) => this.moveStage(d, stage, actor, now));
  }

  /** Ends the incident's response: moves it to post-incident. */
  async resolve(id: string, actor: string): Promise<Incident> {
    return this.setStage(id, 'post-incident', actor);
  }

  async close(id: string, actor: string): Promise<Incident> {
    return this.setStage(id, 'closed', actor);
  }

  async addNote(id: string, text: string, actor: string): Promise<Incident> {
    if (!text.trim()) throw new InputError('a note needs text', 'text');
    return this.mutate(id, (d, now) => {
      d.entries.push(entry(now, 'note', actor, text));
    });
  }

  /** Adds an entry from elsewhere (runbook steps and their evidence, notifications sent, status). */
  async record(
    id: string,
    kind: 'runbook.step' | 'notification' | 'status' | 'escalation',
    text: string,
    actor: string,
    data: Record<string, unknown> = {},
  ): Promise<Incident> {
    return this.mutate(id, (d, now) => {
      d.entries.push(entry(now, kind, actor, text, data));
    });
  }

  async list(filter: IncidentListFilter = {}): Promise<Incident[]> {
    const stages =
      filter.stage !== undefined
        ? [filter.stage]
        : filter.open === true
          ? ACTIVE_STAGES
          : filter.open === false
            ? (['post-incident', 'closed'] as IncidentStage[])
            : undefined;
    const rows = await this.options.repository.list({
      stages,
      severity: filter.severity,
      service: filter.service,
      limit: filter.limit,
    });
    const filtered = rows.filter(
      (r) => filter.open === undefined || ACTIVE_STAGES.includes(r.stage as IncidentStage) === filter.open,
    );
    const alerts = await this.options.repository.alerts(filtered.map((r) => r.id));
    return filtered.map((row) =>
      fromRow(
        row,
        alerts.filter((a) => a.incident_id === row.id),
      ),
    );
  }

  async get(id: string): Promise<IncidentWithTimeline> {
    const incident = await this.loadOne(id);
    const timeline = await this.options.repository.timeline(id);
    return {
      ...incident,
      timeline: timeline.map((t) => ({
        id: t.id,
        at: t.at,
        kind: t.kind as TimelineKind,
        actor: t.actor,
        text: t.text,
        data: JSON.parse(t.data) as Record<string, unknown>,
      })),
    };
  }

  /** Records missed targets and auto-resolves quiet incidents; start() runs it periodically. */
  tick(): Promise<void> {
    return this.enqueue(async () => {
      const now = this.now();
      const breaches: BreachEvent[] = [];
      for (const current of [...this.open.values()]) {
        if (!ACTIVE_STAGES.includes(current.stage)) continue;
        const d = draftOf(current);
        const i = d.incident;
        const targets = this.config.severities[i.severity];
        if (i.acknowledgedAt === null && i.responseBreachedAt === null && now >= i.responseDueAt) {
          i.responseBreachedAt = now;
          d.entries.push(
            entry(
              now,
              'sla.breach',
              SYSTEM_ACTOR,
              `Not acknowledged within ${formatDuration(targets.respondWithin)} (${i.severity} response target)`,
              { target: 'response', dueAt: i.responseDueAt },
            ),
          );
          breaches.push({ incident: i, target: 'response', at: now });
        }
        if (i.resolutionDueAt !== null && i.resolutionBreachedAt === null && now >= i.resolutionDueAt) {
          i.resolutionBreachedAt = now;
          d.entries.push(
            entry(
              now,
              'sla.breach',
              SYSTEM_ACTOR,
              `Not resolved within ${formatDuration(targets.resolveWithin ?? 0)} (${i.severity} resolution target)`,
              { target: 'resolution', dueAt: i.resolutionDueAt },
            ),
          );
          breaches.push({ incident: i, target: 'resolution', at: now });
        }
        const after = this.config.autoResolveAfter;
        if (
          after !== undefined &&
          i.alertsResolvedAt !== null &&
          i.alerts.length > 0 &&
          i.alerts.every((a) => a.status === 'resolved') &&
          now >= i.alertsResolvedAt + after
        ) {
          this.moveStage(d, 'post-incident', SYSTEM_ACTOR, now, {
            reason: `all linked alerts resolved for ${formatDuration(after)}`,
          });
        }
        if (d.entries.length) await this.commit(d);
      }
      for (const breach of breaches) {
        try {
          this.options.onBreach?.(breach);
        } catch (error) {
          this.options.logger.error({ err: error, incident: breach.incident.id }, 'onBreach failed');
        }
      }
    });
  }

  private async applyAlerts(alerts: AlertSnapshot[]): Promise<void> {
    const now = this.now();
    const drafts = new Map<string, Draft>();
    const opened: { id: string; labels: Record<string, string> }[] = [];
    const draftFor = (incident: Incident): Draft => {
      let d = drafts.get(incident.id);
      if (!d) {
        d = draftOf(incident);
        drafts.set(incident.id, d);
      }
      return d;
    };
    for (const alert of alerts) {
      const alertname = alert.labels.alertname ?? '';
      const service = alert.labels.service ?? '';
      const linkedId = this.byFingerprint.get(alert.fingerprint);
      const linked =
        linkedId !== undefined ? (drafts.get(linkedId)?.incident ?? this.open.get(linkedId)) : undefined;
      if (linked) {
        const d = draftFor(linked);
        const link = d.incident.alerts.find((a) => a.fingerprint === alert.fingerprint)!;
        const active = ACTIVE_STAGES.includes(d.incident.stage);
        if (alert.status === 'resolved' && link.status === 'firing') {
          link.status = 'resolved';
          link.resolvedAt = alert.endsAt ?? now;
          d.links.set(link.fingerprint, link);
          d.entries.push(
            entry(now, 'alert.resolved', SYSTEM_ACTOR, `${describeAlert(alertname, service)} resolved`, {
              fingerprint: alert.fingerprint,
              labels: alert.labels,
              endsAt: alert.endsAt,
            }),
          );
          if (d.incident.alerts.every((a) => a.status === 'resolved')) d.incident.alertsResolvedAt = now;
          continue;
        }
        if (alert.status === 'firing' && link.status === 'resolved' && active) {
          link.status = 'firing';
          link.resolvedAt = null;
          d.links.set(link.fingerprint, link);
          d.incident.alertsResolvedAt = null;
          d.entries.push(firingEntry(alert, now, 'firing again'));
          continue;
        }
        if (active || alert.status !== 'firing' || link.status === 'firing') continue;
        // Firing again after its incident ended: treated as new below.
      }
      if (alert.status !== 'firing' || isSuppressed(alert)) continue;
      const severity = this.severityFor(alert.labels);
      if (!severity) continue;
      const candidates = [
        ...[...drafts.values()].map((d) => d.incident),
        ...[...this.open.values()].filter((i) => !drafts.has(i.id)),
      ];
      const group = candidates.find(
        (i) =>
          ACTIVE_STAGES.includes(i.stage) &&
          i.alertGroup !== null &&
          i.alertGroup[0] === alertname &&
          i.alertGroup[1] === service,
      );
      let d: Draft;
      if (group) {
        d = draftFor(group);
        d.entries.push(firingEntry(alert, now, 'firing (joined)'));
        if (SEVERITY_RANK[severity] < SEVERITY_RANK[d.incident.severity])
          d.entries.push(
            entry(now, 'status', SYSTEM_ACTOR, `A joining alert maps to ${severity}`, { severity }),
          );
      } else {
        const summary = alert.annotations.summary;
        d = this.newIncident(
          {
            title: summary ? summary : describeAlert(alertname, service),
            severity,
            services: service ? [service] : [],
            alertGroup: [alertname, service],
            commander: null,
          },
          SYSTEM_ACTOR,
          now,
        );
        drafts.set(d.incident.id, d);
        opened.push({ id: d.incident.id, labels: alert.labels });
        d.entries.push(firingEntry(alert, now, 'firing'));
      }
      const link: IncidentAlert = {
        fingerprint: alert.fingerprint,
        alertname,
        labels: alert.labels,
        status: 'firing',
        firstFiringAt: alert.startsAt,
        resolvedAt: null,
      };
      d.incident.alerts = [...d.incident.alerts.filter((a) => a.fingerprint !== link.fingerprint), link];
      d.incident.alertsResolvedAt = null;
      d.links.set(link.fingerprint, link);
    }
    for (const d of drafts.values()) await this.commit(d);
    for (const { id, labels } of opened) {
      const incident = this.open.get(id) ?? drafts.get(id)?.incident;
      if (!incident) continue;
      try {
        this.options.onOpened?.(incident, labels);
      } catch (error) {
        this.options.logger.error({ err: error, incident: id }, 'onOpened failed');
      }
    }
  }

  private newIncident(
    fields: Pick<Incident, 'title' | 'severity' | 'services' | 'alertGroup' | 'commander'>,
    actor: string,
    now: number,
  ): Draft {
    const targets = this.config.severities[fields.severity];
    const seq = ++this.seq;
    const incident: Incident = {
      id: `INC-${seq}`,
      seq,
      ...fields,
      stage: 'detection',
      roles: {},
      stageHistory: [{ stage: 'detection', at: now, by: actor }],
      createdAt: now,
      createdBy: actor,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      closedAt: null,
      responseDueAt: now + targets.respondWithin,
      responseBreachedAt: null,
      resolutionDueAt: targets.resolveWithin !== undefined ? now + targets.resolveWithin : null,
      resolutionBreachedAt: null,
      alertsResolvedAt: null,
      alerts: [],
    };
    return {
      incident,
      opened: true,
      links: new Map(),
      entries: [
        entry(now, 'status', actor, `Opened as ${fields.severity}: ${fields.title}`, {
          severity: fields.severity,
          services: fields.services,
        }),
      ],
    };
  }

  /** Forward moves only, except reopening (post-incident → investigation); closing needs post-incident. */
  private moveStage(
    d: Draft,
    to: IncidentStage,
    actor: string,
    now: number,
    data: Record<string, unknown> = {},
  ): void {
    const i = d.incident;
    const from = i.stage;
    if (from === 'closed') throw new ConflictError(`${i.id} is closed`);
    if (to === from) throw new ConflictError(`${i.id} is already in ${from}`);
    const reopen = from === 'post-incident' && to === 'investigation';
    if (!reopen && STAGES.indexOf(to) < STAGES.indexOf(from))
      throw new ConflictError(
        `${i.id} cannot move back from ${from} to ${to}; only post-incident → investigation reopens`,
      );
    if (to === 'closed' && from !== 'post-incident')
      throw new ConflictError(`${i.id} is in ${from}; resolve it (post-incident) before closing`);
    i.stage = to;
    i.stageHistory.push({ stage: to, at: now, by: actor });
    if (to === 'post-incident') i.resolvedAt = now;
    if (to === 'closed') i.closedAt = now;
    if (reopen) i.resolvedAt = null;
    const reason = typeof data.reason === 'string' ? ` (${data.reason})` : '';
    d.entries.push(entry(now, 'stage', actor, `${from} → ${to}${reason}`, { from, to, ...data }));
  }

  private async mutate(id: string, change: (d: Draft, now: number) => void): Promise<Incident> {
    return this.enqueue(async () => {
      const d = draftOf(await this.loadOne(id));
      change(d, this.now());
      await this.commit(d);
      return d.incident;
    });
  }

  private async loadOne(id: string): Promise<Incident> {
    const cached = this.open.get(id);
    if (cached) return structuredClone(cached);
    const row = await this.options.repository.get(id);
    if (!row) throw new NotFoundError(`no incident ${id}`);
    return fromRow(row, await this.options.repository.alerts([id]));
  }

  /** Writes first; memory changes only once the store has the change. */
  private async commit(d: Draft): Promise<void> {
    const now = this.now();
    await this.options.repository.save(
      toRow(d.incident, now),
      [...d.links.values()].map((link) => linkRow(d.incident.id, link)),
      d.entries.map((e) => ({ ...e, incident_id: d.incident.id, data: JSON.stringify(e.data) })),
    );
    this.remember(d.incident);
    try {
      this.options.onChanged?.(structuredClone(d.incident), d.opened === true);
    } catch (error) {
      this.options.logger.error({ err: error, incident: d.incident.id }, 'onChanged failed');
    }
  }

  private remember(incident: Incident): void {
    if (incident.stage === 'closed') {
      this.open.delete(incident.id);
      for (const a of incident.alerts)
        if (this.byFingerprint.get(a.fingerprint) === incident.id) this.byFingerprint.delete(a.fingerprint);
      return;
    }
    this.open.set(incident.id, incident);
    for (const a of incident.alerts) {
      const other = this.byFingerprint.get(a.fingerprint);
      // The newest incident owns the fingerprint.
      if (other === undefined || (this.open.get(other)?.seq ?? 0) <= incident.seq)
        this.byFingerprint.set(a.fingerprint, incident.id);
    }
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function requireActive(i: Incident, what: string): void {
  if (!ACTIVE_STAGES.includes(i.stage)) throw new ConflictError(`${i.id} is ${i.stage}; cannot ${what}`);
}

function draftOf(incident: Incident): Draft {
  return { incident: structuredClone(incident), links: new Map(), entries: [] };
}

function entry(
  at: number,
  kind: TimelineKind,
  actor: string,
  text: string,
  data: Record<string, unknown> = {},
): NewEntry {
  return { at, kind, actor, text, data };
}

function describeAlert(alertname: string, service: string): string {
  return service ? `${alertname} on ${service}` : alertname;
}

function firingEntry(alert: AlertSnapshot, now: number, what: string): NewEntry {
  const name = describeAlert(alert.labels.alertname ?? '', alert.labels.service ?? '');
  const summary = alert.annotations.summary;
  return entry(now, 'alert.firing', SYSTEM_ACTOR, `${name} ${what}${summary ? `: ${summary}` : ''}`, {
    fingerprint: alert.fingerprint,
    labels: alert.labels,
    startsAt: alert.startsAt,
  });
}

function toRow(i: Incident, now: number): IncidentRow {
  return {
    id: i.id,
    seq: i.seq,
    title: i.title,
    severity: i.severity,
    stage: i.stage,
    services: JSON.stringify(i.services),
    alert_group: i.alertGroup ? JSON.stringify(i.alertGroup) : null,
    commander: i.commander,
    roles: JSON.stringify(i.roles),
    stage_history: JSON.stringify(i.stageHistory),
    created_at: i.createdAt,
    created_by: i.createdBy,
    acknowledged_at: i.acknowledgedAt,
    acknowledged_by: i.acknowledgedBy,
    resolved_at: i.resolvedAt,
    closed_at: i.closedAt,
    response_due_at: i.responseDueAt,
    response_breached_at: i.responseBreachedAt,
    resolution_due_at: i.resolutionDueAt,
    resolution_breached_at: i.resolutionBreachedAt,
    alerts_resolved_at: i.alertsResolvedAt,
    updated_at: now,
  };
}

function linkRow(incidentId: string, a: IncidentAlert): IncidentAlertRow {
  return {
    incident_id: incidentId,
    fingerprint: a.fingerprint,
    alertname: a.alertname,
    labels: JSON.stringify(a.labels),
    status: a.status,
    first_firing_at: a.firstFiringAt,
    resolved_at: a.resolvedAt,
  };
}

function fromRow(r: IncidentRow, alerts: IncidentAlertRow[]): Incident {
  return {
    id: r.id,
    seq: Number(r.seq),
    title: r.title,
    severity: r.severity as IncidentSeverity,
    stage: r.stage as IncidentStage,
    services: JSON.parse(r.services) as string[],
    alertGroup: r.alert_group ? (JSON.parse(r.alert_group) as [string, string]) : null,
    commander: r.commander,
    roles: JSON.parse(r.roles) as Record<string, string>,
    stageHistory: JSON.parse(r.stage_history) as Incident['stageHistory'],
    createdAt: r.created_at,
    createdBy: r.created_by,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
    resolvedAt: r.resolved_at,
    closedAt: r.closed_at,
    responseDueAt: r.response_due_at,
    responseBreachedAt: r.response_breached_at,
    resolutionDueAt: r.resolution_due_at,
    resolutionBreachedAt: r.resolution_breached_at,
    alertsResolvedAt: r.alerts_resolved_at,
    alerts: alerts.map((a) => ({
      fingerprint: a.fingerprint,
      alertname: a.alertname,
      labels: JSON.parse(a.labels) as Record<string, string>,
      status: a.status as 'firing' | 'resolved',
      firstFiringAt: a.first_firing_at,
      resolvedAt: a.resolved_at,
    })),
  };
}
