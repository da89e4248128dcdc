// The guide's section 3.3 thresholds, checked rule by rule just above and just below each line.
import { describe, expect, it } from 'vitest';
import { expandWindow } from '../config/alerting.schema.js';
import { evaluateInstant } from '../telemetry/promql/engine.js';
import { parseExpr } from '../telemetry/promql/parser.js';
import { arraySource, every, series } from '../telemetry/promql/test-source.js';
import type { Series } from '../telemetry/series.js';
import { defaultRules, DEFAULT_RULE_NAMES } from './default-rules.js';

const NOW_S = 3600;
const rules = new Map(defaultRules(true).map((r) => [r.alert, r]));

/** Values every rule of that alert name returns (DatabaseConnectionFailures has two). */
async function fires(name: string, data: Series[]): Promise<number[]> {
  const out: number[] = [];
  for (const rule of defaultRules(true).filter((r) => r.alert === name)) {
    const result = await evaluateInstant(
      parseExpr(expandWindow(rule.expr, rule.window)),
      NOW_S * 1000,
      arraySource(data),
    );
    if (result.type === 'vector') out.push(...result.samples.map((s) => Math.round(s.value * 100) / 100));
  }
  return out;
}

/** Counters growing at `perSecond` over the last 10 minutes, sampled every 15 s. */
function counter(name: string, labels: Record<string, string>, perSecond: number): Series {
  return series(
    name,
    labels,
    every(
      NOW_S - 600,
      15,
      Array.from({ length: 41 }, (_, i) => i * 15 * perSecond),
    ),
  );
}

function gauge(name: string, labels: Record<string, string>, value: number): Series {
  return series(
    name,
    labels,
    every(
      NOW_S - 600,
      15,
      Array.from({ length: 41 }, () => value),
    ),
  );
}

function errorTraffic(errorPercent: number): Series[] {
  return [
    counter('http_requests_total', { service: 'shop', status: '200' }, 100 - errorPercent),
    counter('http_requests_total', { service: 'shop', status: '503' }, errorPercent),
  ];
}

describe('default rule pack (guide 3.3)', () => {
  it('ships every rule of the guide with its severity, for every service', () => {
    expect(DEFAULT_RULE_NAMES).toEqual(
      expect.arrayContaining([
        'ServiceUnavailable',
        'HighErrorRate',
        'ElevatedErrorRate',
        'HighResponseTime',
        'DatabaseConnectionFailures',
        'SlowDatabaseQueries',
        'StorageCapacityCritical',
        'DiskSpaceWarning',
        'HighCpuUtilization',
        'HighMemoryUtilization',
        'PodCrashLooping',
        'CertificateExpiresSoon',
      ]),
    );
    expect(rules.get('HighErrorRate')!.severity).toBe('critical');
    expect(rules.get('ElevatedErrorRate')!.severity).toBe('warning');
    expect(rules.get('CertificateExpiresSoon')!.severity).toBe('info');
    expect([...rules.values()].every((r) => r.window === 300_000)).toBe(true);
    expect(defaultRules({ disable: ['PodCrashLooping'] }).map((r) => r.alert)).not.toContain(
      'PodCrashLooping',
    );
    expect(defaultRules(false)).toEqual([]);
  });

  it('error rate: critical above 5 %, warning from 2 to 5 %', async () => {
    expect(await fires('HighErrorRate', errorTraffic(5.5))).toEqual([5.5]);
    expect(await fires('HighErrorRate', errorTraffic(4.5))).toEqual([]);
    expect(await fires('ElevatedErrorRate', errorTraffic(4.5))).toEqual([4.5]);
    expect(await fires('ElevatedErrorRate', errorTraffic(2.5))).toEqual([2.5]);
    expect(await fires('ElevatedErrorRate', errorTraffic(1.5))).toEqual([]);
    expect(await fires('ElevatedErrorRate', errorTraffic(5.5))).toEqual([]);
  });

  it('availability below 99 % from the probes', async () => {
    const probes = (ups: number, total: number) =>
      series(
        'opsbook_check_success',
        { service: 'shop', check: 'ready' },
        every(NOW_S - 299, 1, Array.from({ length: 300 }, (_, i) => (i < total - ups ? 0 : 1)).slice(0, 300)),
      );
    expect(await fires('ServiceUnavailable', [probes(297, 300)])).toEqual([]); // exactly 99 % is not below 99 %
    const down = await fires('ServiceUnavailable', [probes(294, 300)]);
    expect(down).toHaveLength(1);
    expect(down[0]).toBeLessThan(99);
  });

  it('p95 response time above 1 s', async () => {
    const histogram = (slow: number) =>
      [
        ['0.5', 100 - slow],
        ['1', 100 - slow],
        ['2.5', 100],
        ['+Inf', 100],
      ].map(([le, perSecond]) =>
        counter(
          'http_request_duration_seconds_bucket',
          { service: 'shop', le: le as string },
          perSecond as number,
        ),
      );
    expect(await fires('HighResponseTime', histogram(10))).toHaveLength(1);
    expect(await fires('HighResponseTime', histogram(2))).toEqual([]);
  });

  it('storage: critical above 90 %, warning above 80 %', async () => {
    const disk = (usedPercent: number) => [
      gauge('node_filesystem_size_bytes', { instance: 'n1', mountpoint: '/', fstype: 'ext4' }, 1000),
      gauge(
        'node_filesystem_avail_bytes',
        { instance: 'n1', mountpoint: '/', fstype: 'ext4' },
        1000 - usedPercent * 10,
      ),
    ];
    expect(await fires('StorageCapacityCritical', disk(91))).toEqual([91]);
    expect(await fires('StorageCapacityCritical', disk(89))).toEqual([]);
    expect(await fires('DiskSpaceWarning', disk(85))).toEqual([85]);
    expect(await fires('DiskSpaceWarning', disk(91))).toEqual([]);
    expect(await fires('DiskSpaceWarning', disk(79))).toEqual([]);
  });

  it('resource utilisation above 80 %', async () => {
    const memory = (usedPercent: number) => [
      gauge('node_memory_MemTotal_bytes', { instance: 'n1' }, 1000),
      gauge('node_memory_MemAvailable_bytes', { instance: 'n1' }, 1000 - usedPercent * 10),
    ];
    expect(await fires('HighMemoryUtilization', memory(85))).toEqual([85]);
    expect(await fires('HighMemoryUtilization', memory(75))).toEqual([]);
    const idle = (idlePerSecond: number) => [
      counter('node_cpu_seconds_total', { instance: 'n1', cpu: '0', mode: 'idle' }, idlePerSecond),
    ];
    expect(await fires('HighCpuUtilization', idle(0.1))).toEqual([90]);
    expect(await fires('HighCpuUtilization', idle(0.5))).toEqual([]);
  });

  it('database connection failures and certificate expiry', async () => {
    const healthy = (value: number) => [
      gauge('opsbook_check_healthy', { service: 'shop', check: 'db', kind: 'postgres' }, value),
    ];
    expect(await fires('DatabaseConnectionFailures', healthy(0))).toEqual([0]);
    expect(await fires('DatabaseConnectionFailures', healthy(1))).toEqual([]);
    const days = (d: number) => [
      gauge('opsbook_certificate_expiry_days', { service: 'shop', check: 'tls' }, d),
    ];
    expect(await fires('CertificateExpiresSoon', days(20))).toEqual([20]);
    expect(await fires('CertificateExpiresSoon', days(45))).toEqual([]);
    expect(await fires('CertificateExpiryUrgent', days(5))).toEqual([5]);
    expect(await fires('CertificateExpiresSoon', days(5))).toEqual([]);
  });

  it('databases: unreachable, connections over 80 %, wraparound, lag, inactive slots, sequences', async () => {
    const db = { database: 'main', service: 'shop' };
    expect(await fires('DatabaseConnectionFailures', [gauge('opsbook_pg_up', db, 0)])).toEqual([0]);
    expect(await fires('DatabaseConnectionFailures', [gauge('opsbook_pg_up', db, 1)])).toEqual([]);
    expect(rules.get('DatabaseConnectionFailures')!.severity).toBe('critical');
    const connections = (active: number, idle: number) => [
      gauge('opsbook_pg_connections', { ...db, state: 'active' }, active),
      gauge('opsbook_pg_connections', { ...db, state: 'idle' }, idle),
      gauge('opsbook_pg_max_connections', db, 100),
    ];
    expect(await fires('DatabaseConnectionsHigh', connections(50, 35))).toEqual([85]);
    expect(await fires('DatabaseConnectionsHigh', connections(50, 25))).toEqual([]);
    expect(await fires('SlowDatabaseQueries', [gauge('opsbook_pg_slow_queries', db, 3)])).toEqual([3]);
    expect(await fires('SlowDatabaseQueries', [gauge('opsbook_pg_slow_queries', db, 0)])).toEqual([]);
    expect(
      await fires('DatabaseTransactionIdWraparound', [gauge('opsbook_pg_xid_remaining', db, 1.4e9)]),
    ).toEqual([1.4e9]);
    expect(
      await fires('DatabaseTransactionIdWraparound', [gauge('opsbook_pg_xid_remaining', db, 2e9)]),
    ).toEqual([]);
    expect(
      await fires('DatabaseReplicationLag', [gauge('opsbook_pg_replication_lag_seconds', db, 7)]),
    ).toEqual([7]);
    expect(
      await fires('DatabaseReplicationLag', [gauge('opsbook_pg_replication_lag_seconds', db, 4)]),
    ).toEqual([]);
    expect(
      await fires('DatabaseInactiveReplicationSlot', [gauge('opsbook_pg_inactive_replication_slots', db, 1)]),
    ).toEqual([1]);
    expect(
      await fires('DatabaseSequenceExhaustion', [gauge('opsbook_pg_sequence_used_ratio', db, 0.93)]),
    ).toEqual([0.93]);
    expect(
      await fires('DatabaseSequenceExhaustion', [gauge('opsbook_pg_sequence_used_ratio', db, 0.5)]),
    ).toEqual([]);
    // One name in the list even though two rules carry it, so `disable` switches both off.
    expect(DEFAULT_RULE_NAMES.filter((n) => n === 'DatabaseConnectionFailures')).toHaveLength(1);
    expect(
      defaultRules({ disable: ['DatabaseConnectionFailures'] }).some(
        (r) => r.alert === 'DatabaseConnectionFailures',
      ),
    ).toBe(false);
  });
});
