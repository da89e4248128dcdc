// Rules whose situations a throwaway cluster cannot make quickly (a cold cache, wraparound, a lagging
// replica, a failover) checked on snapshots, plus the duplicate-index rule's edge cases.
import { describe, expect, it } from 'vitest';
import type { DatabaseSnapshot } from '@opsbook/contracts';
import { advise } from './advisor.js';
import { emptySnapshot } from './collector.js';
import { duplicateIndexes, type IndexDefinition } from './indexes.js';
import { thresholdsSchema } from './thresholds.schema.js';

const thresholds = thresholdsSchema.parse({});
const NOW = Date.UTC(2026, 10, 26, 9);

function snapshot(patch: Partial<DatabaseSnapshot>): DatabaseSnapshot {
  return {
    ...emptySnapshot('main', NOW),
    up: true,
    connections: { byState: { active: 1 }, total: 1, max: 100 },
    statements: { status: 'installed', message: null, preloaded: true, slowCount: 0, slow: [], top: [] },
    ...patch,
  };
}

const report = (s: DatabaseSnapshot, role: 'primary' | 'replica' = 'primary') =>
  advise({ database: 'main', snapshot: s, thresholds, role, user: 'Ops User', now: NOW });

describe('advisor rules', () => {
  it('a healthy snapshot has no findings', () => {
    expect(report(snapshot({})).findings).toEqual([]);
  });

  it('cache hit under 99 % warns once enough blocks were read; a nearly idle database is not judged', () => {
    const cold = report(
      snapshot({ cacheHit: { table: 0.9, index: 0.995, tableBlocks: 50_000, indexBlocks: 50_000 } }),
    );
    expect(cold.findings.map((f) => [f.id, f.severity, f.title])).toEqual([
      ['cache-hit:table', 'warning', 'Table cache hit ratio is 90.0 % (healthy: 99 % and over)'],
    ]);
    expect(
      report(snapshot({ cacheHit: { table: 0.5, index: null, tableBlocks: 10, indexBlocks: 0 } })).findings,
    ).toEqual([]);
  });

  it('connections: warning from 80 %, critical from 95 % of max_connections', () => {
    const at = (total: number) =>
      report(snapshot({ connections: { byState: { idle: total }, total, max: 100 } })).findings.map(
        (f) => f.severity,
      );
    expect(at(79)).toEqual([]);
    expect(at(80)).toEqual(['warning']);
    expect(at(96)).toEqual(['critical']);
  });

  it('wraparound: warning under 1.5 billion left, critical under 100 million, with VACUUM FREEZE of the oldest', () => {
    const xid = (remaining: number) =>
      report(
        snapshot({
          xid: {
            age: 2_146_483_648 - remaining,
            remaining,
            oldest: [{ schema: 'public', name: 'Orders', age: 1 }],
          },
        }),
      ).findings;
    expect(xid(1.6e9)).toEqual([]);
    expect(xid(1.4e9)[0]).toMatchObject({
      severity: 'warning',
      fix: { sql: 'VACUUM (FREEZE, ANALYZE) "public"."Orders";', destructive: false },
    });
    expect(xid(5e7)[0]!.severity).toBe('critical');
  });

  it('replication lag from 5 s, and a failover the config does not know about', () => {
    const lagging = report(
      snapshot({ inRecovery: true, replication: { lagSeconds: 12, standbys: 0, slots: [] } }),
      'replica',
    );
    expect(lagging.findings.map((f) => f.id)).toEqual(['replication-lag']);
    const promoted = report(snapshot({ inRecovery: false }), 'replica');
    expect(promoted.findings[0]).toMatchObject({
      id: 'role-mismatch',
      title: 'Configured as replica but the server is a primary',
    });
  });

  it('collection errors suggest granting pg_monitor to the quoted user; most severe first overall', () => {
    const r = report(
      snapshot({
        errors: [{ section: 'blocking', message: 'permission denied' }],
        connections: { byState: {}, total: 99, max: 100 },
      }),
    );
    expect(r.findings.map((f) => f.severity)).toEqual(['critical', 'info']);
    expect(r.findings[1]!.fix.sql).toBe('GRANT pg_monitor TO "Ops User";');
    expect(r.counts).toEqual({ critical: 1, warning: 0, info: 1 });
  });

  it('an unreachable database has only the critical unreachable finding', () => {
    const down = report({ ...snapshot({}), up: false, error: 'connect ECONNREFUSED 127.0.0.1:1' });
    expect(down.findings.map((f) => [f.rule, f.severity])).toEqual([['unreachable', 'critical']]);
  });
});

describe('duplicate indexes', () => {
  const index = (name: string, columns: string[], extra: Partial<IndexDefinition> = {}): IndexDefinition => ({
    schema: 'public',
    table: 't',
    name,
    definition: `CREATE INDEX ${name} ON t (${columns.join(', ')})`,
    sizeBytes: 1,
    scans: 0,
    unique: false,
    primary: false,
    valid: true,
    constraint: false,
    tableOid: '1',
    columns,
    opclasses: columns.map(() => '1978'),
    method: 'btree',
    predicate: '',
    expressions: '',
    ...extra,
  });
  const pairs = (list: IndexDefinition[]) =>
    duplicateIndexes(list).map((d) => [d.index.name, d.coveredBy.name]);

  it('a prefix is covered; a unique or primary index is kept; identical ones report one', () => {
    expect(pairs([index('a', ['1']), index('ab', ['1', '2'])])).toEqual([['a', 'ab']]);
    expect(
      pairs([index('a_key', ['1'], { unique: true, constraint: true }), index('ab', ['1', '2'])]),
    ).toEqual([]);
    expect(
      pairs([index('pk', ['1'], { primary: true, unique: true, constraint: true }), index('x', ['1'])]),
    ).toEqual([['x', 'pk']]);
    expect(pairs([index('b', ['1']), index('a', ['1'])])).toEqual([['b', 'a']]);
  });

  it('a different method, predicate, order of columns or table is not a duplicate', () => {
    expect(pairs([index('a', ['1']), index('h', ['1'], { method: 'hash' })])).toEqual([]);
    expect(pairs([index('a', ['1']), index('p', ['1', '2'], { predicate: '(x > 0)' })])).toEqual([]);
    expect(pairs([index('a', ['2']), index('ab', ['1', '2'])])).toEqual([]);
    expect(pairs([index('a', ['1']), index('ab', ['1', '2'], { tableOid: '2' })])).toEqual([]);
    expect(pairs([index('a', ['1']), index('ab', ['1', '2'], { valid: false })])).toEqual([]);
  });
});
