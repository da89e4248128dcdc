// Backups (guide 9.1): scheduled pg_dump per database, manifests and checksums, copies to a second
// location, retention, the metrics the default rules alert on, and restores (guide 9.2).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { ConflictError, InputError, NotFoundError, UnavailableError } from '../errors.js';
import { BackupRepository } from '../storage/backup.repository.js';
import type { Store } from '../storage/db.js';
import { EventRepository } from '../storage/event.repository.js';
import type { IngestSample } from '../telemetry/series.js';
import type { BackupsConfig } from './backup.schema.js';
import type {
  BackupApi,
  BackupRecord,
  BackupStatus,
  ManifestFile,
  RestoreOptions,
  RestoreResult,
} from './backup.types.js';
import { DUMP_DIR, verifyFiles } from './backup-checksums.js';
import { connectionOf, connectionOfUrl, type PgConnection } from './backup-connection.js';
import { dumpDatabase, partialFolder } from './backup-dump.js';
import { backupSamples } from './backup-metrics.js';
import { DAY_MS, planRetention } from './backup-retention.js';
import { backupFiles, createOffsiteTarget, type OffsiteTarget } from './offsite.js';
import { checkRestoreTarget, restoreBackup } from './restore.js';
import { RestoreJobs, type RestoreJob } from './restore-jobs.js';
import { formatBytes } from '../lib/format.js';

export interface BackupServiceOptions {
  store: Store;
  logger: Logger;
  databases: DatabaseConfig[];
  backups: BackupsConfig;
  /** The config file's folder: backups.dir, copy dirs and passwordFile are relative to it. */
  baseDir: string;
  /** Where the backup gauges go (the metric store). */
  metrics?: { ingest(samples: IngestSample[]): unknown };
  now?: () => number;
  /** Waits between copy attempts; after the last, the copy is failed and alerts. */
  copyRetryDelaysMs?: number[];
  /** How often gauges are republished and missed backups checked. */
  tickIntervalMs?: number;
  /** A backup or restore started or ended (live clients refetch on it). */
  onChange?(change: BackupChange): void;
}

export interface BackupChange {
  /** The backup id, or the restore job id. */
  id: string;
  database: string;
  operation: 'backup' | 'restore';
  status: string;
}

export interface VerifyLocation {
  /** `local`, or the copy target's name. */
  target: string;
  location: string;
  ok: boolean;
  files: number;
  error: string | null;
}

export interface VerifyReport {
  backupId: string;
  ok: boolean;
  locations: VerifyLocation[];
}

export interface StartedBackup {
  record: BackupRecord;
  /** Resolves with the finished record (succeeded or failed, copies attempted once); never rejects. */
  done: Promise<BackupRecord>;
}

export interface StartRestoreOptions extends Pick<RestoreOptions, 'to' | 'targetUrl' | 'force' | 'jobs'> {
  actor: string;
}

// Four attempts over about 12 minutes: a blip in the network or the storage account passes, an
// outage alerts (BackupCopyFailed) while the local backup is still fresh.
const COPY_RETRY_DELAYS_MS = [30_000, 120_000, 600_000];

interface Running {
  record: BackupRecord;
  controller: AbortController;
  done: Promise<BackupRecord>;
}

export class BackupService implements BackupApi {
  private readonly repo: BackupRepository;
  private readonly events: EventRepository;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly retryDelays: number[];
  private databases = new Map<string, DatabaseConfig>();
  private settings: BackupsConfig;
  private baseDir: string;
  private targets = new Map<string, OffsiteTarget>();
  private readonly running = new Map<string, Running>();
  private readonly crons = new Map<string, Cron>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly copying = new Set<Promise<void>>();
  /** Backups being restored: retention leaves them alone until the restore ends. */
  private readonly inUse = new Map<string, number>();
  private readonly missed = new Set<string>();
  private firstSeen = new Map<string, number>();
  private tickTimer: NodeJS.Timeout | undefined;
  private lastRetentionAt = 0;
  private stopped = false;
  private readonly stopController = new AbortController();
  readonly restores: RestoreJobs;

  constructor(private readonly options: BackupServiceOptions) {
    this.repo = new BackupRepository(options.store.db);
    this.events = new EventRepository(options.store.db);
    this.logger = options.logger.child({ component: 'backups' });
    this.now = options.now ?? Date.now;
    this.retryDelays = options.copyRetryDelaysMs ?? COPY_RETRY_DELAYS_MS;
    this.settings = options.backups;
    this.baseDir = options.baseDir;
    this.restores = new RestoreJobs(this.now);
    this.configure(options.databases, options.backups, options.baseDir);
  }

  /** Where backups are written. */
  get root(): string {
    return resolve(this.baseDir, this.settings.dir);
  }

  /** Recovers from a crash, schedules every database and starts the periodic checks. */
  async start(): Promise<void> {
    const crashed = await this.repo.failRunning(this.now(), 'Opsbook stopped while the backup was running');
    for (const record of crashed) {
      await rm(partialFolder(record.path), { recursive: true, force: true });
      await rm(record.path, { recursive: true, force: true });
      this.logger.warn(
        { backup: record.id, database: record.database },
        'a backup left running by a crash is marked failed',
      );
    }
    this.firstSeen = await this.repo.watch([...this.databases.keys()], this.now());
    for (const pending of await this.repo.pendingCopies()) this.later(0, pending.backupId, pending.target);
    this.schedule();
    await this.tick();
    const interval = this.options.tickIntervalMs ?? 60_000;
    this.tickTimer = setInterval(() => void this.tick(), interval);
    this.tickTimer.unref();
  }

  /** A reloaded config: schedules, copy targets and policies change; running work goes on. */
  async apply(databases: DatabaseConfig[], backups: BackupsConfig, baseDir: string): Promise<void> {
    this.configure(databases, backups, baseDir);
    if (this.stopped) return;
    this.firstSeen = await this.repo.watch([...this.databases.keys()], this.now());
    this.schedule();
    await this.tick();
  }

  /** Cancels running backups and restores (their partial files and databases are removed) and waits. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    clearInterval(this.tickTimer);
    for (const cron of this.crons.values()) cron.stop();
    this.crons.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const run of this.running.values()) run.controller.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.restores.stopAll();
    await Promise.all([...this.copying]);
  }

  async list(
    filter: { database?: string; status?: BackupStatus; limit?: number } = {},
  ): Promise<BackupRecord[]> {
    return this.repo.list(filter);
  }

  async get(id: string): Promise<BackupRecord> {
    const record = await this.repo.get(id);
    if (!record) throw new NotFoundError(`no backup "${id}"; opsbook backup list shows them`);
    return record;
  }

  async latest(database: string): Promise<BackupRecord | undefined> {
    return this.repo.latest(database, 'succeeded');
  }

  /** Runs a backup and waits for it; joins the one already running for the database, if any. */
  async run(database: string, trigger: BackupRecord['trigger'] = 'manual'): Promise<BackupRecord> {
    const active = this.running.get(database);
    if (active) return active.done;
    return (await this.startBackup(database, trigger)).done;
  }

  /** Starts a backup and returns once it is recorded as running. */
  async startBackup(database: string, trigger: BackupRecord['trigger'] = 'manual'): Promise<StartedBackup> {
    const config = this.database(database);
    if (this.stopped) throw new UnavailableError('Opsbook is stopping; start the backup after it restarts');
    const active = this.running.get(database);
    if (active)
      throw new ConflictError(
        `backup ${active.record.id} of ${database} is already running (since ${new Date(active.record.startedAt).toISOString()}); wait for it: opsbook backup show ${active.record.id}`,
      );
    const startedAt = this.now();
    const id = backupId(database, startedAt);
    const record: BackupRecord = {
      id,
      database,
      status: 'running',
      trigger,
      startedAt,
      finishedAt: null,
      path: join(this.root, database, id),
      sizeBytes: null,
      error: null,
      manifest: null,
      copies: [],
    };
    // The slot is taken before the first await, so two callers cannot both start one.
    const controller = new AbortController();
    let release!: (done: Promise<BackupRecord>) => void;
    const slot: Running = { record, controller, done: new Promise((r) => (release = r)) };
    this.running.set(database, slot);
    try {
      await this.repo.insert(record);
    } catch (error) {
      this.running.delete(database);
      release(Promise.resolve(record));
      throw error;
    }
    this.logger.info({ backup: id, database, trigger }, 'backup started');
    this.options.onChange?.({ id, database, operation: 'backup', status: 'running' });
    const done = this.execute(record, config, controller.signal)
      .catch(async (error: unknown) => {
        // Only the store failing ends up here; the backup itself is reported by execute().
        this.logger.error({ err: error, backup: id, database }, 'backup could not be recorded');
        return { ...record, status: 'failed' as const, error: (error as Error).message };
      })
      .finally(() => this.running.delete(database));
    release(done);
    return { record, done };
  }

  /** The backup of `database` running now, if any. */
  runningBackup(database: string): BackupRecord | undefined {
    return this.running.get(database)?.record;
  }

  async restore(id: string, options: RestoreOptions): Promise<RestoreResult> {
    const record = await this.get(id);
    const { source, target } = this.restoreEnds(record, options.targetUrl, options.targetPassword);
    checkRestoreTarget(record, options.to, source, target, options.force);
    const { folder, cleanup } = await this.localOrFetched(record, options.signal);
    this.inUse.set(id, (this.inUse.get(id) ?? 0) + 1);
    try {
      return await restoreBackup({
        ...options,
        backup: record,
        folder,
        source,
        target,
        binDir: this.binDir,
        now: this.now,
      });
    } finally {
      const left = (this.inUse.get(id) ?? 1) - 1;
      if (left > 0) this.inUse.set(id, left);
      else this.inUse.delete(id);
      await cleanup();
    }
  }

  /** A restore as a job (the API): checks what it can at once, then runs in the background. */
  async startRestore(id: string, options: StartRestoreOptions): Promise<RestoreJob> {
    if (this.stopped) throw new UnavailableError('Opsbook is stopping; start the restore after it restarts');
    const record = await this.get(id);
    const { source, target } = this.restoreEnds(record, options.targetUrl);
    checkRestoreTarget(record, options.to, source, target, options.force);
    const force = options.force ?? false;
    const job = this.restores.start(
      {
        backupId: id,
        database: record.database,
        to: options.to,
        force,
        actor: options.actor,
        server: (target ?? source).server,
      },
      (signal, onProgress) =>
        this.restore(id, {
          to: options.to,
          targetUrl: options.targetUrl,
          force,
          jobs: options.jobs,
          signal,
          onProgress,
        }),
      (ended) => {
        this.options.onChange?.({
          id: ended.id,
          database: record.database,
          operation: 'restore',
          status: ended.status,
        });
        void this.event(
          ended.status === 'succeeded' ? 'backup.restored' : 'backup.restore_failed',
          ended.status === 'succeeded' ? 'info' : 'error',
          ended.status === 'succeeded'
            ? `Backup ${id} of ${record.database} restored into ${options.to} by ${options.actor}`
            : `Restore of backup ${id} into ${options.to} ${ended.status}: ${ended.error}`,
          record.database,
          {
            job: ended.id,
            backupId: id,
            to: options.to,
            force,
            actor: options.actor,
            result: ended.result,
            error: ended.error,
          },
        );
      },
    );
    this.options.onChange?.({
      id: job.id,
      database: record.database,
      operation: 'restore',
      status: 'running',
    });
    // Audited: who restored what where, and whether it replaced an existing database.
    await this.event(
      'backup.restore_started',
      force ? 'warning' : 'info',
      `${options.actor} started restoring backup ${id} of ${record.database} into ${options.to}${force ? ' (force: replaces it if it exists)' : ''}`,
      record.database,
      { job: job.id, backupId: id, to: options.to, force, actor: options.actor },
    );
    return job;
  }

  /** Checks every file now: the local folder by content, each copy where it lives. */
  async verify(id: string): Promise<VerifyReport> {
    const record = await this.get(id);
    if (record.status !== 'succeeded' || !record.manifest)
      throw new ConflictError(
        `backup ${id} is ${record.status}; only a succeeded backup has files to verify`,
      );
    const files = record.manifest.files;
    const locations: VerifyLocation[] = [];
    const check = async (target: string, location: string, action: () => Promise<unknown>) => {
      try {
        await action();
        locations.push({ target, location, ok: true, files: files.length, error: null });
      } catch (error) {
        locations.push({ target, location, ok: false, files: files.length, error: (error as Error).message });
      }
    };
    await check('local', record.path, () => verifyFiles(record.path, files));
    for (const copy of record.copies.filter((c) => c.status === 'copied')) {
      const target = this.targets.get(copy.target);
      if (!target) {
        locations.push({
          target: copy.target,
          location: copy.location,
          ok: false,
          files: files.length,
          error: `copy target ${copy.target} is no longer configured`,
        });
        continue;
      }
      await check(copy.target, copy.location, () => target.verify(record.database, record.id, files));
    }
    const ok = locations.every((l) => l.ok);
    const bad = locations.filter((l) => !l.ok);
    await this.event(
      'backup.verified',
      ok ? 'info' : 'error',
      ok
        ? `Backup ${id} verified: ${files.length} files in ${locations.length} locations`
        : `Backup ${id} failed verification: ${bad.map((l) => `${l.target}: ${l.error}`).join('; ')}`,
      record.database,
      { backupId: id, locations },
    );
    return { backupId: id, ok, locations };
  }

  /** Applies retention to one database or all; every deletion is an event. */
  async applyRetention(database?: string): Promise<string[]> {
    const deleted: string[] = [];
    const now = this.now();
    for (const config of this.databases.values()) {
      if (database !== undefined && config.id !== database) continue;
      const records = (await this.repo.list({ database: config.id })).filter((r) => !this.inUse.has(r.id));
      const plan = planRetention(records, config.backup, now);
      for (const record of plan.expired) if (await this.deleteBackup(record, config)) deleted.push(record.id);
      for (const record of plan.failedToClean)
        for (const path of [record.path, partialFolder(record.path)])
          if (existsSync(path)) {
            await rm(path, { recursive: true, force: true });
            await this.event(
              'backup.cleaned',
              'info',
              `Removed what failed backup ${record.id} left in ${path}`,
              config.id,
              {
                backupId: record.id,
                path,
              },
            );
          }
    }
    return deleted;
  }

  /** Republishes the gauges, flags missed backups and applies retention once a day. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const config of this.databases.values()) await this.publish(config);
      if (this.now() - this.lastRetentionAt >= DAY_MS) {
        this.lastRetentionAt = this.now();
        await this.applyRetention();
      }
    } catch (error) {
      this.logger.error({ err: error }, 'backup checks failed; will retry');
    }
  }

  private configure(databases: DatabaseConfig[], backups: BackupsConfig, baseDir: string): void {
    this.databases = new Map(databases.map((d) => [d.id, d]));
    this.settings = backups;
    this.baseDir = baseDir;
    this.targets = new Map(
      backups.copies.map((copy) => {
        try {
          return [copy.name, createOffsiteTarget(copy, baseDir)];
        } catch (error) {
          // A target that cannot even be built still gets its copies recorded as failing.
          const broken: OffsiteTarget = {
            name: copy.name,
            kind: copy.azureBlob ? 'azureBlob' : 'dir',
            location: () => `(${copy.name}: not usable)`,
            put: () => Promise.reject(error),
            verify: () => Promise.reject(error),
            fetch: () => Promise.reject(error),
            remove: () => Promise.reject(error),
          };
          return [copy.name, broken];
        }
      }),
    );
  }

  private get binDir(): string | undefined {
    return this.settings.binDir ? resolve(this.baseDir, this.settings.binDir) : undefined;
  }

  private schedule(): void {
    for (const cron of this.crons.values()) cron.stop();
    this.crons.clear();
    for (const config of this.databases.values()) {
      if (!config.backup.enabled) continue;
      const cron = new Cron(
        config.backup.schedule,
        { timezone: config.backup.timeZone, catch: true },
        () => void this.scheduled(config.id),
      );
      this.crons.set(config.id, cron);
    }
  }

  private async scheduled(database: string): Promise<void> {
    const active = this.running.get(database);
    if (active) {
      this.logger.warn(
        { database, running: active.record.id },
        'scheduled backup skipped: the previous one is still running',
      );
      return;
    }
    try {
      await (
        await this.startBackup(database, 'schedule')
      ).done;
    } catch (error) {
      this.logger.error({ err: error, database }, 'scheduled backup did not start');
    }
  }

  private database(id: string): DatabaseConfig {
    const config = this.databases.get(id);
    if (!config)
      throw new NotFoundError(
        `no database "${id}" in the config; configured: ${[...this.databases.keys()].join(', ') || 'none'}`,
      );
    return config;
  }

  private async execute(
    record: BackupRecord,
    config: DatabaseConfig,
    signal: AbortSignal,
  ): Promise<BackupRecord> {
    let connection: PgConnection | undefined;
    try {
      connection = connectionOf(config, this.baseDir);
      await mkdir(join(this.root, config.id), { recursive: true });
      const manifest = await dumpDatabase({
        id: record.id,
        database: config.id,
        connection,
        policy: config.backup,
        folder: record.path,
        binDir: this.binDir,
        sampleRows: config.drill.sampleRows,
        signal,
        now: this.now,
      });
      // Copies are pending before the backup reads as succeeded, so no reader sees a good backup
      // without the copies it is owed.
      await this.pendCopies(record);
      await this.repo.finish(record.id, {
        status: 'succeeded',
        finishedAt: manifest.finishedAt,
        sizeBytes: manifest.sizeBytes,
        error: null,
        manifest,
      });
      this.options.onChange?.({
        id: record.id,
        database: config.id,
        operation: 'backup',
        status: 'succeeded',
      });
      const seconds = (manifest.finishedAt - manifest.startedAt) / 1000;
      const rows = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
      const summary = `Backup ${record.id} of ${config.id} completed: ${manifest.tables.length} tables, ${rows} rows, ${formatBytes(manifest.sizeBytes)} in ${seconds.toFixed(1)} s`;
      this.logger.info(
        { backup: record.id, database: config.id, bytes: manifest.sizeBytes, seconds },
        summary,
      );
      // Guide 3.3: backup completions are info alerts, kept as events.
      await this.event('backup.completed', 'info', summary, config.id, {
        backupId: record.id,
        trigger: record.trigger,
        tables: manifest.tables.length,
        rows,
        sizeBytes: manifest.sizeBytes,
        durationSeconds: seconds,
        walLsn: manifest.walLsn,
        path: record.path,
      });
    } catch (error) {
      const message = (error as Error).message;
      await this.repo.finish(record.id, {
        status: 'failed',
        finishedAt: this.now(),
        sizeBytes: null,
        error: message,
        manifest: null,
      });
      this.logger.error({ backup: record.id, database: config.id }, `backup failed: ${message}`);
      this.options.onChange?.({ id: record.id, database: config.id, operation: 'backup', status: 'failed' });
      await this.event(
        'backup.failed',
        'error',
        `Backup ${record.id} of ${config.id} failed: ${message}`,
        config.id,
        {
          backupId: record.id,
          trigger: record.trigger,
          error: message,
        },
      );
      await this.publish(config);
      return this.get(record.id);
    }
    await this.copyAll(record.id);
    await this.applyRetention(config.id).catch((error: unknown) =>
      this.logger.error(
        { err: error, database: config.id },
        'retention failed; it runs again after the next backup',
      ),
    );
    await this.publish(config);
    return this.get(record.id);
  }

  private async pendCopies(record: BackupRecord): Promise<void> {
    for (const target of this.targets.values())
      await this.repo.setCopy(
        record.id,
        {
          target: target.name,
          status: 'pending',
          location: target.location(record.database, record.id),
          at: null,
          error: null,
          attempts: 0,
        },
        this.now(),
      );
  }

  /** The first attempt of every copy, in parallel; failures retry in the background. */
  private async copyAll(backupId: string): Promise<void> {
    await Promise.all([...this.targets.keys()].map((target) => this.track(this.copy(backupId, target))));
  }

  private track(work: Promise<void>): Promise<void> {
    this.copying.add(work);
    return work.finally(() => this.copying.delete(work));
  }

  /** One copy attempt; a failure is retried after the next delay, the last one fails the copy. */
  private async copy(backupId: string, targetName: string): Promise<void> {
    const target = this.targets.get(targetName);
    const record = await this.repo.get(backupId);
    if (!target || !record?.manifest || record.status !== 'succeeded' || this.stopped) return;
    const attempts = (await this.repo.copyAttempts(backupId, targetName)) + 1;
    const location = target.location(record.database, record.id);
    try {
      const files = await backupFiles(record.path, record.manifest);
      await target.put(record.database, record.id, record.path, files, this.stopController.signal);
      await this.repo.setCopy(
        backupId,
        { target: targetName, status: 'copied', location, at: this.now(), error: null, attempts },
        this.now(),
      );
      this.logger.info({ backup: backupId, target: targetName, location }, 'backup copied and verified');
      if (attempts > 1) await this.publishDatabase(record.database);
    } catch (error) {
      if (this.stopped) return; // interrupted, not failed: resumed at the next start
      const message = (error as Error).message;
      const delay = this.retryDelays[attempts - 1];
      if (delay !== undefined) {
        await this.repo.setCopy(
          backupId,
          { target: targetName, status: 'pending', location, at: null, error: message, attempts },
          this.now(),
        );
        this.logger.warn(
          { backup: backupId, target: targetName, attempt: attempts, retryInMs: delay },
          `backup copy failed, will retry: ${message}`,
        );
        this.later(delay, backupId, targetName);
        return;
      }
      await this.repo.setCopy(
        backupId,
        { target: targetName, status: 'failed', location, at: this.now(), error: message, attempts },
        this.now(),
      );
      this.logger.error({ backup: backupId, target: targetName, attempts }, `backup copy failed: ${message}`);
      await this.event(
        'backup.copy_failed',
        'error',
        `Copy of backup ${backupId} to ${targetName} failed after ${attempts} attempts: ${message}`,
        record.database,
        { backupId, target: targetName, location, attempts, error: message },
      );
      await this.publishDatabase(record.database);
    }
  }

  private later(delay: number, backupId: string, target: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.track(this.copy(backupId, target)).catch((error: unknown) =>
        this.logger.error({ err: error, backup: backupId, target }, 'backup copy could not be recorded'),
      );
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Removes a backup everywhere; the record goes only once every copy is gone. */
  private async deleteBackup(record: BackupRecord, config: DatabaseConfig): Promise<boolean> {
    const problems: string[] = [];
    const left: string[] = [];
    for (const copy of record.copies) {
      const target = this.targets.get(copy.target);
      if (!target) {
        left.push(`${copy.location} (target ${copy.target} is no longer configured)`);
        continue;
      }
      try {
        await target.remove(record.database, record.id);
      } catch (error) {
        problems.push(`${copy.target}: ${(error as Error).message}`);
      }
    }
    if (problems.length > 0) {
      this.logger.warn(
        { backup: record.id, problems },
        'expired backup kept until its copies can be deleted',
      );
      await this.event(
        'backup.delete_failed',
        'warning',
        `Expired backup ${record.id} could not be deleted everywhere (${problems.join('; ')}); retrying at the next retention run`,
        config.id,
        { backupId: record.id, problems },
      );
      return false;
    }
    await rm(record.path, { recursive: true, force: true });
    await rm(partialFolder(record.path), { recursive: true, force: true });
    await this.repo.delete(record.id);
    const days = Math.round(config.backup.retention / DAY_MS);
    await this.event(
      'backup.deleted',
      'info',
      `Backup ${record.id} of ${config.id} (${new Date(record.startedAt).toISOString()}, ${record.status}) deleted by retention (older than ${days} days)${left.length ? `; left in place: ${left.join(', ')}` : ''}`,
      config.id,
      {
        backupId: record.id,
        status: record.status,
        startedAt: record.startedAt,
        retentionMs: config.backup.retention,
        keepLast: config.backup.keepLast,
        copies: record.copies.map((c) => c.location),
        leftInPlace: left,
      },
    );
    this.logger.info({ backup: record.id, database: config.id }, 'backup deleted by retention');
    return true;
  }

  private async publishDatabase(database: string): Promise<void> {
    const config = this.databases.get(database);
    if (config) await this.publish(config);
  }

  /** Gauges for one database, and the missed-backup event when its newest good backup is too old. */
  private async publish(config: DatabaseConfig): Promise<void> {
    const now = this.now();
    const latestGood = await this.repo.latest(config.id, 'succeeded');
    const lastFinished = (await this.repo.list({ database: config.id, limit: 3 })).find(
      (r) => r.status !== 'running',
    );
    const samples = backupSamples({
      database: config.id,
      service: config.service,
      latestGood,
      lastFinished,
      scheduled: config.backup.enabled,
      firstSeenAt: this.firstSeen.get(config.id) ?? now,
      maxAgeMs: config.backup.maxAge,
      targets: [...this.targets.keys()],
      now,
    });
    try {
      this.options.metrics?.ingest(samples);
    } catch (error) {
      this.logger.debug({ err: error }, 'backup gauges not stored');
    }
    if (!config.backup.enabled) return;
    const age = samples.find((s) => s.name === 'opsbook_backup_age_seconds')!.value * 1000;
    if (age > config.backup.maxAge && !this.missed.has(config.id)) {
      this.missed.add(config.id);
      const message = latestGood
        ? `No good backup of ${config.id} for ${formatAge(age)} (maximum ${formatAge(config.backup.maxAge)}); the newest is ${latestGood.id}`
        : `No good backup of ${config.id} yet, ${formatAge(age)} after Opsbook started watching it (maximum ${formatAge(config.backup.maxAge)})`;
      this.logger.error({ database: config.id }, message);
      await this.event('backup.missed', 'error', message, config.id, {
        latest: latestGood?.id ?? null,
        ageSeconds: Math.round(age / 1000),
        maxAgeSeconds: config.backup.maxAge / 1000,
      });
    } else if (age <= config.backup.maxAge) this.missed.delete(config.id);
  }

  /** Which servers a restore of `record` reads from and writes to. */
  private restoreEnds(record: BackupRecord, targetUrl: string | undefined, targetPassword?: string) {
    const config = this.databases.get(record.database);
    if (!config && !targetUrl)
      throw new InputError(
        `database ${record.database} is no longer in the config; give targetUrl, the server to restore into`,
        'targetUrl',
      );
    // An unconfigured source matches no server, so only `to` on the target server is checked.
    const source: PgConnection = config
      ? connectionOf(config, this.baseDir)
      : { url: '', password: undefined, dbname: record.manifest?.dbname ?? '', server: '' };
    let target = targetUrl ? connectionOfUrl(targetUrl) : undefined;
    // No password in the URL: the one given for the target (a drill's scratch server), else the
    // configured one when it is the same server; never the source's password for another server.
    if (target && target.password === undefined)
      target = {
        ...target,
        password: targetPassword ?? (target.server === source.server ? source.password : undefined),
      };
    return { source, target };
  }

  /** The local folder, or a copy fetched from off-site when the local one is gone. */
  private async localOrFetched(
    record: BackupRecord,
    signal: AbortSignal | undefined,
  ): Promise<{ folder: string; cleanup: () => Promise<void> }> {
    if (existsSync(join(record.path, DUMP_DIR))) return { folder: record.path, cleanup: async () => {} };
    const files: ManifestFile[] = record.manifest?.files ?? [];
    for (const copy of record.copies.filter((c) => c.status === 'copied')) {
      const target = this.targets.get(copy.target);
      if (!target) continue;
      const folder = join(this.root, `.restore-${record.id}-${randomBytes(4).toString('hex')}`);
      const cleanup = () => rm(folder, { recursive: true, force: true });
      try {
        this.logger.warn(
          { backup: record.id, target: copy.target },
          'local backup folder is gone; fetching the off-site copy',
        );
        await target.fetch(
          record.database,
          record.id,
          files.map((f) => f.path),
          folder,
          signal,
        );
        return { folder, cleanup };
      } catch (error) {
        await cleanup();
        this.logger.error(
          { err: error, backup: record.id, target: copy.target },
          'off-site copy could not be fetched',
        );
      }
    }
    throw new ConflictError(
      `the files of backup ${record.id} are gone from ${record.path} and no off-site copy could be fetched; restore another backup`,
    );
  }

  private async event(kind: string, severity: string, message: string, database: string, data: unknown) {
    try {
      await this.events.append([
        {
          at: this.now(),
          kind,
          severity,
          service_id: this.databases.get(database)?.service ?? null,
          check_id: null,
          message,
          data: JSON.stringify({ database, ...(data as object) }),
        },
      ]);
    } catch (error) {
      this.logger.error({ err: error, kind }, 'could not record backup event');
    }
  }
}

/** Sortable and readable: orders-20261126T020000Z-3f9a. */
export function backupId(database: string, at: number): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${database}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function formatAge(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48
    ? `${Math.round(hours / 24)} days`
    : hours >= 1
      ? `${hours.toFixed(1)} h`
      : `${Math.round(ms / 60_000)} min`;
}
