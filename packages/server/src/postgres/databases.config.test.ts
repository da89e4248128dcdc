// The `databases:` section as a user writes it: defaults (pghero's and the guide's), sizes and
// durations in words, and every mistake reported with its line and what to write instead.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';

const load = (yaml: string, env: NodeJS.ProcessEnv = {}) =>
  loadConfigText(yaml, '/etc/opsbook/opsbook.yaml', env);

describe('databases config', () => {
  it('fills pghero’s thresholds and the guide’s maintenance cadence', () => {
    const result = load(
      'databases:\n  - id: main\n    url: postgres://app@db:5432/app\n    password: ${PGPASSWORD}\n',
      { PGPASSWORD: 's3cret' },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [db] = result.config.databases;
    expect(db).toMatchObject({
      id: 'main',
      password: 's3cret',
      role: 'primary',
      collectInterval: 60_000,
      statementTimeout: 5_000,
      largestTables: 20,
      thresholds: {
        longRunningQuery: 60_000,
        cacheHitRatio: 0.99,
        slowQueryMeanMs: 20,
        slowQueryCalls: 100,
        unusedIndexMinSize: 10 * 1024 * 1024,
        sequenceUsedRatio: 0.9,
        xidRemainingWarning: 1_500_000_000,
        replicationLag: 5_000,
        missingIndexMinRows: 10_000,
      },
      maintenance: { enabled: true, timezone: 'UTC', windowHour: 3, statementTimeout: 30 * 60_000 },
    });
  });

  it('reads sizes and durations written in words', () => {
    const result = load(
      'databases:\n  - id: main\n    url: postgres://app@db/app\n    thresholds: { unusedIndexMinSize: 1.5GB, longRunningQuery: 5m }\n',
    );
    expect(result.ok && result.config.databases[0]!.thresholds).toMatchObject({
      unusedIndexMinSize: 1.5 * 1024 ** 3,
      longRunningQuery: 300_000,
    });
  });

  it('reports each mistake with its line: a size, a cron, a time zone, a written password', () => {
    const result = load(
      [
        'databases:',
        '  - id: main',
        '    url: postgres://app@db/app',
        '    password: hunter2',
        '    thresholds: { unusedIndexMinSize: lots }',
        '    maintenance:',
        '      timezone: Mars/Olympus',
        "      tasks: { vacuum-analyze: { schedule: 'every sunday' } }",
      ].join('\n'),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.map((d) => [d.line, d.path, d.message])).toEqual([
      [4, 'databases[0].password', expect.stringMatching(/must be exactly one \$\{ENV_VAR\}/)],
      [
        5,
        'databases[0].thresholds.unusedIndexMinSize',
        '"lots" is not a size; write e.g. 10MB, 1.5GB or bytes',
      ],
      [
        7,
        'databases[0].maintenance.timezone',
        'unknown time zone "Mars/Olympus"; use an IANA name like Europe/Paris',
      ],
      [
        8,
        'databases[0].maintenance.tasks.vacuum-analyze.schedule',
        expect.stringMatching(/^invalid cron expression/),
      ],
    ]);
    const twice = load(
      'databases:\n  - { id: main, url: "postgres://a@x/a" }\n  - { id: main, url: "postgres://a@y/a" }\n',
    );
    expect(!twice.ok && twice.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [3, 'duplicate database id "main"'],
    ]);
  });
});
