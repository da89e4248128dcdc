// Fingerprints are stored and shown (and silences bind to them): they must not change across releases.
import { describe, expect, it } from 'vitest';
import { fingerprint } from './fingerprint.js';

describe('fingerprint', () => {
  it('is the first 16 hex digits of sha256 over the sorted name/value pairs', () => {
    // Values computed by the original createHash('sha256') implementation.
    expect(fingerprint({ alertname: 'DiskFull', service: 'db', severity: 'critical' })).toBe(
      '1543c6a3797fac9d',
    );
    expect(fingerprint({ severity: 'critical', service: 'db', alertname: 'DiskFull' })).toBe(
      '1543c6a3797fac9d',
    );
    expect(fingerprint({ alertname: 'Ünïcode ✓', z: '', a: 'x' })).toBe('c48ea784a576b6f1');
    expect(fingerprint({})).toBe('e3b0c44298fc1c14');
  });
});
