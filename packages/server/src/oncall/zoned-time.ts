// Wall-clock time in an IANA time zone, with Intl only: handoffs happen at local time, across DST changes.

export const DAY_MS = 86_400_000;

export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock date and time at `ms` in the zone (seconds dropped). */
export function localParts(ms: number, timeZone: string): LocalDateTime & { second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(ms))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Local time minus UTC at the instant, in ms (+3_600_000 for CET). */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const floored = Math.floor(ms / 1000) * 1000;
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - floored;
}

/**
 * The instant a wall-clock time happens in the zone. Like Temporal's "compatible": a time that occurs
 * twice (clocks go back) is the first one; a time skipped (clocks go forward) moves later by the gap.
 */
export function zonedToUtc(local: LocalDateTime, timeZone: string): number {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  // Real zones change offset at most once within a day either side.
  const before = offsetAt(asUtc - DAY_MS, timeZone);
  const after = offsetAt(asUtc + DAY_MS, timeZone);
  const valid = [...new Set([before, after])]
    .map((offset) => asUtc - offset)
    .filter((t) => asUtc - offsetAt(t, timeZone) === t)
    .sort((a, b) => a - b);
  return valid[0] ?? asUtc - before;
}

/** Days since 1970-01-01 of a calendar date; calendar arithmetic without DST surprises. */
export function epochDay(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

export function fromEpochDay(n: number): { year: number; month: number; day: number } {
  const d = new Date(n * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Sunday ... 6 = Saturday, like Date.getDay(). */
export function weekdayOf(n: number): number {
  return new Date(n * DAY_MS).getUTCDay();
}

/** The local calendar day (as an epoch day) of an instant in the zone. */
export function localDay(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  return epochDay(p.year, p.month, p.day);
}

/** "2026-03-29" → epoch day, or undefined when not a real date. */
export function parseDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const n = epochDay(year, month, day);
  const back = fromEpochDay(n);
  return back.month === month && back.day === day ? n : undefined;
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/;

/**
 * An ISO 8601 date-time to epoch ms. With an offset or Z it is that instant; without one it is wall-clock
 * time in `timeZone` ("2026-03-02T09:00" in Europe/Berlin), and a bare date is its midnight there.
 */
export function parseDateTime(text: string, timeZone: string): number | undefined {
  const trimmed = text.trim();
  const local = LOCAL_DATE_TIME.exec(trimmed);
  if (local) {
    const [year, month, day] = [Number(local[1]), Number(local[2]), Number(local[3])];
    if (parseDate(`${local[1]}-${local[2]}-${local[3]}`) === undefined) return undefined;
    const hour = Number(local[4] ?? 0);
    const minute = Number(local[5] ?? 0);
    const second = Number(local[6] ?? 0);
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    return zonedToUtc({ year, month, day, hour, minute }, timeZone) + second * 1000;
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed))
    return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

/** "2026-03-02 09:00" in the zone, for people reading a schedule. */
export function formatLocal(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}
