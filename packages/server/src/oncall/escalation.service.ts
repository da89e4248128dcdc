// Escalation: an unacknowledged incident pages its policy's levels one after another (level 1 at once,
// the next after `escalateAfter`), the whole chain `repeat` more times, until someone acknowledges or the
// incident ends. State lives in the store, so a restart carries on without paging a level twice.
import type { Logger } from 'pino';
import type { EscalationPageView, EscalationStateView, EscalationStatus } from '@opsbook/contracts';
import type { EscalationLevelConfig, EscalationPolicyConfig } from '../config/oncall.schema.js';
import { NotFoundError } from '../errors.js';
import type { IncidentNotifier } from '../incidents/incident-notifier.js';
import { ACTIVE_STAGES, SYSTEM_ACTOR, type BreachEvent, type Incident } from '../incidents/incident.types.js';
import type { EscalationRow, NewPageRow, OncallRepository, PageRow } from '../storage/oncall.repository.js';
import type { OncallService } from './oncall.service.js';

/** The part of the incident service escalation needs. */
export interface EscalationIncidents {
  /** The incident (a timeline, if included, is ignored). */
  get(id: string): Promise<Incident & { timeline?: unknown }>;
  record(
    id: string,
    kind: 'escalation',
    text: string,
    actor: string,
    data?: Record<string, unknown>,
  ): Promise<unknown>;
}

export interface EscalationServiceOptions {
  repository: OncallRepository;
  oncall: OncallService;
  incidents: EscalationIncidents;
  notifier: IncidentNotifier;
  logger: Logger;
  now?: () => number;
  /** How often start() looks for levels due to be paged; default 5 s. */
  tickMs?: number;
}

type Reason = 'opened' | 'timeout' | 'breach';

interface Step {
  level: number;
  loop: number;
}

interface Planned extends Step {
  person: string | null;
  via: string;
  receivers: string[];
}

/** The step after `at` in a policy of `levels` levels run `loops` times; undefined once all are done. */
export function nextStep(at: Step, levels: number, loops: number): Step | undefined {
  if (at.level < levels) return { level: at.level + 1, loop: at.loop };
  if (at.loop < loops) return { level: 1, loop: at.loop + 1 };
  return undefined;
}

export class EscalationService {
  /** Escalations still paging, by incident id. */
  private readonly active = new Map<string, EscalationRow>();
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** After stop(): the incident service may still report changes while it stops; they page nobody. */
  private stopped = false;

  constructor(private readonly options: EscalationServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Reads active escalations and sends pages stored but never handed over; call once before start(). */
  async load(): Promise<void> {
    this.active.clear();
    for (const row of await this.options.repository.activeEscalations())
      this.active.set(row.incident_id, row);
    await this.enqueue(() => this.resendPending());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.tick().catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'escalation tick failed'),
      );
    }, this.options.tickMs ?? 5_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  /** Resolves when nothing is queued, including work queued while waiting. */
  async idle(): Promise<void> {
    for (;;) {
      const queue = this.queue;
      await queue;
      if (queue === this.queue) return;
    }
  }

  /** IncidentService.onChanged: an opened incident starts escalating; acknowledged or ended stops it. */
  incidentChanged(incident: Incident, opened: boolean): void {
    if (this.stopped) return;
    if (opened) this.background(() => this.begin(incident, 'opened'), incident.id);
    else if (this.active.has(incident.id) && !escalating(incident))
      this.background(() => this.halt(incident), incident.id);
  }

  /** IncidentService.onBreach: a missed response target pages the next level at once. */
  breached(event: BreachEvent): void {
    if (this.stopped || event.target !== 'response') return;
    this.background(async () => {
      if (this.active.has(event.incident.id)) await this.step(event.incident.id, 'breach');
      else if (!(await this.options.repository.escalation(event.incident.id)))
        // Opened before a policy covered it (or before on-call was configured): start now.
        await this.begin(event.incident, 'breach');
    }, event.incident.id);
  }

  /** Pages every level that is due; start() runs it periodically. */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.enqueue(async () => {
      const now = this.now();
      for (const row of [...this.active.values()]) {
        if (row.next_at === null || Number(row.next_at) > now) continue;
        await this.step(row.incident_id, 'timeout').catch((error: unknown) =>
          this.options.logger.error({ err: error, incident: row.incident_id }, 'escalation step failed'),
        );
      }
    });
  }

  /** The escalation of an incident for the API: state, what comes next and every page. */
  async state(incidentId: string): Promise<EscalationStateView> {
    const row = await this.options.repository.escalation(incidentId);
    if (!row) {
      const incident = await this.options.incidents.get(incidentId);
      const policy = this.options.oncall.policyFor(incident.services);
      const detail = policy
        ? `nobody was paged: policy "${policy.id}" covers it now, but it was not escalating when it opened`
        : `nobody is paged: no escalation policy names its services (${incident.services.join(', ') || 'none'}) and oncall.defaultPolicy is not set`;
      return {
        incidentId,
        policy: null,
        status: 'none',
        detail,
        level: 0,
        loop: 0,
        loops: 0,
        levels: 0,
        startedAt: null,
        nextAt: null,
        next: null,
        history: [],
      };
    }
    const policy = this.options.oncall.policy(row.policy_id);
    const levels = policy?.levels.length ?? 0;
    const loops = (policy?.repeat ?? 0) + 1;
    const status = row.status as EscalationStatus;
    const next = status === 'active' ? (nextStep(row, levels, loops) ?? null) : null;
    const pages = await this.options.repository.pages(incidentId);
    return {
      incidentId,
      policy: row.policy_id,
      status,
      detail: describeState(status, row, next, loops),
      level: row.level,
      loop: row.loop,
      loops,
      levels,
      startedAt: Number(row.started_at),
      nextAt: row.next_at === null ? null : Number(row.next_at),
      next,
      history: pages.map((p) => this.pageView(p)),
    };
  }

  private async begin(incident: Incident, reason: Reason): Promise<void> {
    if (!escalating(incident)) return;
    const policy = this.options.oncall.policyFor(incident.services);
    if (!policy) {
      this.options.logger.debug(
        { incident: incident.id, services: incident.services },
        'no escalation policy covers the incident and there is no default policy; nobody is paged',
      );
      return;
    }
    const now = this.now();
    const row: EscalationRow = {
      incident_id: incident.id,
      policy_id: policy.id,
      level: 0,
      loop: 1,
      status: 'active',
      next_at: now,
      started_at: now,
      updated_at: now,
    };
    if (!(await this.options.repository.insertEscalation(row))) return;
    this.active.set(incident.id, row);
    await this.step(incident.id, reason);
  }

  /** Acknowledged or ended: stop paging and say so on the timeline. */
  private async halt(incident: Incident): Promise<void> {
    const row = this.active.get(incident.id);
    if (!row) return;
    const acknowledged = incident.acknowledgedAt !== null;
    const finished = await this.options.repository.finish(
      incident.id,
      acknowledged ? 'acknowledged' : 'ended',
      this.now(),
    );
    this.active.delete(incident.id);
    if (!finished) return;
    const where = `level ${row.level}${row.loop > 1 ? `, loop ${row.loop}` : ''}`;
    await this.options.incidents.record(
      incident.id,
      'escalation',
      acknowledged
        ? `Escalation stopped at ${where}: acknowledged by ${incident.acknowledgedBy ?? '?'}`
        : `Escalation stopped at ${where}: the incident moved to ${incident.stage}`,
      SYSTEM_ACTOR,
      {
        policy: row.policy_id,
        level: row.level,
        loop: row.loop,
        status: acknowledged ? 'acknowledged' : 'ended',
      },
    );
  }

  /**
   * Pages the next level (skipping levels that find nobody to page, as PagerDuty does) or, after the
   * last level of the last loop, declares the escalation exhausted. A breach never exhausts early.
   */
  private async step(incidentId: string, reason: Reason): Promise<void> {
    const row = this.active.get(incidentId);
    if (!row) return;
    let incident: Incident;
    try {
      const { timeline: _timeline, ...rest } = await this.options.incidents.get(incidentId);
      incident = rest as Incident;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      await this.options.repository.finish(incidentId, 'ended', this.now());
      this.active.delete(incidentId);
      return;
    }
    if (!escalating(incident)) return this.halt(incident);
    const policy = this.options.oncall.policy(row.policy_id);
    if (!policy) {
      await this.options.repository.finish(incidentId, 'ended', this.now());
      this.active.delete(incidentId);
      await this.options.incidents.record(
        incidentId,
        'escalation',
        `Escalation stopped: policy "${row.policy_id}" is no longer in oncall.escalationPolicies`,
        SYSTEM_ACTOR,
        { policy: row.policy_id },
      );
      return;
    }
    const loops = policy.repeat + 1;
    const from: Step = { level: row.level, loop: row.loop };
    if (reason === 'breach' && !nextStep(from, policy.levels.length, loops)) return;

    const now = this.now();
    const planned: Planned[] = [];
    let cursor = from;
    let exhausted = false;
    for (;;) {
      const next = nextStep(cursor, policy.levels.length, loops);
      if (!next) {
        exhausted = true;
        break;
      }
      cursor = next;
      const targets = await this.resolve(policy.levels[next.level - 1]!, now);
      if (targets.length > 0) {
        planned.push(...targets.map((t) => ({ ...next, ...t })));
        break;
      }
      planned.push({
        ...next,
        person: null,
        via: describeEmpty(this.options.oncall, policy.levels[next.level - 1]!),
        receivers: [],
      });
    }

    const patch = exhausted
      ? { level: cursor.level, loop: cursor.loop, status: 'exhausted', next_at: null, updated_at: now }
      : {
          level: cursor.level,
          loop: cursor.loop,
          next_at: now + policy.levels[cursor.level - 1]!.escalateAfter,
          updated_at: now,
        };
    const rows: NewPageRow[] = planned.map((p) => ({
      incident_id: incidentId,
      level: p.level,
      loop: p.loop,
      at: now,
      person: p.person,
      via: p.via,
      receivers: JSON.stringify(p.receivers),
      reason,
      status: p.person === null ? 'nobody' : 'pending',
      error: null,
    }));
    const ids = await this.options.repository.advance(incidentId, from, patch, rows);
    if (!ids) {
      // Someone else moved it on; take the stored state.
      const stored = await this.options.repository.escalation(incidentId);
      if (stored?.status === 'active') this.active.set(incidentId, stored);
      else this.active.delete(incidentId);
      return;
    }
    if (exhausted) this.active.delete(incidentId);
    else this.active.set(incidentId, { ...row, ...patch } as EscalationRow);

    for (const [index, page] of rows.entries()) {
      const stored: PageRow = { ...page, id: ids[index]!, error: null } as PageRow;
      if (page.person === null) {
        await this.options.incidents.record(
          incidentId,
          'escalation',
          `Level ${page.level}: nobody to page (${page.via}); escalating to the next level at once`,
          SYSTEM_ACTOR,
          { policy: policy.id, level: page.level, loop: page.loop },
        );
        continue;
      }
      await this.deliver(stored, incident, policy, loops);
    }
    if (exhausted)
      await this.options.incidents.record(
        incidentId,
        'escalation',
        `Escalation exhausted after ${loops} loop${loops === 1 ? '' : 's'}: nobody acknowledged`,
        SYSTEM_ACTOR,
        { policy: policy.id, loops },
      );
  }

  /** Who a level pages now: schedules resolve to whoever is on call; each person once. */
  private async resolve(
    level: EscalationLevelConfig,
    at: number,
  ): Promise<{ person: string; via: string; receivers: string[] }[]> {
    const out: { person: string; via: string; receivers: string[] }[] = [];
    const add = (id: string, via: string) => {
      if (out.some((o) => o.person === id)) return;
      const person = this.options.oncall.person(id);
      if (!person) {
        this.options.logger.warn({ person: id }, `"${id}" is not in oncall.people any more; not paged`);
        return;
      }
      out.push({ person: id, via, receivers: person.notify });
    };
    for (const target of level.notify) {
      if (target.person !== undefined) add(target.person, '');
      else if (target.schedule !== undefined) {
        let shift;
        try {
          shift = await this.options.oncall.onCallAt(target.schedule, at);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          this.options.logger.warn({ schedule: target.schedule }, 'schedule no longer configured; skipped');
          continue;
        }
        if (shift) {
          const schedule = this.options.oncall.schedule(target.schedule);
          add(shift.person, `on call for ${schedule.name ?? schedule.id}`);
        }
      }
    }
    return out;
  }

  private async deliver(
    page: PageRow,
    incident: Incident,
    policy: EscalationPolicyConfig,
    loops: number,
  ): Promise<void> {
    const person = page.person!;
    const name = this.options.oncall.person(person)?.name ?? person;
    const receivers = JSON.parse(page.receivers) as string[];
    const where = [
      `level ${page.level}`,
      ...(loops > 1 ? [`loop ${page.loop}`] : []),
      ...(page.via ? [page.via] : []),
      ...(page.reason === 'breach' ? ['response target missed'] : []),
    ].join(', ');
    const data = {
      policy: policy.id,
      person,
      level: page.level,
      loop: page.loop,
      receivers,
      reason: page.reason,
    };
    // The step read the incident before resolving schedules and earlier pages: an acknowledgement
    // may have landed since, and its halt waits in the queue behind this step.
    if (!(await this.stillEscalating(incident.id))) {
      await this.options.repository.markPage(
        page.id,
        'failed',
        'not sent: the incident was acknowledged or ended first',
      );
      return;
    }
    try {
      await this.options.notifier.page({
        incident,
        receivers,
        target: page.via ? `${name} (${page.via})` : name,
        level: page.level,
        loop: page.loop,
      });
      await this.options.repository.markPage(page.id, 'sent', null);
      await this.options.incidents.record(
        incident.id,
        'escalation',
        `Paged ${name} (${where})`,
        SYSTEM_ACTOR,
        data,
      );
    } catch (error) {
      const message = (error as Error).message;
      this.options.logger.warn({ err: error, incident: incident.id, person }, 'page failed');
      await this.options.repository.markPage(page.id, 'failed', message);
      await this.options.incidents.record(
        incident.id,
        'escalation',
        `Paging ${name} failed (${where}): ${message}`,
        SYSTEM_ACTOR,
        { ...data, error: message },
      );
    }
  }

  private async stillEscalating(incidentId: string): Promise<boolean> {
    try {
      const { timeline: _timeline, ...incident } = await this.options.incidents.get(incidentId);
      return escalating(incident as Incident);
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }

  /** Pages stored before a stop but never handed to the notifier go out now, if still wanted. */
  private async resendPending(): Promise<void> {
    for (const page of await this.options.repository.pendingPages()) {
      try {
        const row =
          this.active.get(page.incident_id) ?? (await this.options.repository.escalation(page.incident_id));
        const policy = row ? this.options.oncall.policy(row.policy_id) : undefined;
        const { timeline: _timeline, ...incident } = await this.options.incidents.get(page.incident_id);
        if (!policy || !escalating(incident as Incident)) {
          await this.options.repository.markPage(
            page.id,
            'failed',
            'not sent: the incident was acknowledged or ended first',
          );
          continue;
        }
        await this.deliver(page, incident as Incident, policy, policy.repeat + 1);
      } catch (error) {
        this.options.logger.error({ err: error, incident: page.incident_id }, 'stored page not resent');
      }
    }
  }

  private pageView(p: PageRow): EscalationPageView {
    return {
      at: Number(p.at),
      level: Number(p.level),
      loop: Number(p.loop),
      person: p.person,
      personName: p.person === null ? null : (this.options.oncall.person(p.person)?.name ?? p.person),
      via: p.via,
      receivers: JSON.parse(p.receivers) as string[],
      reason: p.reason as EscalationPageView['reason'],
      status: p.status as EscalationPageView['status'],
      error: p.error,
    };
  }

  private background(task: () => Promise<void>, incidentId: string): void {
    this.enqueue(task).catch((error: unknown) =>
      this.options.logger.error({ err: error, incident: incidentId }, 'escalation failed'),
    );
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Pages go out while an incident is open and nobody has acknowledged it. */
function escalating(incident: Incident): boolean {
  return incident.acknowledgedAt === null && ACTIVE_STAGES.includes(incident.stage);
}

/** Why a level found nobody, for the timeline. */
function describeEmpty(oncall: OncallService, level: EscalationLevelConfig): string {
  return level.notify
    .map((t) => {
      if (t.person !== undefined) return `${t.person} is not in oncall.people`;
      const schedule = oncall.current.schedules.find((s) => s.id === t.schedule);
      return `nobody on call for ${schedule?.name ?? t.schedule}`;
    })
    .join(', ');
}

function describeState(
  status: EscalationStatus,
  row: EscalationRow,
  next: Step | null,
  loops: number,
): string {
  switch (status) {
    case 'none':
      return 'not escalating';
    case 'active':
      return next
        ? `paged level ${row.level} (loop ${row.loop} of ${loops}); level ${next.level}${next.loop !== row.loop ? ` of loop ${next.loop}` : ''} is paged next unless someone acknowledges`
        : `paged the last level (loop ${row.loop} of ${loops}); the escalation ends next unless someone acknowledges`;
    case 'acknowledged':
      return `acknowledged at level ${row.level} (loop ${row.loop}); paging stopped`;
    case 'ended':
      return `the incident ended at level ${row.level} (loop ${row.loop}); paging stopped`;
    case 'exhausted':
      return `every level was paged ${loops === 1 ? 'once' : `${loops} times`} and nobody acknowledged`;
  }
}
