import { describe, expect, it } from 'vitest';
import { incidentsSchema } from '../config/incidents.schema.js';
import { configSchema } from '../config/schema.js';
import { formatDuration } from './format.js';

describe('incidents config', () => {
  it('defaults to the guide’s response targets and the default mapping', () => {
    const config = configSchema.parse({}).incidents;
    expect(config.severities).toEqual({
      SEV1: { respondWithin: 15 * 60_000 },
      SEV2: { respondWithin: 60 * 60_000 },
      SEV3: { respondWithin: 4 * 60 * 60_000 },
      SEV4: { respondWithin: 24 * 60 * 60_000 },
    });
    expect(config.mapping).toEqual([
      { matchers: ['alertname="ServiceUnavailable"'], severity: 'SEV1' },
      { matchers: ['severity="critical"'], severity: 'SEV2' },
    ]);
    expect(config.autoResolveAfter).toBeUndefined();
  });

  it('takes resolution targets, auto-resolve and custom mapping; rejects bad matchers and durations', () => {
    const config = incidentsSchema.parse({
      severities: { SEV1: { resolveWithin: '4h' }, SEV3: { respondWithin: '2h' } },
      autoResolveAfter: '30m',
    });
    expect(config.severities.SEV1).toEqual({ respondWithin: 15 * 60_000, resolveWithin: 4 * 60 * 60_000 });
    expect(config.severities.SEV3.respondWithin).toBe(2 * 60 * 60_000);
    expect(config.autoResolveAfter).toBe(30 * 60_000);
    const bad = incidentsSchema.safeParse({
      mapping: [{ matchers: ['severity=="x'], severity: 'SEV2' }],
      autoResolveAfter: 'soon',
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'autoResolveAfter',
      'mapping.0.matchers.0',
    ]);
    expect(incidentsSchema.safeParse({ severities: { SEV5: {} } }).success).toBe(false);
  });

  it('formats targets for timeline text', () => {
    expect(formatDuration(15 * 60_000)).toBe('15m');
    expect(formatDuration(90 * 60_000)).toBe('1h30m');
  });
});
