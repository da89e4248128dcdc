// Restores to a point in time into a new data directory and port, never over the running cluster,
// the way Azure's flexible server restores into a new server (guide 9.2). A request is validated at
// once; the restore itself runs in the background and records each phase.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { PitrRestore, PitrRestorePhase, StartPitrRestoreRequest } from '@opsbook/contracts';
import { ConflictError, InputError, IntegrationError, NotFoundError } from '../errors.js';
import type { PitrRestoreRow } from '../storage/pitr.repository.js';
import { percentOf, targetTime, type InfoStanza, type PgBackRest } from './pgbackrest.js';
import {
  adoptConfig,
  clusterTablespaces,
  isRunning,
  prepareDataDir,
  prepareTablespaceDir,
  recoveredTo,
  recoveryFailure,
  removeDataDir,
  requiredSettings,
  startCluster,
  stopCluster,
  within,
  writeRestoredSettings,
  type RestoredCluster,
  type SourceConfigFiles,
} from './pitr.cluster.js';
import type { PitrSettings } from './pitr.config.js';
import { restoredUrl, withConnection } from './pitr.connection.js';
import { newId, sleep, Throttled, type PitrContext } from './pitr.jobs.js';
import { safeAbsolutePath } from './pitr.paths.js';
import { restoreView } from './pitr.views.js';
import { backupSetFor, describeWindow, recoverableWindow } from './pitr.window.js';

/** How long `pgbackrest check` may wait for the newest WAL before a restore goes on without it. */
export const ARCHIVE_WAIT_MS = 120_000;

export class PitrRestores {
  constructor(private readonly ctx: PitrContext) {}

  /** Validates everything it can at once (a bad request is a 400, not a failed job), then restores in the background. */
  async start(
    settings: PitrSettings,
    request: StartPitrRestoreRequest & { actor: string },
  ): Promise<PitrRestore> {
    const database = settings.database;
    if (request.confirm !== true)
      throw new InputError(
        `a restore starts a new PostgreSQL cluster on port ${request.port} from ${request.pgData}; send confirm: true to go ahead`,
        'confirm',
      );
    const target = parseTarget(request.targetTime);
    // Before anything runs: pgBackRest writes it unquoted into restore_command.
    const pgData = safeAbsolutePath(request.pgData, 'pgData');
    await this.validateTarget(settings, target);
    if (within(pgData, settings.pgData) || within(settings.pgData, pgData))
      throw new InputError(
        `pgData ${pgData} overlaps the running cluster's data directory ${settings.pgData}; a restore always goes into a new directory`,
        'pgData',
      );
    if (within(pgData, settings.repoPath) || within(settings.repoPath, pgData))
      throw new InputError(
        `pgData ${pgData} overlaps the pgBackRest repository ${settings.repoPath}`,
        'pgData',
      );
    await this.validatePort(settings, request.port);
    await this.validateTablespaces(settings, target);
    await prepareDataDir(pgData, settings.pgUser);

    const now = this.ctx.now();
    const row: PitrRestoreRow = {
      id: newId('r'),
      database,
      stanza: settings.stanza,
      status: 'running',
      phase: 'archive',
      progress: 0,
      message: 'starting',
      target_time: target,
      pg_data: pgData,
      port: request.port,
      bin_dir: null,
      pg_user: settings.pgUser,
      actor: request.actor,
      backup_label: null,
      connection_url: null,
      recovered_to: null,
      started_at: now,
      finished_at: null,
      duration_ms: null,
      error: null,
      phases: '[]',
    };
    await this.ctx.repository.insertRestore(row);
    await this.ctx.audit(request.actor, 'restore.start', database, row.id, {
      targetTime: new Date(target).toISOString(),
      pgData,
      port: request.port,
    });
    this.ctx.jobs.track(row.id, (signal) => this.run(row, settings, signal));
    return restoreView(row);
  }

  private async validateTarget(settings: PitrSettings, target: number): Promise<void> {
    const info = await this.ctx.pgbackrest(settings).info();
    const window = recoverableWindow(info, settings.repoPath);
    if (!window)
      throw new ConflictError(
        `no backup of ${settings.database} is in the repository yet, so there is nothing to restore; run \`opsbook pitr backup ${settings.database}\` first`,
      );
    const now = this.ctx.now();
    if (target > now)
      throw new InputError(
        `target time ${new Date(target).toISOString()} is in the future; the recoverable window of ${settings.database} is ${describeWindow(window)}`,
        'targetTime',
      );
    // Later than the newest archived WAL but past: the restore first pushes the newest WAL, then checks again.
    if (target < window.earliest)
      throw new InputError(
        `target time ${new Date(target).toISOString()} is outside the recoverable window of ${settings.database}: ${describeWindow(window)}; choose a time inside it`,
        'targetTime',
      );
  }

  /**
   * Replaying CREATE TABLESPACE writes into the tablespace's original folder, which on this host is
   * the running cluster's own. pgBackRest moves only the tablespaces in the backup set; refuse when
   * the source has one the chosen set lacks.
   */
  private async validateTablespaces(settings: PitrSettings, target: number): Promise<void> {
    let current: { oid: number; location: string }[];
    try {
      current = clusterTablespaces(settings.pgData);
    } catch (error) {
      throw new InputError(
        `cannot read the tablespace links in ${settings.pgData}/pg_tblspc (${(error as Error).message}); Opsbook checks them so a restore never writes into the running cluster's tablespaces: run it as root or ${settings.pgUser}`,
        'pgData',
      );
    }
    if (current.length === 0) return;
    const pgbackrest = this.ctx.pgbackrest(settings);
    const set = backupSetFor(await pgbackrest.info(), target);
    if (!set) return;
    const inSet = new Set((await pgbackrest.tablespacesOf(set.label)).map((t) => t.oid));
    const missing = current.filter((t) => !inSet.has(t.oid));
    if (missing.length > 0)
      throw new InputError(
        `backup set ${set.label}, the newest before the target, lacks the tablespace${missing.length > 1 ? 's' : ''} at ${missing.map((t) => t.location).join(', ')}: created later, replaying its creation would write into the running cluster's own folder. Take a backup now (\`opsbook pitr backup ${settings.database}\`) and restore to a time after it, or restore on another host`,
        'targetTime',
      );
  }

  private async validatePort(settings: PitrSettings, port: number): Promise<void> {
    if (port === settings.pgPort)
      throw new InputError(
        `port ${port} is the running cluster's; choose a free port for the restored one`,
        'port',
      );
    const active = await this.ctx.repository.listRestores({ status: ['running', 'ready'] });
    const taken = active.find((r) => r.port === port);
    if (taken) throw new ConflictError(`port ${port} belongs to restore ${taken.id} (${taken.pg_data})`);
    if (!(await portFree(port)))
      throw new ConflictError(
        `port ${port} is in use on this host; choose a free port for the restored cluster`,
      );
  }

  private async run(row: PitrRestoreRow, settings: PitrSettings, signal: AbortSignal): Promise<void> {
    const phases: { phase: PitrRestorePhase; at: number; message: string }[] = [];
    const progress = new Throttled((value: number) =>
      this.ctx.repository.updateRestore(row.id, { progress: value }),
    );
    const phase = async (name: PitrRestorePhase, fraction: number, message: string) => {
      await progress.flush();
      phases.push({ phase: name, at: this.ctx.now(), message });
      await this.ctx.repository.updateRestore(row.id, {
        phase: name,
        progress: fraction,
        message,
        phases: JSON.stringify(phases),
      });
    };
    const cluster: RestoredCluster = {
      pgData: row.pg_data,
      port: row.port,
      pgUser: settings.pgUser,
      binDir: settings.pgBinDir,
    };
    const pgbackrest = this.ctx.pgbackrest(settings);
    try {
      await phase('archive', 0.02, 'switching WAL so the newest commits reach the archive');
      const sourceFiles = await this.pushNewestWal(settings, pgbackrest, signal, (m) =>
        phase('archive', 0.05, m),
      );
      const info = await pgbackrest.info({ signal });
      const window = recoverableWindow(info, settings.repoPath);
      if (!window || row.target_time < window.earliest || row.target_time > window.latest)
        throw new InputError(
          `target time ${new Date(row.target_time).toISOString()} is outside the recoverable window of ${settings.database}: ${window ? describeWindow(window) : 'no backups'}; choose a time inside it`,
          'targetTime',
        );

      const set = backupSetFor(info, row.target_time);
      if (!set) throw new InputError('no backup set ends before the target time', 'targetTime');
      await phase('restore', 0.1, `pgBackRest restores backup set ${set.label} into ${row.pg_data}`);
      let label = set.label;
      await pgbackrest.restore(
        {
          pgData: row.pg_data,
          target: targetTime(row.target_time),
          tablespaceDir: (await pgbackrest.tablespacesOf(set.label, { signal })).length
            ? await prepareTablespaceDir(row.pg_data, settings.pgUser)
            : undefined,
          set: set.label,
        },
        {
          signal,
          onLine: (line) => {
            label = /restore backup set (\S+?),?(\s|$)/.exec(line)?.[1] ?? label;
            const share = percentOf(line);
            if (share !== undefined) progress.set(0.1 + 0.5 * share);
          },
        },
      );
      await this.ctx.repository.updateRestore(row.id, { backup_label: label });

      await phase('configure', 0.62, `port ${row.port}, no WAL archiving, its own cluster name`);
      cluster.binDir ??= binDirFor(info);
      adoptConfig(row.pg_data, sourceFiles, settings.pgUser);
      writeRestoredSettings(row.pg_data, row.port, `opsbook-pitr-${row.id}`, await requiredSettings(cluster));
      await this.ctx.repository.updateRestore(row.id, { bin_dir: cluster.binDir ?? null });

      await phase('start', 0.65, `pg_ctl start on port ${row.port}`);
      await startCluster(cluster);

      await phase('recover', 0.7, `replaying WAL up to ${new Date(row.target_time).toISOString()}`);
      await this.waitForPromotion(settings, cluster, row, signal, (m) =>
        this.ctx.repository.updateRestore(row.id, { message: m }),
      );

      const finished = this.ctx.now();
      const url = restoredUrl(settings, row.port);
      await phase('done', 1, `ready at ${url}`);
      await this.ctx.repository.updateRestore(row.id, {
        status: 'ready',
        connection_url: url,
        recovered_to: recoveredTo(row.pg_data),
        finished_at: finished,
        duration_ms: finished - row.started_at,
      });
      await this.ctx.event(
        'pitr.restore.succeeded',
        'info',
        settings.database,
        `${settings.database} restored to ${new Date(row.target_time).toISOString()} at ${url} in ${Math.round((finished - row.started_at) / 1000)} s`,
        { restoreId: row.id, port: row.port, pgData: row.pg_data, durationMs: finished - row.started_at },
      );
    } catch (error) {
      await progress.flush();
      const finished = this.ctx.now();
      const message = signal.aborted
        ? 'interrupted: Opsbook stopped during the restore'
        : (error as Error).message;
      await this.ctx.repository.updateRestore(row.id, {
        status: 'failed',
        error: message,
        finished_at: finished,
        duration_ms: finished - row.started_at,
      });
      this.ctx.logger.error(
        { database: settings.database, restore: row.id },
        `PITR restore failed: ${message}`,
      );
      await this.ctx.event(
        'pitr.restore.failed',
        'error',
        settings.database,
        `restore of ${settings.database} failed: ${message}`,
        {
          restoreId: row.id,
          pgData: row.pg_data,
        },
      );
    }
  }

  /**
   * Recovery to a time stops at the first commit after it; without one in the archive PostgreSQL
   * refuses to finish. So Opsbook commits a marker transaction on the source (an xid and nothing
   * else), then `pgbackrest check` switches WAL and waits until the segment is in the repository:
   * any target up to now can be reached. Also reads where the source keeps postgresql.conf, for
   * clusters that keep it outside the data directory.
   */
  private async pushNewestWal(
    settings: PitrSettings,
    pgbackrest: PgBackRest,
    signal: AbortSignal,
    note: (message: string) => Promise<void>,
  ): Promise<SourceConfigFiles> {
    let files: SourceConfigFiles = {};
    let marker: string | undefined;
    try {
      files = await withConnection(settings, async (client) => {
        // Superuser-only settings: a role without pg_read_all_settings gets none, which is fine.
        const value = (name: string) =>
          client
            .query<{ v: string }>('select current_setting($1) as v', [name])
            .then((r) => r.rows[0]?.v)
            .catch(() => undefined);
        const found = {
          config: await value('config_file'),
          hba: await value('hba_file'),
          ident: await value('ident_file'),
        };
        // Files inside the data directory come with the backup.
        for (const key of ['config', 'hba', 'ident'] as const)
          if (found[key] && within(found[key], settings.pgData)) delete found[key];
        await client.query('select pg_current_xact_id()');
        return found;
      });
    } catch (error) {
      marker = (error as Error).message;
    }
    try {
      await pgbackrest.check({ signal, timeoutMs: ARCHIVE_WAIT_MS });
      await note(
        marker === undefined
          ? 'a marker transaction committed and the newest WAL is in the archive'
          : `the newest WAL is in the archive, but no marker transaction (${marker}): a target after the last commit may not be reachable`,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      await note(
        `could not push the newest WAL (${(error as Error).message}); restoring from what the archive holds`,
      );
    }
    return files;
  }

  private async waitForPromotion(
    settings: PitrSettings,
    cluster: RestoredCluster,
    row: PitrRestoreRow,
    signal: AbortSignal,
    note: (message: string) => Promise<void>,
  ): Promise<void> {
    const started = this.ctx.now();
    const deadline = started + settings.restoreTimeout;
    let seen = false;
    let lastNote = '';
    for (;;) {
      signal.throwIfAborted();
      const running = isRunning(cluster.pgData);
      seen ||= running;
      // A postmaster that was up and is gone, or never came up, failed; its log says why.
      if (!running && (seen || this.ctx.now() - started > 15_000))
        throw new IntegrationError(recoveryFailure(cluster.pgData));
      const state = await withConnection(
        settings,
        async (client) =>
          (
            await client.query<{ recovering: boolean; lsn: string | null }>(
              'select pg_is_in_recovery() as recovering, pg_last_wal_replay_lsn()::text as lsn',
            )
          ).rows[0],
        { port: row.port, connectTimeoutMs: 2_000 },
      ).catch(() => undefined);
      if (state && !state.recovering) return;
      const message = state ? `replaying WAL, at ${state.lsn}` : 'starting up';
      if (message !== lastNote) {
        lastNote = message;
        await note(message);
      }
      if (this.ctx.now() > deadline)
        throw new IntegrationError(
          `recovery did not finish within ${Math.round(settings.restoreTimeout / 1000)} s (pitr.restoreTimeout); the cluster still runs in ${cluster.pgData}: follow its log ${join(cluster.pgData, 'opsbook-restore.log')} or remove it`,
        );
      await sleep(250, signal);
    }
  }

  async get(id: string): Promise<PitrRestore> {
    return restoreView(await this.restoreRow(id));
  }

  async list(database?: string): Promise<PitrRestore[]> {
    return (await this.ctx.repository.listRestores({ database })).map(restoreView);
  }

  private async restoreRow(id: string): Promise<PitrRestoreRow> {
    const row = await this.ctx.repository.getRestore(id);
    if (!row) throw new NotFoundError(`no PITR restore "${id}"; list them with \`opsbook pitr restores\``);
    return row;
  }

  /** Shuts the restored cluster down; its data directory stays. */
  async stop(id: string, actor: string): Promise<PitrRestore> {
    const row = await this.restoreRow(id);
    if (this.ctx.jobs.has(id))
      throw new ConflictError(`restore ${id} is still running; wait for it to finish or fail`);
    if (row.status === 'removed') throw new ConflictError(`restore ${id} was removed already`);
    await stopCluster(clusterOf(row));
    await this.ctx.repository.updateRestore(id, { status: 'stopped', message: 'stopped' });
    await this.ctx.audit(actor, 'restore.stop', row.database, id, { pgData: row.pg_data, port: row.port });
    return this.get(id);
  }

  /** Destructive: stops the restored cluster and deletes its data directory. */
  async remove(id: string, actor: string, confirm: boolean): Promise<PitrRestore> {
    const row = await this.restoreRow(id);
    if (!confirm)
      throw new InputError(
        `removing restore ${id} deletes ${row.pg_data} and everything in it; send confirm=true to go ahead`,
        'confirm',
      );
    if (this.ctx.jobs.has(id))
      throw new ConflictError(`restore ${id} is still running; wait for it to finish or fail`);
    if (row.status === 'removed') return restoreView(row);
    const settings = this.ctx.settingsOf(row.database);
    if (settings && (within(settings.pgData, row.pg_data) || within(row.pg_data, settings.pgData)))
      throw new ConflictError(`refusing to delete ${row.pg_data}: it overlaps the source's data directory`);
    await stopCluster(clusterOf(row));
    removeDataDir(row.pg_data);
    await this.ctx.repository.updateRestore(id, {
      status: 'removed',
      message: `stopped and ${row.pg_data} deleted`,
    });
    await this.ctx.audit(actor, 'restore.remove', row.database, id, { pgData: row.pg_data, port: row.port });
    await this.ctx.event(
      'pitr.restore.removed',
      'info',
      row.database,
      `restored cluster ${id} stopped and ${row.pg_data} deleted by ${actor}`,
      {
        restoreId: id,
      },
    );
    return this.get(id);
  }
}

function parseTarget(text: string): number {
  const at = Date.parse(text);
  if (!/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(text) || Number.isNaN(at))
    throw new InputError(
      `targetTime "${text}" is not a time; write ISO 8601 such as 2026-01-15T10:30:00Z`,
      'targetTime',
    );
  if (!/(Z|[+-]\d\d(:?\d\d)?)$/i.test(text.trim()))
    throw new InputError(
      `targetTime "${text}" has no time zone; add Z for UTC or an offset such as +02:00`,
      'targetTime',
    );
  return at;
}

/** pg_ctl of the backed-up major version, where Debian installs it. */
function binDirFor(info: InfoStanza): string | undefined {
  const version = info.db.at(-1)?.version;
  const dir = version ? `/usr/lib/postgresql/${version}/bin` : undefined;
  return dir && existsSync(join(dir, 'pg_ctl')) ? dir : undefined;
}

function clusterOf(row: PitrRestoreRow): RestoredCluster {
  return { pgData: row.pg_data, port: row.port, pgUser: row.pg_user, binDir: row.bin_dir ?? undefined };
}

async function portFree(port: number): Promise<boolean> {
  for (const host of ['0.0.0.0', '127.0.0.1']) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}
