import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';

const receivers = `
notifications:
  receivers:
    - { name: ann-phone, webhook: { url: "http://127.0.0.1:9/ann" } }
    - { name: lead-mail, webhook: { url: "http://127.0.0.1:9/lead" } }
`;

describe('oncall config', () => {
  it('parses people, schedules with defaults, overrides in the schedule zone, and policies', () => {
    const result = loadConfigText(
      `${receivers}
oncall:
  people:
    - { id: ann, name: Ann, notify: [ann-phone] }
    - { id: lead, name: Team Lead, email: lead@example.com, notify: [lead-mail] }
  schedules:
    - id: primary
      timeZone: Europe/Berlin
      rotation: { type: weekly, start: "2026-01-05", participants: [ann, lead] }
      overrides:
        - { person: lead, start: "2026-03-02T09:00", end: "2026-03-02T18:00Z" }
  escalationPolicies:
    - id: team
      services: [shop]
      levels:
        - notify: [{ schedule: primary }]
          escalateAfter: 15m
        - notify: [{ person: lead }]
  defaultPolicy: team
`,
      'opsbook.yaml',
    );
    expect(result.diagnostics).toEqual([]);
    if (!result.ok) return;
    const { oncall } = result.config;
    expect(oncall.schedules[0]).toEqual({
      id: 'primary',
      timeZone: 'Europe/Berlin',
      rotation: {
        type: 'weekly',
        handoff: '09:00',
        handoffDay: 'monday',
        start: '2026-01-05',
        participants: ['ann', 'lead'],
      },
      overrides: [{ person: 'lead', start: Date.UTC(2026, 2, 2, 8), end: Date.UTC(2026, 2, 2, 18) }],
    });
    expect(oncall.escalationPolicies[0]).toEqual({
      id: 'team',
      services: ['shop'],
      repeat: 0,
      levels: [
        { notify: [{ schedule: 'primary' }], escalateAfter: 15 * 60_000 },
        { notify: [{ person: 'lead' }], escalateAfter: 30 * 60_000 },
      ],
    });
    expect(oncall.defaultPolicy).toBe('team');
  });

  it('names every bad reference and value with its line and path', () => {
    const result = loadConfigText(
      `${receivers}
oncall:
  people:
    - { id: ann, name: Ann, notify: [ann-pager] }
    - { id: ann, name: Ann again, notify: [ann-phone] }
  schedules:
    - id: primary
      timeZone: Europe/Berlinn
      rotation: { type: weekly, handoff: "9am", handoffDay: mondays, start: "2026-02-30", participants: [ann, bob] }
    - id: secondary
      rotation: { type: daily, start: "2026-01-05", participants: [ann] }
      overrides:
        - { person: carol, start: "2026-03-02T18:00", end: "2026-03-02T09:00" }
  escalationPolicies:
    - id: team
      services: [shop]
      repeat: 10
      levels:
        - notify: [{ schedule: tertiary }]
          escalateAfter: 30s
        - notify: [{ schedule: primary, person: ann }]
    - id: other
      services: [shop]
      levels: []
  defaultPolicy: nope
`,
      'opsbook.yaml',
    );
    expect(result.ok).toBe(false);
    const problems = result.diagnostics.map((d) => `${d.line} ${d.path}: ${d.message}`);
    const expected = [
      /^\d+ oncall\.schedules\[0\]\.timeZone: "Europe\/Berlinn" is not an IANA time zone/,
      /oncall\.schedules\[0\]\.rotation\.handoff: write the handoff time as HH:MM/,
      /oncall\.schedules\[0\]\.rotation\.handoffDay: /,
      /oncall\.schedules\[0\]\.rotation\.start: write the start as a date/,
      /oncall\.escalationPolicies\[0\]\.repeat: /,
      /oncall\.escalationPolicies\[0\]\.levels\[0\]\.escalateAfter: escalate after at least 1m/,
      /oncall\.escalationPolicies\[0\]\.levels\[1\]\.notify\[0\]: name one schedule or one person/,
      /oncall\.escalationPolicies\[1\]\.levels: a policy needs at least one level/,
    ];
    for (const pattern of expected)
      expect(problems, String(pattern)).toContainEqual(expect.stringMatching(pattern));
  });

  it('checks references once the values are valid: people, schedules, policies, services and receivers', () => {
    const result = loadConfigText(
      `${receivers}
oncall:
  people:
    - { id: ann, name: Ann, notify: [ann-pager] }
    - { id: ann, name: Ann again, notify: [ann-phone] }
  schedules:
    - id: primary
      rotation: { type: weekly, start: "2026-01-05", participants: [ann, bob] }
      overrides:
        - { person: carol, start: "2026-03-02T09:00", end: "2026-03-02T18:00" }
  escalationPolicies:
    - id: team
      services: [shop]
      levels:
        - notify: [{ schedule: tertiary }, { person: dan }]
    - id: other
      services: [web, shop]
      levels:
        - notify: [{ schedule: primary }]
  defaultPolicy: nope
`,
      'opsbook.yaml',
    );
    expect(result.ok).toBe(false);
    const problems = result.diagnostics.map((d) => `${d.path}: ${d.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'oncall.people[1].id: duplicate person id "ann"',
        'oncall.schedules[0].rotation.participants[1]: no person "bob" in oncall.people (known: ann)',
        'oncall.schedules[0].overrides[0].person: no person "carol" in oncall.people (known: ann)',
        'oncall.escalationPolicies[0].levels[0].notify[0].schedule: no schedule "tertiary" in oncall.schedules (known: primary)',
        'oncall.escalationPolicies[0].levels[0].notify[1].person: no person "dan" in oncall.people (known: ann)',
        'oncall.escalationPolicies[1].services[1]: service "shop" already uses policy "team"; a service has one escalation policy',
        'oncall.defaultPolicy: no escalation policy "nope" in oncall.escalationPolicies (known: team, other)',
      ]),
    );
    const receiverProblem = loadConfigText(
      `${receivers}\noncall:\n  people:\n    - { id: ann, name: Ann, notify: [ann-pager] }\n`,
      'opsbook.yaml',
    );
    expect(receiverProblem.diagnostics.map((d) => `${d.line} ${d.path}: ${d.message}`)).toEqual([
      '9 oncall.people[0].notify[0]: no receiver named "ann-pager"; define it under notifications.receivers',
    ]);
  });

  it('an override whose end is before its start is reported on the end', () => {
    const result = loadConfigText(
      `${receivers}
oncall:
  people: [{ id: ann, name: Ann, notify: [ann-phone] }]
  schedules:
    - id: primary
      rotation: { type: daily, start: "2026-01-05", participants: [ann] }
      overrides: [{ person: ann, start: "2026-03-02T18:00", end: "2026-03-02T09:00" }]
`,
      'opsbook.yaml',
    );
    expect(result.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'oncall.schedules[0].overrides[0].end: the end must be after the start',
    ]);
  });
});
