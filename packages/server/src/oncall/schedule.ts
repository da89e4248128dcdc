// Who is on call when: a daily or weekly rotation handed off at local wall-clock time, with overrides on
// top (PagerDuty's final layer). Pure functions over a schedule and a list of overrides.
import { DAY_MS, localDay, parseDate, weekdayOf, zonedToUtc, fromEpochDay } from './zoned-time.js';

export const WEEKDAYS = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface Rotation {
  type: 'daily' | 'weekly';
  /** Local wall-clock time of the handoff, "HH:MM". */
  handoff: string;
  /** Weekly rotations hand off on this day. */
  handoffDay: Weekday;
  /** The local date ("YYYY-MM-DD") whose handoff time starts the first shift. */
  start: string;
  /** Person ids, in turn order. */
  participants: string[];
}

export interface Override {
  /** Set for overrides made through the API. */
  id?: string;
  person: string;
  start: number;
  end: number;
}

export interface Schedule {
  id: string;
  timeZone: string;
  rotation: Rotation;
  /** From the config; API overrides are passed alongside. */
  overrides: Override[];
}

export interface Shift {
  person: string;
  start: number;
  end: number;
  override: boolean;
  overrideId?: string;
}

/** How far around an instant onCallAt looks to find where the current shift began and ends. */
export const LOOK_BEHIND_MS = 35 * DAY_MS;
export const LOOK_AHEAD_MS = 90 * DAY_MS;

interface RotationShift {
  person: string;
  start: number;
  end: number;
}

/** The rotation alone: a shift starts on each boundary day at the handoff time, turns go round in order. */
class RotationClock {
  private readonly beginDay: number;
  private readonly hour: number;
  private readonly minute: number;
  private readonly handoffWeekday: number;
  /** The first weekly handoff after the start day. */
  private readonly firstHandoffDay: number;

  constructor(private readonly schedule: Schedule) {
    const { rotation } = schedule;
    const begin = parseDate(rotation.start);
    if (begin === undefined) throw new Error(`rotation start "${rotation.start}" is not a date`);
    this.beginDay = begin;
    [this.hour, this.minute] = rotation.handoff.split(':').map(Number) as [number, number];
    this.handoffWeekday = WEEKDAYS.indexOf(rotation.handoffDay);
    this.firstHandoffDay = begin + ((this.handoffWeekday - weekdayOf(begin) + 7) % 7 || 7);
  }

  get begin(): number {
    return this.handoffAt(this.beginDay);
  }

  private handoffAt(day: number): number {
    const { year, month, day: d } = fromEpochDay(day);
    return zonedToUtc({ year, month, day: d, hour: this.hour, minute: this.minute }, this.schedule.timeZone);
  }

  private weekly(): boolean {
    return this.schedule.rotation.type === 'weekly';
  }

  private nextDay(day: number): number {
    if (!this.weekly()) return day + 1;
    return day === this.beginDay ? this.firstHandoffDay : day + 7;
  }

  private turn(day: number): number {
    if (!this.weekly()) return day - this.beginDay;
    return day === this.beginDay ? 0 : (day - this.firstHandoffDay) / 7 + 1;
  }

  /** The boundary day of the shift holding `at` (at >= begin). */
  private dayOf(at: number): number {
    let day = localDay(at, this.schedule.timeZone);
    if (this.weekly()) day -= (weekdayOf(day) - this.handoffWeekday + 7) % 7;
    if (day > this.beginDay && this.handoffAt(day) > at) day -= this.weekly() ? 7 : 1;
    return Math.max(day, this.beginDay);
  }

  /** Shifts overlapping [from, to), unclipped. Nobody is on call before the rotation begins. */
  shifts(from: number, to: number): RotationShift[] {
    const { participants } = this.schedule.rotation;
    if (participants.length === 0 || to <= this.begin) return [];
    const out: RotationShift[] = [];
    let day = this.dayOf(Math.max(from, this.begin));
    let start = this.handoffAt(day);
    while (start < to) {
      const next = this.nextDay(day);
      const end = this.handoffAt(next);
      out.push({ person: participants[this.turn(day) % participants.length]!, start, end });
      day = next;
      start = end;
    }
    return out;
  }
}

/**
 * Who is on call in [from, to): rotation shifts with overrides laid over them, clipped to the window.
 * Where overrides overlap, the one starting latest wins (ties: the one listed last, so API overrides
 * beat config ones and newer beat older). Adjacent pieces of the same person and source are merged.
 */
export function shifts(schedule: Schedule, from: number, to: number, overrides: Override[] = []): Shift[] {
  if (to <= from) return [];
  const rotation = new RotationClock(schedule).shifts(from, to);
  const all = [...schedule.overrides, ...overrides]
    .map((o, index) => ({ ...o, index }))
    .filter((o) => o.end > o.start && o.end > from && o.start < to);
  const points = new Set<number>([from, to]);
  for (const s of rotation) for (const t of [s.start, s.end]) if (t > from && t < to) points.add(t);
  for (const o of all) for (const t of [o.start, o.end]) if (t > from && t < to) points.add(t);
  const sorted = [...points].sort((a, b) => a - b);

  const out: Shift[] = [];
  let r = 0;
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [start, end] = [sorted[i]!, sorted[i + 1]!];
    let piece: Shift | undefined;
    const winner = all
      .filter((o) => o.start <= start && o.end > start)
      .reduce<(typeof all)[number] | undefined>(
        (best, o) =>
          !best || o.start > best.start || (o.start === best.start && o.index > best.index) ? o : best,
        undefined,
      );
    if (winner) {
      piece = { person: winner.person, start, end, override: true };
      if (winner.id !== undefined) piece.overrideId = winner.id;
    } else {
      while (r < rotation.length && rotation[r]!.end <= start) r++;
      const shift = rotation[r];
      if (shift && shift.start <= start) piece = { person: shift.person, start, end, override: false };
    }
    if (!piece) continue;
    const last = out.at(-1);
    if (
      last &&
      last.end === start &&
      last.person === piece.person &&
      last.override === piece.override &&
      last.overrideId === piece.overrideId
    )
      last.end = end;
    else out.push(piece);
  }
  return out;
}

/**
 * The shift holding `at`, or null when nobody is on call. Its start and end are those of the whole
 * stretch the person is on call, looked for within 35 days before and 90 days after.
 */
export function onCallAt(schedule: Schedule, at: number, overrides: Override[] = []): Shift | null {
  const around = shifts(schedule, at - LOOK_BEHIND_MS, at + LOOK_AHEAD_MS, overrides);
  return around.find((s) => s.start <= at && s.end > at) ?? null;
}

/** The first shift after the current one with someone else (or anyone, when nobody is on call now). */
export function nextShift(schedule: Schedule, at: number, overrides: Override[] = []): Shift | null {
  const ahead = shifts(schedule, at, at + LOOK_AHEAD_MS, overrides);
  const current = ahead[0] && ahead[0].start <= at ? ahead[0] : undefined;
  return ahead.find((s) => s.start > at && s.person !== current?.person) ?? null;
}
