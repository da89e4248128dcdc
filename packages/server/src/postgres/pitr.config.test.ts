// The pitr config section, the pgbackrest.conf Opsbook writes from it, and the pure helpers around
// pgBackRest's command line and output.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';
import { archiveCommand, pitrSettings, renderPgBackRestConf, writePgBackRestConf } from './pitr.config.js';
import { sanitizePostgresConf, within } from './pitr.cluster.js';
import { parseInfo, percentOf, targetTime } from './pgbackrest.js';

function load(pitr: string) {
  return loadConfigText(
    `databases:\n  - id: shop\n    url: postgres://app@db.local:5433/shop\n    pitr: ${pitr}\n`,
    '/etc/opsbook/opsbook.yaml',
    {},
  );
}

describe('pitr config', () => {
  it('fills the defaults: stanza from the id, port from the url, config file beside the Opsbook config', () => {
    const loaded = load('{ pgData: /var/lib/postgresql/15/main, repoPath: /var/lib/pgbackrest }');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
    const settings = pitrSettings(loaded.config.databases[0]!, loaded.baseDir)!;
    expect(settings).toMatchObject({
      database: 'shop',
      stanza: 'shop',
      pgPort: 5433,
      pgUser: 'postgres',
      pgSocketPath: '/var/run/postgresql',
      configFile: '/etc/opsbook/data/pgbackrest/shop.conf',
      repoPath: '/var/lib/pgbackrest',
      retentionFull: 2,
      processMax: 2,
      compressType: 'zst',
      schedule: { full: '0 1 * * 0', diff: '0 1 * * 1-6', timezone: 'UTC' },
      restoreTimeout: 3_600_000,
    });
    expect(archiveCommand(settings)).toBe(
      'pgbackrest --config=/etc/opsbook/data/pgbackrest/shop.conf --stanza=shop archive-push %p',
    );
  });

  it('is off when absent or disabled', () => {
    const absent = loadConfigText(
      'databases:\n  - { id: shop, url: "postgres://app@db/shop" }\n',
      'x.yaml',
      {},
    );
    const disabled = load('{ enabled: false, pgData: /data, repoPath: /repo }');
    if (!absent.ok || !disabled.ok) throw new Error('should load');
    expect(pitrSettings(absent.config.databases[0]!, '/')).toBeUndefined();
    expect(pitrSettings(disabled.config.databases[0]!, '/')).toBeUndefined();
  });

  it('reports every bad field with its path', () => {
    const loaded = load(
      '{ pgData: data/main, repoPath: "/my repo", compressType: bz2, schedule: { full: "every sunday", timezone: Mars/Base } }',
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const byPath = Object.fromEntries(loaded.diagnostics.map((d) => [d.path, d.message]));
    expect(byPath['databases[0].pitr.pgData']).toMatch(/absolute path/);
    expect(byPath['databases[0].pitr.repoPath']).toMatch(/spaces/);
    expect(byPath['databases[0].pitr.compressType']).toBeDefined();
    expect(byPath['databases[0].pitr.schedule.timezone']).toMatch(/"Mars\/Base" is not a time zone/);
  });

  it('refuses paths a shell would misread: they go into archive_command and restore_command', () => {
    const loaded = load(
      '{ pgData: "/var/lib/pg/x;id", repoPath: "/backups/$(id)", configFile: "conf/`id`.conf", logPath: "/var/log/../tmp", pgSocketPath: "/run/a|b" }',
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const byPath = Object.fromEntries(loaded.diagnostics.map((d) => [d.path, d.message]));
    for (const field of ['pgData', 'repoPath', 'configFile', 'logPath', 'pgSocketPath'])
      expect(byPath[`databases[0].pitr.${field}`], field).toMatch(
        /only letters, digits and \. _ - \/ are allowed .*restore_command/,
      );
    expect(byPath['databases[0].pitr.repoPath']).toMatch(/^"\/backups\/\$\(id\)": /);
    expect(load('{ pgData: /var/lib/postgresql/15/main, repoPath: ../pgbackrest_repo-1.x }').ok).toBe(false);
    expect(load('{ pgData: /var/lib/postgresql/15/main, repoPath: pgbackrest/repo_1-x.y }').ok).toBe(true);
  });

  it('rejects a schedule that is not cron', () => {
    const loaded = load('{ pgData: /data, repoPath: /repo, schedule: { diff: "daily at one" } }');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.diagnostics.map((d) => [d.path, d.message])).toEqual([
      ['databases[0].pitr.schedule.diff', expect.stringMatching(/^"daily at one" is not a cron expression/)],
    ]);
  });

  it('renders pgbackrest.conf for the stanza and rewrites it only when it changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-pitr-conf-'));
    try {
      const loaded = load(
        `{ stanza: main, pgData: /var/lib/postgresql/15/main, repoPath: repo, configFile: ${dir}/pgbackrest.conf, retentionFull: 4, processMax: 3, compressType: lz4, logPath: /var/log/pgbackrest }`,
      );
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
      const settings = pitrSettings(loaded.config.databases[0]!, loaded.baseDir)!;
      expect(renderPgBackRestConf(settings).split('\n').slice(2)).toEqual([
        '[global]',
        'repo1-path=/etc/opsbook/repo',
        'repo1-retention-full=4',
        'compress-type=lz4',
        'process-max=3',
        'start-fast=y',
        'log-path=/var/log/pgbackrest',
        '',
        '[main]',
        'pg1-path=/var/lib/postgresql/15/main',
        'pg1-port=5433',
        'pg1-socket-path=/var/run/postgresql',
        '',
      ]);
      expect(writePgBackRestConf(settings).changed).toBe(true);
      expect(readFileSync(join(dir, 'pgbackrest.conf'), 'utf8')).toContain(
        "archive_command = 'pgbackrest --config=" + dir + "/pgbackrest.conf --stanza=main archive-push %p'",
      );
      // Readable by the cluster owner's archiver, written by nobody else.
      expect(statSync(join(dir, 'pgbackrest.conf')).mode & 0o777).toBe(0o644);
      expect(writePgBackRestConf(settings).changed).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('restored cluster configuration', () => {
  it("comments out the source's paths in a copied Debian postgresql.conf", () => {
    const text = [
      "data_directory = '/var/lib/postgresql/15/main'",
      "hba_file = '/etc/postgresql/15/main/pg_hba.conf'",
      "external_pid_file = '/var/run/postgresql/15-main.pid'",
      "include_dir = 'conf.d'",
      'shared_buffers = 128MB',
      "  include_if_exists = 'extra.conf'",
    ].join('\n');
    const lines = sanitizePostgresConf(text).split('\n');
    expect(lines.filter((l) => !l.startsWith('#'))).toEqual(['shared_buffers = 128MB']);
    expect(lines[0]).toMatch(/^# .*data_directory = /);
  });

  it('tells when a path is inside another', () => {
    expect(within('/var/lib/postgresql/15/main/x', '/var/lib/postgresql/15/main')).toBe(true);
    expect(within('/var/lib/postgresql/15/main', '/var/lib/postgresql/15/main/')).toBe(true);
    expect(within('/var/lib/postgresql/15/main2', '/var/lib/postgresql/15/main')).toBe(false);
  });
});

describe('pgBackRest helpers', () => {
  it('writes targets as pgBackRest parses them, in UTC', () => {
    expect(targetTime(Date.UTC(2026, 0, 15, 10, 30, 0, 7))).toBe('2026-01-15 10:30:00.007+00');
  });

  it('reads the share done from detail lines', () => {
    expect(percentOf('P01 DETAIL: backup file /d/base/1/1259 (112KB, 42.15%) checksum abc')).toBeCloseTo(
      0.4215,
    );
    expect(percentOf('P01 DETAIL: restore file /d/global/pg_control (8KB, 100.00%)')).toBe(1);
    expect(percentOf('P00 INFO: new backup label = 20260115-103000F')).toBeUndefined();
  });

  it('keeps the 64-bit system id exact and finds the stanza', () => {
    const text =
      '[{"name":"other","status":{"code":0,"message":"ok"},"archive":[],"backup":[],"db":[]},' +
      '{"name":"shop","status":{"code":2,"message":"no valid backups"},"archive":[],"backup":[],' +
      '"db":[{"id":1,"repo-key":1,"system-id":7712517411696430591,"version":"15"}]}]';
    const info = parseInfo(text, 'shop');
    expect(info.db[0]!['system-id']).toBe('7712517411696430591');
    expect(info.status.message).toBe('no valid backups');
    expect(() => parseInfo(text, 'missing')).toThrow(/no stanza "missing"/);
  });
});
