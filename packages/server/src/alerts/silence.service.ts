// Silences and maintenance windows: created from config, the API or the CLI, kept in the store.
import { randomUUID } from 'node:crypto';
import type { MaintenanceConfig } from '../config/alerting.schema.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { AlertRepository } from '../storage/alert.repository.js';
import type { MaintenanceWindowsTable, SilencesTable } from '../storage/alert-tables.js';
import { parseMatcher } from './matchers.js';
import { nextWindowStart, type MaintenanceWindow, type Silence } from './suppression.js';
import { Cron } from 'croner';

export interface SilenceInput {
  matchers: string[];
  startsAt?: number;
  endsAt?: number;
  /** Instead of endsAt: the silence ends when the alerts it matches now have resolved. */
  untilResolved?: boolean;
  createdBy: string;
  comment: string;
}

export interface WindowInput {
  name: string;
  services?: string[];
  matchers?: string[];
  startsAt?: number;
  endsAt?: number;
  schedule?: string;
  durationMs?: number;
  timezone?: string;
  comment?: string;
  createdBy: string;
}

export class SilenceService {
  private silences: Silence[] = [];
  private windows: MaintenanceWindow[] = [];

  constructor(
    private readonly repository: AlertRepository,
    private readonly now: () => number = Date.now,
  ) {}

  async load(): Promise<void> {
    this.silences = (await this.repository.loadSilences()).map(silenceFromRow);
    this.windows = (await this.repository.loadWindows()).map(windowFromRow);
  }

  /** The next time a silence or window starts or ends after `now`, so muting changes on time. */
  nextBoundary(now: number): number | undefined {
    const times: number[] = [];
    for (const s of this.silences) {
      if (s.expiredAt !== null) continue;
      if (s.startsAt > now) times.push(s.startsAt);
      if (s.endsAt !== null && s.endsAt > now) times.push(s.endsAt);
    }
    for (const w of this.windows) {
      if (w.expiredAt !== null) continue;
      if (w.schedule && w.durationMs) {
        const next = nextWindowStart(w, now);
        if (next !== null) times.push(next);
        const started = nextWindowStart(w, now - w.durationMs);
        if (started !== null && started <= now) times.push(started + w.durationMs);
      } else {
        if (w.startsAt !== null && w.startsAt > now) times.push(w.startsAt);
        if (w.endsAt !== null && w.endsAt > now) times.push(w.endsAt);
      }
    }
    return times.length ? Math.min(...times) : undefined;
  }

  /** Drops silences that ended before `before` (Alertmanager keeps expired ones 120 h). */
  async forgetExpired(before: number): Promise<number> {
    const old = this.silences.filter((s) => {
      const ended = s.expiredAt ?? s.endsAt;
      return ended !== null && ended < before;
    });
    if (old.length === 0) return 0;
    await this.repository.deleteSilences(old.map((s) => s.id));
    const gone = new Set(old.map((s) => s.id));
    this.silences = this.silences.filter((s) => !gone.has(s.id));
    return old.length;
  }

  listSilences(): Silence[] {
    return this.silences;
  }

  listWindows(): MaintenanceWindow[] {
    return this.windows;
  }

  async createSilence(input: SilenceInput, matchingNow: string[]): Promise<Silence> {
    if (input.matchers.length === 0) throw new InputError('a silence needs at least one matcher', 'matchers');
    const matchers = input.matchers.map((text, i) => {
      try {
        return parseMatcher(text);
      } catch (error) {
        throw new InputError((error as Error).message, `matchers[${i}]`);
      }
    });
    if (
      matchers.every((m) => m.op === '=~' && m.value === '.*') ||
      matchers.every((m) => m.op !== '=' && m.op !== '=~')
    )
      throw new InputError(
        'a silence needs a positive matcher (=, =~) that does not match everything',
        'matchers',
      );
    const now = this.now();
    const startsAt = input.startsAt ?? now;
    const untilResolved = input.untilResolved ?? false;
    if (!untilResolved && input.endsAt === undefined)
      throw new InputError('give endsAt (or duration), or untilResolved', 'endsAt');
    if (input.endsAt !== undefined && input.endsAt <= startsAt)
      throw new InputError('endsAt must be after startsAt', 'endsAt');
    if (input.endsAt !== undefined && input.endsAt <= now)
      throw new InputError('endsAt is in the past', 'endsAt');
    if (untilResolved && matchingNow.length === 0)
      throw new InputError(
        'no active alert matches these matchers, so there is nothing to silence until it resolves',
        'untilResolved',
      );
    if (!input.createdBy.trim()) throw new InputError('say who creates the silence', 'createdBy');
    if (!input.comment.trim())
      throw new InputError('say why (a comment) so the next person knows', 'comment');
    const silence: Silence = {
      id: randomUUID(),
      matchers,
      startsAt,
      endsAt: input.endsAt ?? null,
      untilResolved,
      boundFingerprints: untilResolved ? matchingNow : [],
      createdBy: input.createdBy,
      comment: input.comment,
      createdAt: now,
      expiredAt: null,
    };
    await this.repository.saveSilence(silenceToRow(silence));
    this.silences.unshift(silence);
    return silence;
  }

  async expireSilence(id: string): Promise<Silence> {
    const silence = this.silences.find((s) => s.id === id);
    if (!silence) throw new NotFoundError(`no silence "${id}"; list them with GET /api/v1/silences`);
    if (silence.expiredAt !== null) throw new ConflictError(`silence ${id} has already expired`);
    silence.expiredAt = this.now();
    await this.repository.saveSilence(silenceToRow(silence));
    return silence;
  }

  /** Ends until-resolved silences whose alerts have all resolved; returns those it ended. */
  async expireResolved(stillActive: Set<string>): Promise<Silence[]> {
    if (!this.silences.some((s) => s.untilResolved && s.expiredAt === null)) return [];
    const ended: Silence[] = [];
    for (const silence of this.silences) {
      if (!silence.untilResolved || silence.expiredAt !== null) continue;
      if (silence.boundFingerprints.some((fp) => stillActive.has(fp))) continue;
      silence.expiredAt = this.now();
      await this.repository.saveSilence(silenceToRow(silence));
      ended.push(silence);
    }
    return ended;
  }

  /** Makes the config's windows the stored ones (by name); API-made windows stay. */
  async syncConfigWindows(configs: MaintenanceConfig[]): Promise<void> {
    const now = this.now();
    const rows = configs.map((c) =>
      windowToRow({
        id: `config:${c.name}`,
        name: c.name,
        source: 'config',
        services: c.services,
        matchers: c.matchers.map(parseMatcher),
        startsAt: c.start ? Date.parse(c.start) : null,
        endsAt: c.end ? Date.parse(c.end) : null,
        schedule: c.schedule ?? null,
        durationMs: c.duration ?? null,
        timezone: c.timezone,
        comment: c.comment,
        createdBy: 'config',
        createdAt: this.windows.find((w) => w.id === `config:${c.name}`)?.createdAt ?? now,
        expiredAt: null,
      }),
    );
    for (const row of rows) await this.repository.saveWindow(row);
    await this.repository.deleteConfigWindowsExcept(rows.map((r) => r.id));
    this.windows = (await this.repository.loadWindows()).map(windowFromRow);
  }

  async createWindow(input: WindowInput): Promise<MaintenanceWindow> {
    const services = input.services ?? [];
    const matcherTexts = input.matchers ?? [];
    if (!input.name.trim()) throw new InputError('a maintenance window needs a name', 'name');
    if (services.length === 0 && matcherTexts.length === 0)
      throw new InputError('name the services (or matchers) the window mutes', 'services');
    const matchers = matcherTexts.map((text, i) => {
      try {
        return parseMatcher(text);
      } catch (error) {
        throw new InputError((error as Error).message, `matchers[${i}]`);
      }
    });
    const recurring = input.schedule !== undefined;
    if (recurring) {
      if (!input.durationMs) throw new InputError('a recurring window needs a duration', 'duration');
      try {
        new Cron(input.schedule!, { timezone: input.timezone ?? 'UTC', paused: true });
      } catch (error) {
        throw new InputError((error as Error).message, input.timezone ? 'schedule' : 'schedule');
      }
    } else {
      if (input.startsAt === undefined || input.endsAt === undefined)
        throw new InputError('give startsAt and endsAt, or schedule and duration', 'startsAt');
      if (input.endsAt <= input.startsAt) throw new InputError('endsAt must be after startsAt', 'endsAt');
    }
    const window: MaintenanceWindow = {
      id: randomUUID(),
      name: input.name,
      source: 'api',
      services,
      matchers,
      startsAt: recurring ? null : input.startsAt!,
      endsAt: recurring ? null : input.endsAt!,
      schedule: input.schedule ?? null,
      durationMs: recurring ? input.durationMs! : null,
      timezone: input.timezone ?? 'UTC',
      comment: input.comment ?? '',
      createdBy: input.createdBy,
      createdAt: this.now(),
      expiredAt: null,
    };
    await this.repository.saveWindow(windowToRow(window));
    this.windows.unshift(window);
    return window;
  }

  async expireWindow(id: string): Promise<MaintenanceWindow> {
    const window = this.windows.find((w) => w.id === id);
    if (!window)
      throw new NotFoundError(`no maintenance window "${id}"; list them with GET /api/v1/maintenance`);
    if (window.source === 'config')
      throw new ConflictError(`window "${window.name}" comes from the config file; remove it there`);
    window.expiredAt = this.now();
    await this.repository.saveWindow(windowToRow(window));
    return window;
  }
}

function silenceToRow(s: Silence): SilencesTable {
  return {
    id: s.id,
    matchers: JSON.stringify(s.matchers),
    starts_at: s.startsAt,
    ends_at: s.endsAt,
    until_resolved: s.untilResolved ? 1 : 0,
    bound_fingerprints: JSON.stringify(s.boundFingerprints),
    created_by: s.createdBy,
    comment: s.comment,
    created_at: s.createdAt,
    expired_at: s.expiredAt,
  };
}

function silenceFromRow(r: SilencesTable): Silence {
  return {
    id: r.id,
    matchers: JSON.parse(r.matchers) as Silence['matchers'],
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    untilResolved: r.until_resolved === 1,
    boundFingerprints: JSON.parse(r.bound_fingerprints) as string[],
    createdBy: r.created_by,
    comment: r.comment,
    createdAt: r.created_at,
    expiredAt: r.expired_at,
  };
}

function windowToRow(w: MaintenanceWindow): MaintenanceWindowsTable {
  return {
    id: w.id,
    name: w.name,
    source: w.source,
    services: JSON.stringify(w.services),
    matchers: JSON.stringify(w.matchers),
    starts_at: w.startsAt,
    ends_at: w.endsAt,
    schedule: w.schedule,
    duration_ms: w.durationMs,
    timezone: w.timezone,
    comment: w.comment,
    created_by: w.createdBy,
    created_at: w.createdAt,
    expired_at: w.expiredAt,
  };
}

function windowFromRow(r: MaintenanceWindowsTable): MaintenanceWindow {
  return {
    id: r.id,
    name: r.name,
    source: r.source as MaintenanceWindow['source'],
    services: JSON.parse(r.services) as string[],
    matchers: JSON.parse(r.matchers) as MaintenanceWindow['matchers'],
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    schedule: r.schedule,
    durationMs: r.duration_ms,
    timezone: r.timezone,
    comment: r.comment,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiredAt: r.expired_at,
  };
}
