// Point-in-time recovery for the databases that opt in (guide 9.1): pgBackRest backups on a schedule,
// the recoverable window, setup and checks; restores are PitrRestores'. Every backup is recorded with
// its outcome, and the last success is a metric for alert rules.
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type {
  PitrBackupRun,
  PitrBackupType,
  PitrCheck,
  PitrInfo,
  PitrRestore,
  PitrSetupResult,
  StartPitrRestoreRequest,
} from '@opsbook/contracts';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { EventRepository } from '../storage/event.repository.js';
import { PitrRepository, type PitrBackupRow } from '../storage/pitr.repository.js';
import type { IngestSample } from '../telemetry/series.js';
import { PgBackRest, percentOf } from './pgbackrest.js';
import { checkPitr } from './pitr.check.js';
import {
  archiveCommand,
  pitrSettings,
  prepareFolders,
  writePgBackRestConf,
  type PitrSettings,
} from './pitr.config.js';
import { Jobs, newId, Throttled } from './pitr.jobs.js';
import { ARCHIVE_WAIT_MS, PitrRestores } from './pitr.restore.js';
import { backupView } from './pitr.views.js';
import { recoverableWindow, repoBackups } from './pitr.window.js';

export interface MetricSink {
  ingest(samples: readonly IngestSample[]): unknown;
}

export interface PitrServiceOptions {
  store: Store;
  logger: Logger;
  metrics?: MetricSink;
  now?: () => number;
}

const MINUTE = 60_000;

export class PitrService {
  private readonly repository: PitrRepository;
  private readonly events: EventRepository;
  private readonly now: () => number;
  private settings = new Map<string, PitrSettings>();
  private services = new Map<string, string | undefined>();
  private crons = new Map<string, Partial<Record<PitrBackupType, Cron>>>();
  private readonly jobs: Jobs;
  private readonly restores: PitrRestores;
  /** database -> id of its running backup: one at a time per stanza. */
  private readonly runningBackups = new Map<string, string>();
  private readonly lastSuccess = new Map<string, number>();
  private readonly lastFailed = new Map<string, boolean>();
  /** Since when each database has had PITR on: the missing-backup clock before a first success. */
  private readonly watchedSince = new Map<string, number>();
  /** Databases whose pitr section cannot be used (a path a shell would misread), with why. */
  private problems = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: PitrServiceOptions) {
    this.repository = new PitrRepository(options.store);
    this.events = new EventRepository(options.store.db);
    this.now = options.now ?? Date.now;
    this.jobs = new Jobs(options.logger);
    this.restores = new PitrRestores({
      repository: this.repository,
      logger: options.logger,
      now: this.now,
      jobs: this.jobs,
      pgbackrest: (settings) => this.pgbackrest(settings),
      settingsOf: (database) => this.settings.get(database),
      event: (...args) => this.event(...args),
      audit: (...args) => this.audit(...args),
    });
  }

  /** Ends jobs a previous run left behind, writes the stanza configs and starts the schedules. */
  async start(databases: DatabaseConfig[], baseDir: string): Promise<void> {
    const interrupted = await this.repository.failInterrupted(
      this.now(),
      'interrupted: Opsbook stopped while this ran; a restore left its data directory for `opsbook pitr remove`',
    );
    if (interrupted.backups + interrupted.restores > 0)
      this.options.logger.warn(interrupted, 'PITR jobs left running by the previous Opsbook marked failed');
    for (const row of await this.repository.lastSuccesses())
      this.lastSuccess.set(row.database, row.finished_at);
    this.configure(databases, baseDir);
    for (const database of [...this.settings.keys(), ...this.problems.keys()]) {
      const runs = await this.repository.listBackups({ database, limit: 10_000 });
      const [last] = runs;
      if (last) this.lastFailed.set(database, last.status === 'failed');
      // The first recorded run, so the clock survives restarts once a schedule has tried once.
      const first = runs.at(-1)?.started_at;
      if (first !== undefined && first < (this.watchedSince.get(database) ?? Infinity))
        this.watchedSince.set(database, first);
    }
    this.emitMetrics();
    this.timer = setInterval(() => this.emitMetrics(), MINUTE);
    this.timer.unref();
  }

  /** Applies the `databases[].pitr` sections (start and reload). */
  configure(databases: DatabaseConfig[], baseDir: string): void {
    const next = new Map<string, PitrSettings>();
    const problems = new Map<string, string>();
    this.services = new Map(databases.map((d) => [d.id, d.service]));
    for (const database of databases) {
      let settings: PitrSettings | undefined;
      try {
        settings = pitrSettings(database, baseDir);
      } catch (error) {
        const message = (error as Error).message;
        problems.set(database.id, message);
        if (!this.watchedSince.has(database.id)) this.watchedSince.set(database.id, this.now());
        this.options.logger.error({ database: database.id }, `PITR of ${database.id} is off: ${message}`);
        continue;
      }
      if (!settings) continue;
      next.set(database.id, settings);
      if (!this.watchedSince.has(database.id)) this.watchedSince.set(database.id, this.now());
      try {
        const written = writePgBackRestConf(settings);
        prepareFolders(settings);
        if (written.changed)
          this.options.logger.info({ database: database.id, file: written.path }, 'pgbackrest.conf written');
      } catch (error) {
        this.options.logger.error(
          { database: database.id, err: error },
          `cannot write ${settings.configFile}: ${(error as Error).message}; PITR backups of ${database.id} will fail until it can`,
        );
      }
    }
    this.settings = next;
    this.problems = problems;
    this.schedule();
  }

  private schedule(): void {
    for (const crons of this.crons.values()) for (const cron of Object.values(crons)) cron?.stop();
    this.crons.clear();
    if (this.stopped) return;
    for (const settings of this.settings.values()) {
      const crons: Partial<Record<PitrBackupType, Cron>> = {};
      for (const type of ['full', 'diff', 'incr'] as const) {
        const expression = settings.schedule[type];
        if (!expression) continue;
        crons[type] = new Cron(expression, { timezone: settings.schedule.timezone, protect: true }, () =>
          this.scheduled(settings.database, type),
        );
      }
      this.crons.set(settings.database, crons);
    }
  }

  private async scheduled(database: string, type: PitrBackupType): Promise<void> {
    if (this.runningBackups.has(database)) {
      this.options.logger.info({ database, type }, 'scheduled PITR backup skipped: one is already running');
      return;
    }
    try {
      const run = await this.startBackup(database, type, { trigger: 'schedule', actor: 'opsbook' });
      await this.jobs.settled(run.id);
    } catch (error) {
      this.options.logger.error({ database, type, err: error }, 'scheduled PITR backup did not start');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.schedule();
    await this.jobs.stop();
  }

  /** The databases with PITR on. */
  databases(): string[] {
    return [...this.settings.keys()];
  }

  private settingsOf(database: string): PitrSettings {
    const settings = this.settings.get(database);
    const problem = this.problems.get(database);
    if (problem)
      throw new InputError(`PITR of ${database} is off until its config is fixed: ${problem}`, 'database');
    if (!settings)
      throw new NotFoundError(
        `PITR is not configured for database "${database}"; add a pitr: section to it in the config (docs/pitr.md)`,
      );
    return settings;
  }

  private pgbackrest(settings: PitrSettings): PgBackRest {
    return new PgBackRest({
      configFile: settings.configFile,
      stanza: settings.stanza,
      user: settings.pgUser,
    });
  }

  async info(database: string): Promise<PitrInfo> {
    const settings = this.settingsOf(database);
    const info = await this.pgbackrest(settings).info();
    const archive = info.archive.at(-1);
    const crons = this.crons.get(database) ?? {};
    const next = (type: PitrBackupType) => crons[type]?.nextRun()?.getTime() ?? null;
    const runs = await this.repository.listBackups({ database, limit: 20 });
    return {
      database,
      stanza: settings.stanza,
      status: { code: info.status.code, message: info.status.message },
      window: recoverableWindow(info, settings.repoPath),
      archive: archive ? { min: archive.min, max: archive.max } : null,
      backups: repoBackups(info),
      runs: runs.map(backupView),
      lastSuccessAt: this.lastSuccess.get(database) ?? null,
      schedule: {
        full: settings.schedule.full,
        diff: settings.schedule.diff,
        incr: settings.schedule.incr ?? null,
        timezone: settings.schedule.timezone,
        next: { full: next('full'), diff: next('diff'), incr: next('incr') },
      },
      archiveCommand: archiveCommand(settings),
    };
  }

  async check(database: string): Promise<PitrCheck> {
    const settings = this.settingsOf(database);
    const result = await checkPitr(settings, this.pgbackrest(settings));
    try {
      writePgBackRestConf(settings);
    } catch (error) {
      result.findings.unshift({
        id: 'config-write',
        status: 'error',
        message: `Opsbook cannot write ${settings.configFile}: ${(error as Error).message}`,
        fix: 'set pitr.configFile to a path Opsbook may write',
      });
      result.ok = false;
    }
    return result;
  }

  /** stanza-create then check: the repository exists and WAL reaches it. */
  async setup(database: string, actor: string): Promise<PitrSetupResult> {
    const settings = this.settingsOf(database);
    writePgBackRestConf(settings);
    prepareFolders(settings);
    const check = await checkPitr(settings, this.pgbackrest(settings));
    // A stanza-create is often what fixes a failing archiver; pgBackRest's own check covers a missing SQL view.
    const blocking = check.findings.filter(
      (f) => f.status === 'error' && !['archiver', 'connect'].includes(f.id),
    );
    if (blocking.length > 0)
      throw new InputError(
        `PITR for ${database} is not ready: ${blocking.map((f) => `${f.message}${f.fix ? ` (fix: ${f.fix})` : ''}`).join('; ')}`,
        'database',
      );
    const pgbackrest = this.pgbackrest(settings);
    await pgbackrest.stanzaCreate();
    await pgbackrest.check({ timeoutMs: ARCHIVE_WAIT_MS });
    await this.audit(actor, 'setup', database, null, {
      stanza: settings.stanza,
      configFile: settings.configFile,
    });
    return {
      database,
      stanza: settings.stanza,
      configFile: settings.configFile,
      check: await checkPitr(settings, pgbackrest),
    };
  }

  // ---- backups ----

  async startBackup(
    database: string,
    type: PitrBackupType,
    options: { trigger: 'schedule' | 'manual'; actor: string },
  ): Promise<PitrBackupRun> {
    const settings = this.settingsOf(database);
    const running = this.runningBackups.get(database);
    if (running)
      throw new ConflictError(
        `a backup of ${database} is already running (${running}); wait for it to finish`,
      );
    const row: PitrBackupRow = {
      id: newId('b'),
      database,
      stanza: settings.stanza,
      type,
      trigger: options.trigger,
      status: 'running',
      actor: options.actor,
      label: null,
      progress: 0,
      started_at: this.now(),
      finished_at: null,
      duration_ms: null,
      size_bytes: null,
      repo_size_bytes: null,
      error: null,
    };
    this.runningBackups.set(database, row.id);
    try {
      await this.repository.insertBackup(row);
      if (options.trigger === 'manual')
        await this.audit(options.actor, 'backup.start', database, row.id, { type });
    } catch (error) {
      this.runningBackups.delete(database);
      throw error;
    }
    this.jobs.track(row.id, (signal) => this.runBackup(row, settings, signal));
    return backupView(row);
  }

  async getBackup(id: string): Promise<PitrBackupRun> {
    const row = await this.repository.getBackup(id);
    if (!row) throw new NotFoundError(`no PITR backup "${id}"`);
    return backupView(row);
  }

  private async runBackup(row: PitrBackupRow, settings: PitrSettings, signal: AbortSignal): Promise<void> {
    const database = row.database;
    const progress = new Throttled((value: number) =>
      this.repository.updateBackup(row.id, { progress: value }),
    );
    let label: string | null = null;
    try {
      const pgbackrest = this.pgbackrest(settings);
      await pgbackrest.backup(row.type as PitrBackupType, {
        signal,
        onLine: (line) => {
          label = /new backup label = (\S+)/.exec(line)?.[1] ?? label;
          const share = percentOf(line);
          if (share !== undefined) progress.set(Math.min(share, 0.99));
        },
      });
      await progress.flush();
      const info = await pgbackrest.info({ signal });
      const backup = info.backup.find((b) => b.label === label) ?? info.backup.at(-1);
      const finished = this.now();
      await this.repository.updateBackup(row.id, {
        status: 'succeeded',
        progress: 1,
        label: backup?.label ?? label,
        finished_at: finished,
        duration_ms: finished - row.started_at,
        size_bytes: backup?.info.size ?? null,
        repo_size_bytes: backup?.info.repository.size ?? null,
      });
      this.lastSuccess.set(database, finished);
      this.lastFailed.set(database, false);
      this.emitMetrics();
      await this.event(
        'pitr.backup.succeeded',
        'info',
        database,
        `PITR ${row.type} backup of ${database} succeeded (${backup?.label ?? label})`,
        {
          backupId: row.id,
          label: backup?.label ?? label,
          durationMs: finished - row.started_at,
        },
      );
    } catch (error) {
      await progress.flush();
      const finished = this.now();
      const message = signal.aborted
        ? 'interrupted: Opsbook stopped during the backup'
        : (error as Error).message;
      await this.repository.updateBackup(row.id, {
        status: 'failed',
        finished_at: finished,
        duration_ms: finished - row.started_at,
        error: message,
      });
      this.lastFailed.set(database, true);
      this.emitMetrics();
      this.options.logger.error({ database, backup: row.id }, `PITR ${row.type} backup failed: ${message}`);
      await this.event(
        'pitr.backup.failed',
        'error',
        database,
        `PITR ${row.type} backup of ${database} failed: ${message}`,
        {
          backupId: row.id,
        },
      );
    } finally {
      this.runningBackups.delete(database);
    }
  }

  // ---- restores ----

  /** Validates at once (a bad request is a 400, not a failed job), then restores in the background. */
  startRestore(database: string, request: StartPitrRestoreRequest & { actor: string }): Promise<PitrRestore> {
    return this.restores.start(this.settingsOf(database), request);
  }

  getRestore(id: string): Promise<PitrRestore> {
    return this.restores.get(id);
  }

  listRestores(database?: string): Promise<PitrRestore[]> {
    return this.restores.list(database);
  }

  /** Shuts the restored cluster down; its data directory stays. */
  stopRestore(id: string, actor: string): Promise<PitrRestore> {
    return this.restores.stop(id, actor);
  }

  /** Destructive: stops the restored cluster and deletes its data directory. */
  removeRestore(id: string, actor: string, confirm: boolean): Promise<PitrRestore> {
    return this.restores.remove(id, actor, confirm);
  }

  private emitMetrics(): void {
    if (!this.options.metrics) return;
    const at = this.now();
    const samples: IngestSample[] = [];
    for (const database of [...this.settings.keys(), ...this.problems.keys()]) {
      // A database never backed up has no success to age: alert on
      // time() - (last success or watched since) > 26 * 3600 (docs/pitr.md).
      const since = this.watchedSince.get(database);
      if (since !== undefined)
        samples.push({
          name: 'opsbook_pitr_watched_since_timestamp_seconds',
          labels: { database },
          value: since / 1000,
          t: at,
        });
      const success = this.lastSuccess.get(database);
      if (success !== undefined)
        samples.push({
          name: 'opsbook_pitr_last_backup_success_timestamp_seconds',
          labels: { database },
          value: success / 1000,
          t: at,
        });
      if (this.lastFailed.has(database))
        samples.push({
          name: 'opsbook_pitr_last_backup_failed',
          labels: { database },
          value: this.lastFailed.get(database) ? 1 : 0,
          t: at,
        });
    }
    if (samples.length === 0) return;
    try {
      this.options.metrics.ingest(samples);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'PITR metrics not stored');
    }
  }

  private async event(
    kind: string,
    severity: 'info' | 'warning' | 'error',
    database: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.events.append([
        {
          at: this.now(),
          kind,
          severity,
          service_id: this.services.get(database) ?? null,
          check_id: null,
          message,
          data: JSON.stringify({ database, ...data }),
        },
      ]);
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not record a PITR event');
    }
  }

  private async audit(
    actor: string,
    action: string,
    database: string,
    subject: string | null,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.repository.audit({
      at: this.now(),
      actor,
      action,
      database,
      subject,
      detail: JSON.stringify(detail),
    });
  }
}
