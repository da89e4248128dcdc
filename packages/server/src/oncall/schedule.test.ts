import { describe, expect, it } from 'vitest';
import { nextShift, onCallAt, shifts, type Rotation, type Schedule, type Shift } from './schedule.js';
import { formatLocal, parseDateTime, zonedToUtc } from './zoned-time.js';

const utc = (month: number, day: number, hour = 0, minute = 0) =>
  Date.UTC(2026, month - 1, day, hour, minute);

function schedule(
  timeZone: string,
  rotation: Partial<Rotation>,
  overrides: Schedule['overrides'] = [],
): Schedule {
  return {
    id: 'primary',
    timeZone,
    rotation: {
      type: 'daily',
      handoff: '09:00',
      handoffDay: 'monday',
      start: '2026-01-05',
      participants: ['ann', 'ben', 'cat'],
      ...rotation,
    },
    overrides,
  };
}

/** Shifts as [person, start ISO, end ISO, override] for readable expectations. */
const readable = (list: Shift[]) =>
  list.map((s) => [s.person, new Date(s.start).toISOString(), new Date(s.end).toISOString(), s.override]);

describe('zoned time', () => {
  it('maps wall-clock times to instants across DST, skipped times moving forward, repeated ones first', () => {
    const berlin = 'Europe/Berlin';
    expect(zonedToUtc({ year: 2026, month: 3, day: 28, hour: 9, minute: 0 }, berlin)).toBe(utc(3, 28, 8));
    expect(zonedToUtc({ year: 2026, month: 3, day: 29, hour: 9, minute: 0 }, berlin)).toBe(utc(3, 29, 7));
    // 02:30 does not exist on 29 March in Berlin: it is 03:30 CEST.
    expect(zonedToUtc({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, berlin)).toBe(
      utc(3, 29, 1, 30),
    );
    // 02:30 happens twice on 25 October: the first (CEST) one.
    expect(zonedToUtc({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, berlin)).toBe(
      utc(10, 25, 0, 30),
    );
    expect(zonedToUtc({ year: 2026, month: 3, day: 8, hour: 9, minute: 0 }, 'America/New_York')).toBe(
      utc(3, 8, 13),
    );
  });

  it('parses date-times with an offset as instants and without one in the schedule zone', () => {
    expect(parseDateTime('2026-03-02T09:00', 'Europe/Berlin')).toBe(utc(3, 2, 8));
    expect(parseDateTime('2026-07-02 09:00:30', 'Europe/Berlin')).toBe(utc(7, 2, 7) + 30_000);
    expect(parseDateTime('2026-03-02', 'America/New_York')).toBe(utc(3, 2, 5));
    expect(parseDateTime('2026-03-02T09:00Z', 'Europe/Berlin')).toBe(utc(3, 2, 9));
    expect(parseDateTime('2026-03-02T09:00:00+05:30', 'UTC')).toBe(utc(3, 2, 3, 30));
    for (const bad of ['tomorrow', '2026-02-30T09:00', '2026-03-02T25:00', '2026-03-02T09:00+0', ''])
      expect(parseDateTime(bad, 'UTC'), bad).toBeUndefined();
    expect(formatLocal(utc(3, 29, 7), 'Europe/Berlin')).toBe('2026-03-29 09:00');
  });
});

describe('rotations', () => {
  it('daily: hands off at 09:00 local time, so the shift over the spring DST change lasts 23 hours', () => {
    const s = schedule('Europe/Berlin', { start: '2026-03-27' });
    expect(readable(shifts(s, utc(3, 27), utc(3, 31)))).toEqual([
      ['ann', '2026-03-27T08:00:00.000Z', '2026-03-28T08:00:00.000Z', false],
      ['ben', '2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', false],
      ['cat', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z', false],
      ['ann', '2026-03-30T07:00:00.000Z', '2026-03-31T00:00:00.000Z', false],
    ]);
  });

  it('daily: the autumn shift lasts 25 hours, and a handoff at a repeated time takes the first one', () => {
    const s = schedule('Europe/Berlin', {
      start: '2026-10-24',
      handoff: '02:30',
      participants: ['ann', 'ben'],
    });
    expect(readable(shifts(s, utc(10, 24), utc(10, 26, 12)))).toEqual([
      ['ann', '2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', false],
      ['ben', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', false],
      ['ann', '2026-10-26T01:30:00.000Z', '2026-10-26T12:00:00.000Z', false],
    ]);
  });

  it('weekly: a short first shift from the start date to the first handoff day, then whole weeks across DST', () => {
    // 4 March 2026 is a Wednesday; New York moves to EDT on Sunday 8 March.
    const s = schedule('America/New_York', {
      type: 'weekly',
      start: '2026-03-04',
      participants: ['ann', 'ben'],
    });
    expect(readable(shifts(s, utc(3, 1), utc(3, 23, 14)))).toEqual([
      ['ann', '2026-03-04T14:00:00.000Z', '2026-03-09T13:00:00.000Z', false],
      ['ben', '2026-03-09T13:00:00.000Z', '2026-03-16T13:00:00.000Z', false],
      ['ann', '2026-03-16T13:00:00.000Z', '2026-03-23T13:00:00.000Z', false],
      ['ben', '2026-03-23T13:00:00.000Z', '2026-03-23T14:00:00.000Z', false],
    ]);
  });

  it('weekly: hands off on the configured day and time; a start on that day begins with a full week', () => {
    // 6 March 2026 is a Friday.
    const s = schedule('UTC', {
      type: 'weekly',
      start: '2026-03-06',
      handoffDay: 'friday',
      handoff: '17:30',
      participants: ['ann', 'ben', 'cat'],
    });
    const list = shifts(s, utc(3, 6), utc(4, 1));
    expect(readable(list).map(([p, start]) => [p, start])).toEqual([
      ['ann', '2026-03-06T17:30:00.000Z'],
      ['ben', '2026-03-13T17:30:00.000Z'],
      ['cat', '2026-03-20T17:30:00.000Z'],
      ['ann', '2026-03-27T17:30:00.000Z'],
    ]);
    // Far from the start, the turn is still counted from it: week 52 after the start is ben's (52 % 3 = 1).
    const far = onCallAt(s, Date.UTC(2027, 2, 5, 18));
    expect(far?.person).toBe('ben');
    expect(new Date(far!.start).toISOString()).toBe('2027-03-05T17:30:00.000Z');
  });

  it('nobody is on call before the rotation starts', () => {
    const s = schedule('Europe/Berlin', { start: '2026-03-27' });
    expect(onCallAt(s, utc(3, 27, 7, 59))).toBeNull();
    expect(onCallAt(s, utc(3, 27, 8))?.person).toBe('ann');
    expect(shifts(s, utc(3, 1), utc(3, 27, 8))).toEqual([]);
    expect(nextShift(s, utc(3, 20))).toMatchObject({ person: 'ann', start: utc(3, 27, 8) });
  });

  it('a single participant is on call in one unbroken stretch', () => {
    const s = schedule('UTC', { type: 'weekly', start: '2026-03-02', participants: ['ann'] });
    expect(readable(shifts(s, utc(3, 2), utc(4, 1)))).toEqual([
      ['ann', '2026-03-02T09:00:00.000Z', '2026-04-01T00:00:00.000Z', false],
    ]);
    expect(nextShift(s, utc(3, 10))).toBeNull();
  });
});

describe('overrides', () => {
  const daily = (overrides: Schedule['overrides'] = []) =>
    schedule('UTC', { start: '2026-03-02', participants: ['ann', 'ben'] }, overrides);

  it('an override wins over the rotation for its time only', () => {
    const s = daily([{ person: 'zoe', start: utc(3, 2, 12), end: utc(3, 2, 18) }]);
    expect(readable(shifts(s, utc(3, 2, 9), utc(3, 3, 9)))).toEqual([
      ['ann', '2026-03-02T09:00:00.000Z', '2026-03-02T12:00:00.000Z', false],
      ['zoe', '2026-03-02T12:00:00.000Z', '2026-03-02T18:00:00.000Z', true],
      ['ann', '2026-03-02T18:00:00.000Z', '2026-03-03T09:00:00.000Z', false],
    ]);
    expect(onCallAt(s, utc(3, 2, 13))).toEqual({
      person: 'zoe',
      start: utc(3, 2, 12),
      end: utc(3, 2, 18),
      override: true,
    });
  });

  it('of overlapping overrides the one starting latest wins, wherever it is listed', () => {
    const s = daily([
      { person: 'cat', start: utc(3, 2, 10), end: utc(3, 2, 18) },
      { person: 'dan', start: utc(3, 2, 12), end: utc(3, 2, 14) },
    ]);
    // eve starts earliest, so she only covers what the others leave; API overrides come after config ones.
    const api = [{ id: 'o1', person: 'eve', start: utc(3, 2, 8), end: utc(3, 2, 20) }];
    expect(readable(shifts(s, utc(3, 2, 6), utc(3, 2, 22), api))).toEqual([
      ['eve', '2026-03-02T08:00:00.000Z', '2026-03-02T10:00:00.000Z', true],
      ['cat', '2026-03-02T10:00:00.000Z', '2026-03-02T12:00:00.000Z', true],
      ['dan', '2026-03-02T12:00:00.000Z', '2026-03-02T14:00:00.000Z', true],
      ['cat', '2026-03-02T14:00:00.000Z', '2026-03-02T18:00:00.000Z', true],
      ['eve', '2026-03-02T18:00:00.000Z', '2026-03-02T20:00:00.000Z', true],
      ['ann', '2026-03-02T20:00:00.000Z', '2026-03-02T22:00:00.000Z', false],
    ]);
    expect(shifts(s, utc(3, 2, 6), utc(3, 2, 22), api)[0]!.overrideId).toBe('o1');
    // Same start: the one listed last (the newer) wins.
    const tie = daily([{ person: 'cat', start: utc(3, 2, 10), end: utc(3, 2, 12) }]);
    expect(
      onCallAt(tie, utc(3, 2, 11), [{ person: 'dan', start: utc(3, 2, 10), end: utc(3, 2, 12) }])?.person,
    ).toBe('dan');
  });

  it('an override before the rotation starts puts someone on call; onCallAt reports the whole stretch', () => {
    const s = schedule('UTC', { start: '2026-03-02', participants: ['ann', 'ben'] }, [
      { person: 'ann', start: utc(3, 1, 9), end: utc(3, 2, 9) },
    ]);
    expect(onCallAt(s, utc(3, 1, 12))).toMatchObject({ person: 'ann', override: true, end: utc(3, 2, 9) });
    // From the override ann goes straight into her rotation shift: the next person is ben, at 3 March 09:00.
    expect(nextShift(s, utc(3, 1, 12))).toMatchObject({ person: 'ben', start: utc(3, 3, 9) });
    expect(onCallAt(s, utc(3, 2, 12))).toMatchObject({
      person: 'ann',
      override: false,
      start: utc(3, 2, 9),
      end: utc(3, 3, 9),
    });
  });

  it('ignores overrides outside the window and empty ones', () => {
    const s = daily([
      { person: 'zoe', start: utc(4, 1), end: utc(4, 2) },
      { person: 'zed', start: utc(3, 2, 12), end: utc(3, 2, 12) },
    ]);
    expect(shifts(s, utc(3, 2, 9), utc(3, 3, 9)).map((x) => x.person)).toEqual(['ann']);
  });
});
