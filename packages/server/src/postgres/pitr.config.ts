// The resolved PITR settings of a database and the pgbackrest.conf Opsbook writes for its stanza.
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { InputError } from '../errors.js';
import type { PitrConfig } from './pitr.schema.js';
import { userIds } from './pitr.exec.js';
import { unsafePathProblem } from './pitr.paths.js';

export interface PitrSettings extends Omit<PitrConfig, 'stanza' | 'pgPort' | 'configFile' | 'repoPath'> {
  database: string;
  stanza: string;
  pgPort: number;
  /** Absolute paths from here on. */
  repoPath: string;
  configFile: string;
  logPath: string | undefined;
  /** The database's connection settings, for the SQL checks and the restored cluster's URL. */
  url: string;
  password: DatabaseConfig['password'];
  passwordFile: DatabaseConfig['passwordFile'];
  baseDir: string;
}

/** Throws an InputError naming the field when a relative path resolves to one a shell would misread. */
export function pitrSettings(database: DatabaseConfig, baseDir: string): PitrSettings | undefined {
  const pitr = database.pitr;
  if (!pitr?.enabled) return undefined;
  const at = (path: string, field: string) => {
    if (isAbsolute(path)) return path;
    const resolved = resolve(baseDir, path);
    const problem = unsafePathProblem(resolved);
    if (problem)
      throw new InputError(
        `databases[${database.id}].pitr.${field} resolves to ${problem}; give an absolute path`,
        `databases[${database.id}].pitr.${field}`,
      );
    return resolved;
  };
  return {
    ...pitr,
    database: database.id,
    stanza: pitr.stanza ?? database.id,
    pgPort: pitr.pgPort ?? portOf(database.url),
    repoPath: at(pitr.repoPath, 'repoPath'),
    configFile: at(pitr.configFile ?? `data/pgbackrest/${database.id}.conf`, 'configFile'),
    logPath: pitr.logPath === undefined ? undefined : at(pitr.logPath, 'logPath'),
    url: database.url,
    password: database.password,
    passwordFile: database.passwordFile,
    baseDir,
  };
}

function portOf(url: string): number {
  try {
    return Number(new URL(url).port) || 5432;
  } catch {
    return 5432;
  }
}

/** The archive_command the server must run for this stanza (shown by `pitr check` and the docs). */
export function archiveCommand(settings: Pick<PitrSettings, 'configFile' | 'stanza'>): string {
  return `pgbackrest --config=${settings.configFile} --stanza=${settings.stanza} archive-push %p`;
}

export function renderPgBackRestConf(settings: PitrSettings): string {
  const global: [string, string | number | undefined][] = [
    ['repo1-path', settings.repoPath],
    ['repo1-retention-full', settings.retentionFull],
    ['compress-type', settings.compressType],
    ['process-max', settings.processMax],
    ['start-fast', settings.startFast ? 'y' : 'n'],
    ['log-path', settings.logPath],
  ];
  const stanza: [string, string | number][] = [
    ['pg1-path', settings.pgData],
    ['pg1-port', settings.pgPort],
    ['pg1-socket-path', settings.pgSocketPath],
  ];
  const lines = (pairs: [string, string | number | undefined][]) =>
    pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return [
    `# Written by Opsbook from databases[${settings.database}].pitr; changes here are overwritten.`,
    `# The server archives WAL with: archive_command = '${archiveCommand(settings)}'`,
    '[global]',
    ...lines(global),
    '',
    `[${settings.stanza}]`,
    ...lines(stanza),
    '',
  ].join('\n');
}

/**
 * Writes the stanza's pgbackrest.conf when its content changed. The server's archiver reads it as the
 * cluster owner, so the file is world-readable (it holds paths, no secrets) and owned by that user.
 */
export function writePgBackRestConf(settings: PitrSettings): { path: string; changed: boolean } {
  const text = renderPgBackRestConf(settings);
  const path = settings.configFile;
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return { path, changed: false };
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o644 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds(settings.pgUser);
    chownSync(temporary, uid, gid);
  }
  renameSync(temporary, path);
  return { path, changed: true };
}

/** The repository and log folders, created for and owned by the cluster owner, who writes them. */
export function prepareFolders(settings: PitrSettings): void {
  const owner = process.getuid?.() === 0 ? userIds(settings.pgUser) : undefined;
  for (const folder of [settings.repoPath, settings.logPath]) {
    if (folder === undefined || existsSync(folder)) continue;
    mkdirSync(folder, { recursive: true, mode: 0o750 });
    if (owner) chownSync(folder, owner.uid, owner.gid);
  }
}
