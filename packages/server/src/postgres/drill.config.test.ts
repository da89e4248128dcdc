// The drill policy as users write it in opsbook.yaml, and the scratch database's name.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';
import { drillPolicySchema } from './drill.schema.js';
import { displayUrl, scratchName } from './drill.scratch.js';

function load(drill: string) {
  return loadConfigText(
    `databases:\n  - id: shop\n    url: postgres://ops@db.internal:5432/shop\n    drill: ${drill}\n`,
    '/etc/opsbook/opsbook.yaml',
    { SCRATCH_PW: 's3cret' },
  );
}

describe('drill policy', () => {
  it('defaults to quarterly drills with 1 h RTO, 25 h RPO and 100 days before overdue', () => {
    expect(drillPolicySchema.parse({})).toEqual({
      enabled: true,
      schedule: '0 4 1 1,4,7,10 *',
      timeZone: 'UTC',
      rtoTarget: 3_600_000,
      rpoTarget: 25 * 3_600_000,
      sampleRows: 1000,
      overdueAfter: 100 * 86_400_000,
      keepScratch: false,
    });
  });

  it('reads durations and a scratch server whose password is an ${ENV} reference', () => {
    const loaded = load(
      '{ rtoTarget: 30m, rpoTarget: 2h, timeZone: Europe/Berlin, scratchUrl: "postgres://drill:${SCRATCH_PW}@scratch:5432/postgres" }',
    );
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.config.databases[0]!.drill).toMatchObject({
      rtoTarget: 1_800_000,
      rpoTarget: 7_200_000,
      timeZone: 'Europe/Berlin',
      scratchUrl: 'postgres://drill:s3cret@scratch:5432/postgres',
    });
  });

  it('names every bad field with what to write instead', () => {
    const loaded = load(
      '{ schedule: "every quarter", timeZone: Mars/Olympus, rtoTarget: soon, sampleRows: 0, scratchUrl: "mysql://x", keepScratch: yes }',
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const byPath = Object.fromEntries(loaded.diagnostics.map((d) => [d.path, d.message]));
    expect(byPath['databases[0].drill.schedule']).toMatch(
      /"every quarter" is not a cron expression .*0 4 1 1,4,7,10/,
    );
    expect(byPath['databases[0].drill.timeZone']).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(byPath['databases[0].drill.rtoTarget']).toMatch(/"soon" is not a duration/);
    expect(byPath['databases[0].drill.sampleRows']).toBeDefined();
    expect(byPath['databases[0].drill.scratchUrl']).toMatch(/postgres:\/\/ URL/);
    expect(byPath['databases[0].drill.keepScratch']).toBeDefined();
    // A password written into the scratch URL is refused like any secret in the config.
    const inline = load('{ scratchUrl: "postgres://drill:hunter2@scratch/postgres" }');
    expect(inline.ok).toBe(false);
    if (!inline.ok)
      expect(inline.diagnostics[0]!.message).toMatch(/password in a URL must be a \$\{ENV_VAR\}/);
  });
});

describe('scratch database', () => {
  it('is named opsbook_drill_<db>_<UTC time> within 63 bytes, never the source name', () => {
    const at = Date.UTC(2026, 3, 1, 4, 0, 5, 42);
    expect(scratchName('shop-eu', at)).toBe('opsbook_drill_shop_eu_20260401040005042');
    const long = scratchName('a'.repeat(63), at);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^opsbook_drill_a+_20260401040005042$/);
  });

  it('is shown without the password', () => {
    expect(displayUrl('postgres://drill:s3cret@scratch:5432/postgres')).toBe(
      'postgres://drill@scratch:5432/',
    );
  });
});
