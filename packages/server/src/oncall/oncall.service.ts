// Schedules from the config plus overrides made through the API: who is on call, shifts, overrides.
import { randomUUID } from 'node:crypto';
import type {
  EscalationPolicyView,
  OncallOverrideView,
  OncallScheduleNow,
  OncallShiftView,
} from '@opsbook/contracts';
import type {
  EscalationPolicyConfig,
  OncallConfig,
  PersonConfig,
  ScheduleConfig,
} from '../config/oncall.schema.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { OncallRepository, OverrideRow } from '../storage/oncall.repository.js';
import {
  LOOK_AHEAD_MS,
  LOOK_BEHIND_MS,
  nextShift,
  onCallAt,
  shifts,
  type Override,
  type Shift,
} from './schedule.js';
import { DAY_MS, parseDateTime } from './zoned-time.js';

/** The longest window one shifts query may cover. */
export const MAX_SHIFTS_WINDOW_MS = 366 * DAY_MS;

export interface OncallServiceOptions {
  repository: OncallRepository;
  config: OncallConfig;
  now?: () => number;
}

export interface OverrideInput {
  scheduleId: string;
  person: string;
  /** ISO 8601 (wall-clock time in the schedule's zone when it has no offset) or epoch ms. */
  start: string | number;
  end: string | number;
  actor: string;
}

export class OncallService {
  private config: OncallConfig;
  private readonly clock: () => number;

  constructor(private readonly options: OncallServiceOptions) {
    this.config = options.config;
    this.clock = options.now ?? Date.now;
  }

  /** A reloaded config: people, schedules and policies apply from the next question. */
  configure(config: OncallConfig): void {
    this.config = config;
  }

  get current(): OncallConfig {
    return this.config;
  }

  now(): number {
    return this.clock();
  }

  person(id: string): PersonConfig | undefined {
    return this.config.people.find((p) => p.id === id);
  }

  schedule(id: string): ScheduleConfig {
    const schedule = this.config.schedules.find((s) => s.id === id);
    if (!schedule)
      throw new NotFoundError(
        `no schedule "${id}" in oncall.schedules (known: ${this.config.schedules.map((s) => s.id).join(', ') || 'none'})`,
      );
    return schedule;
  }

  policy(id: string): EscalationPolicyConfig | undefined {
    return this.config.escalationPolicies.find((p) => p.id === id);
  }

  /** The policy naming one of the services, else the default policy; undefined pages nobody. */
  policyFor(services: readonly string[]): EscalationPolicyConfig | undefined {
    const named = this.config.escalationPolicies.find((p) => p.services.some((s) => services.includes(s)));
    if (named) return named;
    return this.config.defaultPolicy !== undefined ? this.policy(this.config.defaultPolicy) : undefined;
  }

  /** Who is on call for the schedule at `at`, overrides included; null for nobody. */
  async onCallAt(scheduleId: string, at: number): Promise<Shift | null> {
    const schedule = this.schedule(scheduleId);
    return onCallAt(
      schedule,
      at,
      await this.apiOverrides(scheduleId, at - LOOK_BEHIND_MS, at + LOOK_AHEAD_MS),
    );
  }

  async shifts(scheduleId: string, from: number, to: number): Promise<OncallShiftView[]> {
    const schedule = this.schedule(scheduleId);
    if (to <= from) throw new InputError('`to` must be after `from`', 'to');
    if (to - from > MAX_SHIFTS_WINDOW_MS)
      throw new InputError('ask for at most 366 days of shifts at once', 'to');
    const list = shifts(schedule, from, to, await this.apiOverrides(scheduleId, from, to));
    return list.map((s) => this.shiftView(s));
  }

  /** Every schedule with who is on call now, until when, and who is next. */
  async summary(at = this.now()): Promise<OncallScheduleNow[]> {
    const out: OncallScheduleNow[] = [];
    for (const schedule of this.config.schedules) {
      const overrides = await this.apiOverrides(schedule.id, at - LOOK_BEHIND_MS, at + LOOK_AHEAD_MS);
      const current = onCallAt(schedule, at, overrides);
      const next = nextShift(schedule, at, overrides);
      out.push({
        id: schedule.id,
        name: schedule.name ?? schedule.id,
        timeZone: schedule.timeZone,
        rotation: { ...schedule.rotation },
        current: current ? this.shiftView(current) : null,
        next: next ? this.shiftView(next) : null,
      });
    }
    return out;
  }

  async policies(at = this.now()): Promise<EscalationPolicyView[]> {
    const out: EscalationPolicyView[] = [];
    for (const policy of this.config.escalationPolicies) {
      const levels: EscalationPolicyView['levels'] = [];
      for (const [index, level] of policy.levels.entries()) {
        const targets: EscalationPolicyView['levels'][number]['targets'] = [];
        for (const target of level.notify) {
          if (target.schedule !== undefined) {
            const schedule = this.schedule(target.schedule);
            const shift = await this.onCallAt(schedule.id, at);
            targets.push({
              kind: 'schedule',
              id: schedule.id,
              name: schedule.name ?? schedule.id,
              onCallNow: shift ? { id: shift.person, name: this.nameOf(shift.person) } : null,
            });
          } else if (target.person !== undefined) {
            const name = this.nameOf(target.person);
            targets.push({ kind: 'person', id: target.person, name, onCallNow: { id: target.person, name } });
          }
        }
        levels.push({ level: index + 1, escalateAfter: level.escalateAfter, targets });
      }
      out.push({
        id: policy.id,
        default: this.config.defaultPolicy === policy.id,
        services: policy.services,
        repeat: policy.repeat,
        loops: policy.repeat + 1,
        levels,
      });
    }
    return out;
  }

  async addOverride(input: OverrideInput): Promise<OncallOverrideView> {
    const schedule = this.schedule(input.scheduleId);
    if (!this.person(input.person))
      throw new InputError(
        `no person "${input.person}" in oncall.people (known: ${this.config.people.map((p) => p.id).join(', ') || 'none'})`,
        'person',
      );
    const start = this.time(input.start, schedule.timeZone, 'start');
    const end = this.time(input.end, schedule.timeZone, 'end');
    if (end <= start) throw new InputError('the end must be after the start', 'end');
    const now = this.now();
    if (end <= now) throw new InputError('the override would end in the past; nothing to change', 'end');
    if (!input.actor.trim()) throw new InputError('say who makes the override', 'actor');
    const row: OverrideRow = {
      id: randomUUID(),
      schedule_id: schedule.id,
      person: input.person,
      start_at: start,
      end_at: end,
      created_by: input.actor,
      created_at: now,
      deleted_at: null,
      deleted_by: null,
    };
    await this.options.repository.insertOverride(row);
    return this.overrideView(row);
  }

  /** Deleted overrides stay stored, marked with who deleted them and when. */
  async deleteOverride(id: string, actor: string): Promise<OncallOverrideView> {
    const row = await this.options.repository.override(id);
    if (!row) throw new NotFoundError(`no on-call override ${id}`);
    if (row.deleted_at !== null)
      throw new ConflictError(`override ${id} was already deleted by ${row.deleted_by ?? '?'}`);
    const now = this.now();
    if (!(await this.options.repository.deleteOverride(id, actor, now)))
      throw new ConflictError(`override ${id} was already deleted`);
    return this.overrideView({ ...row, deleted_at: now, deleted_by: actor });
  }

  private async apiOverrides(scheduleId: string, from: number, to: number): Promise<Override[]> {
    const rows = await this.options.repository.overrides({ scheduleId, from, to });
    return rows.map((r) => ({
      id: r.id,
      person: r.person,
      start: Number(r.start_at),
      end: Number(r.end_at),
    }));
  }

  private time(value: string | number, timeZone: string, field: string): number {
    const ms = typeof value === 'number' ? value : parseDateTime(value, timeZone);
    if (ms === undefined || !Number.isFinite(ms))
      throw new InputError(
        `"${value}" is not a date-time; write ISO 8601 like 2026-03-02T09:00 (in ${timeZone}) or 2026-03-02T08:00Z`,
        field,
      );
    return ms;
  }

  private nameOf(personId: string): string {
    return this.person(personId)?.name ?? personId;
  }

  private shiftView(s: Shift): OncallShiftView {
    return {
      person: s.person,
      personName: this.nameOf(s.person),
      start: s.start,
      end: s.end,
      override: s.override,
      overrideId: s.overrideId ?? null,
    };
  }

  private overrideView(r: OverrideRow): OncallOverrideView {
    return {
      id: r.id,
      schedule: r.schedule_id,
      person: r.person,
      personName: this.nameOf(r.person),
      start: Number(r.start_at),
      end: Number(r.end_at),
      createdBy: r.created_by,
      createdAt: Number(r.created_at),
      deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
      deletedBy: r.deleted_by,
    };
  }
}
