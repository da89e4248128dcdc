// Run-time connection URLs (restore targetUrl, drill scratchUrl): query parameters that could move the
// connection to another server than the one whose host:port decides whether it gets a password.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';
import { InputError } from '../errors.js';
import { connectionOfUrl } from './backup-connection.js';

describe('connectionOfUrl', () => {
  it('refuses host, port and any other parameter that libpq would honour over the URL', () => {
    for (const url of [
      'postgres://app@db.internal:5432/scratch?host=evil.example&port=6543',
      'postgres://app@db.internal:5432/scratch?hostaddr=203.0.113.9',
      'postgres://app@db.internal/scratch?options=-c%20log_statement%3Dall',
      'postgres://app@db.internal/scratch?sslmode=disable&passfile=/tmp/x',
    ]) {
      let error: unknown;
      try {
        connectionOfUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error, url).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe('targetUrl');
      expect((error as Error).message).toMatch(
        /^targetUrl may not carry the query parameters? \S.*; only sslmode and application_name are allowed/,
      );
    }
    expect(() => connectionOfUrl('postgres://app@db.internal:5432/x?host=evil', 'scratchUrl')).toThrow(
      /^scratchUrl may not carry the query parameter host;/,
    );
  });

  it('accepts sslmode and application_name', () => {
    const target = connectionOfUrl(
      'postgres://app:s3cret@db.internal:5432/scratch?sslmode=require&application_name=drill',
    );
    expect(target).toMatchObject({ password: 's3cret', dbname: 'scratch', server: 'db.internal:5432' });
    expect(target.url).not.toContain('s3cret');
  });

  it('refuses such a drill scratchUrl when the config loads, naming the field', () => {
    const loaded = loadConfigText(
      'databases:\n  - id: shop\n    url: postgres://app@db.internal/shop\n    drill: { scratchUrl: "postgres://drill@scratch/postgres?host=evil" }\n',
      '/etc/opsbook/opsbook.yaml',
      {},
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.diagnostics.map((d) => [d.path, d.message])).toEqual([
      ['databases[0].drill.scratchUrl', expect.stringMatching(/may not carry the query parameter host/)],
    ]);
  });
});
