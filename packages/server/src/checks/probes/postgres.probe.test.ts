import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  freePort,
  startPostgresCluster,
  type PostgresCluster,
} from '../../../../../test/postgres-cluster.js';
import type { PostgresProbeSpec } from '../../config/schema.js';
import { postgresProbe } from './postgres.probe.js';
import { probeContext } from './testing.js';

const spec = (url: string, extra: Partial<PostgresProbeSpec> = {}): PostgresProbeSpec => ({
  kind: 'postgres',
  url,
  query: 'SELECT 1',
  ...extra,
});

describe('postgresProbe against the shared cluster', () => {
  const url = inject('postgresUrl');

  it('is up with the server version and row count', async () => {
    const outcome = await postgresProbe(spec(url), probeContext());
    expect(outcome.status).toBe('up');
    expect(outcome.message).toMatch(/^SELECT 1 in \d+ ms$/);
    expect(outcome.detail).toEqual({ serverVersion: expect.stringMatching(/^\d+\.\d+/), rows: 1 });
  });

  it('runs the configured query', async () => {
    const outcome = await postgresProbe(spec(url, { query: 'SELECT generate_series(1, 3)' }), probeContext());
    expect(outcome).toMatchObject({ status: 'up', detail: { rows: 3 } });
  });

  it('is down with the SQL error for a failing query', async () => {
    const outcome = await postgresProbe(spec(url, { query: 'SELECT * FROM no_such_table' }), probeContext());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'relation "no_such_table" does not exist',
      detail: { code: '42P01' },
    });
  });

  it('is down with ECONNREFUSED on a port where nothing listens', async () => {
    const port = await freePort();
    const outcome = await postgresProbe(
      spec(`postgres://postgres@127.0.0.1:${port}/postgres`),
      probeContext(),
    );
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connect ECONNREFUSED 127.0.0.1:${port}`,
      detail: { code: 'ECONNREFUSED' },
    });
  });

  it('is down with the DNS error for an unresolvable host', async () => {
    const outcome = await postgresProbe(spec('postgres://postgres@nope.invalid/postgres'), probeContext());
    expect(outcome).toMatchObject({ status: 'down', message: 'getaddrinfo ENOTFOUND nope.invalid' });
  });

  it('stops a slow query when its signal times out, and frees the connection', async () => {
    const started = performance.now();
    const query = 'SELECT pg_sleep(5) AS probe_timeout_test';
    const outcome = await postgresProbe(spec(url, { query }), probeContext(300));
    expect(outcome).toMatchObject({ status: 'down', message: 'timed out after 300ms' });
    expect(performance.now() - started).toBeLessThan(1_500);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const sleeping = async () =>
      (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1', [query])).rows[0]
        .n;
    await expect.poll(sleeping, { timeout: 5_000 }).toBe(0);
    await admin.end();
  });
});

describe('postgresProbe with password authentication', () => {
  const PASSWORD = 'correct-horse-battery';
  const dir = mkdtempSync(join(tmpdir(), 'opsbook-pg-auth-'));
  let cluster: PostgresCluster;
  let probeUrl = '';

  beforeAll(async () => {
    // The server may run as the postgres user, so the hba file must be readable by others.
    chmodSync(dir, 0o755);
    const hba = join(dir, 'pg_hba.conf');
    writeFileSync(
      hba,
      'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
    );
    chmodSync(hba, 0o644);
    writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
    cluster = await startPostgresCluster({ settings: { hba_file: hba } });
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE ROLE probe LOGIN PASSWORD '${PASSWORD}'`);
    await admin.end();
    probeUrl = `postgres://probe@127.0.0.1:${cluster.port}/postgres`;
  });
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs the password: down without it', async () => {
    const outcome = await postgresProbe(spec(probeUrl), probeContext());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'the server asks for a password; set password or passwordFile',
    });
  });

  it('is up with password', async () => {
    const outcome = await postgresProbe(spec(probeUrl, { password: PASSWORD }), probeContext());
    expect(outcome.status).toBe('up');
  });

  it('is up with passwordFile, read relative to the config directory and trimmed', async () => {
    const outcome = await postgresProbe(
      spec(probeUrl, { passwordFile: 'password' }),
      probeContext(5_000, dir),
    );
    expect(outcome.status).toBe('up');
  });

  it('is down for a bad password without showing it', async () => {
    const wrong = 'wrong-horse-staple';
    const outcome = await postgresProbe(spec(probeUrl, { password: wrong }), probeContext());
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'password authentication failed for user "probe"',
    });
    expect(JSON.stringify(outcome)).not.toContain(wrong);
  });

  it('does not show a password written into the URL either', async () => {
    const inUrl = 'url-secret-123';
    const outcome = await postgresProbe(
      spec(`postgres://probe:${inUrl}@127.0.0.1:${cluster.port}/postgres`),
      probeContext(),
    );
    expect(outcome.status).toBe('down');
    expect(JSON.stringify(outcome)).not.toContain(inUrl);
  });
});
