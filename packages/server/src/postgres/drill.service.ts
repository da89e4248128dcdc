// Disaster-recovery drills (guide 9.3): restore the latest backup into a scratch database, verify it,
// measure RTO and RPO, report, and keep the figures flowing to the alert rules.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Cron } from 'croner';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DrillPhaseName, DrillReport, DrillSummary } from '@opsbook/contracts';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { ConflictError, NotFoundError, UnavailableError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { DrillRepository, type DrillRow } from '../storage/drill.repository.js';
import { EventRepository } from '../storage/event.repository.js';
import type { IngestSample } from '../telemetry/series.js';
import type { BackupApi, BackupRecord } from './backup.types.js';
import { runAmcheck } from './drill.amcheck.js';
import { drillSamples } from './drill.metrics.js';
import { duration, renderDrillMarkdown } from './drill.report.js';
import {
  connectionTo,
  displayUrl,
  dropScratch,
  scratchExists,
  scratchName,
  type ScratchServer,
} from './drill.scratch.js';
import { verifyRowCounts, verifySamples } from './drill.verify.js';

export type DrillDatabase = Pick<
  DatabaseConfig,
  'id' | 'url' | 'password' | 'passwordFile' | 'service' | 'drill'
>;

export interface DrillServiceOptions {
  store: Store;
  backups: BackupApi;
  databases: DrillDatabase[];
  /** Resolves passwordFile paths (the config file's folder). */
  baseDir: string;
  /** <backups.dir>/drills: each drill writes <id>/report.md and report.json here. */
  reportDir: string;
  logger: Logger;
  /** Where the drill figures go as metrics (the metric store). */
  metrics?: { ingest(samples: readonly IngestSample[]): unknown };
  now?: () => number;
  /** How often the figures are republished; 1 minute (the rule engine looks back 5). */
  publishIntervalMs?: number;
  /** A drill started or ended (live clients refetch on it). */
  onChange?(change: { id: string; database: string; status: DrillReport['status'] }): void;
}

export interface StartOptions {
  trigger?: DrillReport['trigger'];
  actor?: string;
}

const PHASES: DrillPhaseName[] = [
  'select-backup',
  'restore',
  'row-counts',
  'sample-checksums',
  'amcheck',
  'cleanup',
];

interface Running {
  id: string;
  controller: AbortController;
  done: Promise<DrillReport>;
}

export class DrillService {
  private readonly repository: DrillRepository;
  private readonly events: EventRepository;
  private readonly now: () => number;
  private databases = new Map<string, DrillDatabase>();
  private baseDir: string;
  private reportDir: string;
  private readonly running = new Map<string, Running>();
  private readonly saving = new Map<string, Promise<void>>();
  private crons: Cron[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: DrillServiceOptions) {
    this.repository = new DrillRepository(options.store);
    this.events = new EventRepository(options.store.db);
    this.now = options.now ?? Date.now;
    this.baseDir = options.baseDir;
    this.reportDir = options.reportDir;
    this.setDatabases(options.databases);
  }

  /** Closes drills a previous process left running, starts the schedules and the metric publisher. */
  async start(): Promise<void> {
    await this.closeInterrupted();
    await this.watchAll();
    this.schedule();
    await this.publish();
    this.timer = setInterval(() => void this.publish(), this.options.publishIntervalMs ?? 60_000);
    this.timer.unref();
  }

  /** Applies a reloaded config: databases, schedules and report folder. */
  async configure(databases: DrillDatabase[], baseDir: string, reportDir: string): Promise<void> {
    this.setDatabases(databases);
    this.baseDir = baseDir;
    this.reportDir = reportDir;
    await this.watchAll();
    if (!this.stopped) this.schedule();
  }

  /** Starts a drill in the background and returns its first report; one drill per database at a time. */
  async run(databaseId: string, options: StartOptions = {}): Promise<DrillReport> {
    const database = this.databases.get(databaseId);
    if (!database)
      throw new NotFoundError(
        `no database "${databaseId}" in the config; drills run for the ids under databases: (${[...this.databases.keys()].join(', ') || 'none configured'})`,
      );
    if (this.stopped) throw new UnavailableError('Opsbook is stopping; start the drill after it restarts');
    const active = this.running.get(databaseId);
    if (active)
      throw new ConflictError(
        `drill ${active.id} of ${databaseId} is still running; follow it with GET /api/v1/drills/${active.id} or opsbook drill show ${active.id}`,
      );
    const startedAt = this.now();
    const id = drillId(startedAt);
    const report = initialReport(id, database, startedAt, options, this.scratchServer(database));
    const controller = new AbortController();
    // Claimed before the first await, so a second request in the same tick gets the conflict.
    const entry: Running = { id, controller, done: Promise.resolve(report) };
    this.running.set(databaseId, entry);
    try {
      await this.repository.insert({ ...rowOf(report), updated_at: startedAt });
    } catch (error) {
      this.running.delete(databaseId);
      throw error;
    }
    entry.done = this.execute(report, database, controller.signal)
      .catch((error: unknown) => {
        // Only the store failing ends up here; the drill's own failures are in its report.
        this.options.logger.error(
          { err: error, drill: id, database: databaseId },
          'drill could not be recorded',
        );
        return report;
      })
      .finally(() => {
        if (this.running.get(databaseId) === entry) this.running.delete(databaseId);
      });
    this.options.logger.info({ drill: id, database: databaseId, trigger: report.trigger }, 'drill started');
    this.options.onChange?.({ id, database: databaseId, status: 'running' });
    return structuredClone(report);
  }

  /** Resolves with the final report of a drill this process runs (or the stored one). */
  async wait(id: string): Promise<DrillReport> {
    const active = [...this.running.values()].find((r) => r.id === id);
    if (active) return active.done;
    return this.get(id);
  }

  async get(id: string): Promise<DrillReport> {
    const row = await this.repository.get(id);
    if (!row)
      throw new NotFoundError(`no drill "${id}"; list them with GET /api/v1/drills or opsbook drill list`);
    return JSON.parse(row.report) as DrillReport;
  }

  async markdown(id: string): Promise<string> {
    return renderDrillMarkdown(await this.get(id));
  }

  async list(filter: { database?: string; limit?: number } = {}): Promise<DrillSummary[]> {
    const rows = await this.repository.list(filter);
    return rows.map(summaryOf);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const cron of this.crons) cron.stop();
    this.crons = [];
    clearInterval(this.timer);
    const active = [...this.running.values()];
    for (const r of active) r.controller.abort(new Error('Opsbook is stopping'));
    await Promise.allSettled(active.map((r) => r.done));
  }

  private setDatabases(databases: DrillDatabase[]): void {
    this.databases = new Map(databases.map((d) => [d.id, d]));
  }

  private async watchAll(): Promise<void> {
    const now = this.now();
    for (const id of this.databases.keys()) await this.repository.watch(id, now);
  }

  private schedule(): void {
    for (const cron of this.crons) cron.stop();
    this.crons = [];
    for (const database of this.databases.values()) {
      if (!database.drill.enabled) continue;
      this.crons.push(
        new Cron(database.drill.schedule, { timezone: database.drill.timeZone, protect: true }, () => {
          this.run(database.id, { trigger: 'schedule', actor: 'schedule' }).catch((error: unknown) =>
            this.options.logger.warn(
              { database: database.id, err: error },
              `scheduled drill of ${database.id} not started: ${(error as Error).message}`,
            ),
          );
        }),
      );
    }
  }

  private scratchServer(database: DrillDatabase): ScratchServer {
    const password =
      database.password ||
      (database.passwordFile
        ? readFileSync(resolve(this.baseDir, database.passwordFile), 'utf8').trim()
        : undefined);
    return { url: database.drill.scratchUrl ?? database.url, password };
  }

  private async execute(
    report: DrillReport,
    database: DrillDatabase,
    signal: AbortSignal,
  ): Promise<DrillReport> {
    const policy = database.drill;
    const server = this.scratchServer(database);
    const run = new PhaseRunner(report, this.now, () => this.save(report), signal);
    let created = false;
    try {
      const backup = await run.phase('select-backup', async () => {
        const latest = await this.options.backups.latest(database.id);
        if (!latest)
          throw new DrillProblem(
            `no succeeded backup of ${database.id} to restore; run one first (opsbook backup run ${database.id})`,
          );
        if (!latest.manifest)
          throw new DrillProblem(
            `backup ${latest.id} has no manifest; it cannot be verified, so it was not restored`,
          );
        recordBackup(report, latest);
        return { record: latest, message: `${latest.id}, data ${duration(report.rpo.ms!)} old` };
      });

      const restored = await run.phase('restore', async () => {
        created = true;
        let lastSave = 0;
        const result = await this.options.backups.restore(backup.id, {
          to: report.scratch.database,
          targetUrl: policy.scratchUrl,
          // The scratch server's password when scratchUrl has none, as the drill's own connections use it.
          targetPassword: policy.scratchUrl ? server.password : undefined,
          signal,
          onProgress: (progress) => {
            report.progress = { phase: 'restore', fraction: progress.fraction, message: progress.message };
            const now = this.now();
            if (now - lastSave >= 1000) {
              lastSave = now;
              void this.save(report);
            }
          },
        });
        return {
          record: result,
          message: `${result.checksumsVerified} file checksums verified, restored into ${report.scratch.database}`,
        };
      });
      report.scratch.server = displayUrl(restored.targetUrl);

      const client = new pg.Client(connectionTo(server, report.scratch.database));
      client.on('error', () => {});
      await client.connect().catch((error: Error) => {
        throw new Error(
          `cannot connect to the scratch database ${report.scratch.database}: ${error.message}`,
        );
      });
      try {
        await run.phase('row-counts', async () => {
          const result = await verifyRowCounts(client, backup.manifest!, signal);
          report.tables = result.tables;
          report.problems.push(...result.problems);
          report.warnings.push(...result.warnings);
          const bad = result.tables.filter((t) => !t.ok).length;
          return {
            record: undefined,
            status: bad > 0 ? 'failed' : result.warnings.length > 0 ? 'warning' : 'passed',
            message:
              bad > 0
                ? `${bad} of ${result.tables.length} tables differ`
                : `${result.tables.length} tables, ${result.tables.reduce((n, t) => n + (t.actual ?? 0), 0)} rows match`,
          };
        });
        await run.phase('sample-checksums', async () => {
          const result = await verifySamples(client, backup.manifest!, signal);
          report.samples = result.samples;
          report.problems.push(...result.problems);
          report.warnings.push(...result.warnings);
          const matched = result.samples.filter((s) => s.status === 'match').length;
          return {
            record: undefined,
            status: result.problems.length > 0 ? 'failed' : result.warnings.length > 0 ? 'warning' : 'passed',
            message:
              result.problems.length > 0
                ? `${result.problems.length} of ${result.samples.length} tables differ`
                : matched === 0 && result.samples.length > 0
                  ? 'not available in this backup'
                  : `${matched} of ${result.samples.length} tables match`,
          };
        });
        await run.phase('amcheck', async () => {
          const result = await runAmcheck(client, signal);
          report.amcheck = result.amcheck;
          report.problems.push(...result.problems);
          report.warnings.push(...result.warnings);
          return {
            record: undefined,
            status: result.problems.length > 0 ? 'failed' : result.warnings.length > 0 ? 'warning' : 'passed',
            message: result.amcheck.message,
          };
        });
      } finally {
        await client.end().catch(() => {});
      }
      report.verifiedAt = this.now();
      report.rto.ms = report.verifiedAt - report.startedAt;
      report.rto.met = report.rto.ms <= report.rto.targetMs;
    } catch (error) {
      if (!(error instanceof PhaseFailed)) report.problems.push(describe(error, signal));
    }

    await this.cleanup(report, run, server, created, policy.keepScratch);
    return this.finish(report, database);
  }

  private async cleanup(
    report: DrillReport,
    run: PhaseRunner,
    server: ScratchServer,
    created: boolean,
    keep: boolean,
  ): Promise<void> {
    if (!created) return run.skip('cleanup', 'nothing was restored');
    if (keep) {
      report.scratch.kept = true;
      return run.skip('cleanup', `kept ${report.scratch.database} (keepScratch)`);
    }
    try {
      await run.phase('cleanup', async () => {
        // A restore that failed early never created it (or removed its own partial database).
        if (!(await scratchExists(server, report.scratch.database)))
          return { record: undefined, message: `nothing to drop: ${report.scratch.database} does not exist` };
        await dropScratch(server, report.scratch.database);
        report.scratch.dropped = true;
        return { record: undefined, message: `dropped ${report.scratch.database}` };
      });
    } catch (error) {
      // A leftover scratch database costs space but says nothing about the backup: a warning.
      report.warnings.push(
        `the scratch database ${report.scratch.database} could not be dropped (${(error as Error).message}); drop it by hand`,
      );
    }
  }

  private async finish(report: DrillReport, database: DrillDatabase): Promise<DrillReport> {
    for (const phase of report.phases)
      if (phase.status === 'pending') {
        phase.status = 'skipped';
        phase.message ||= 'not reached';
      }
    report.finishedAt = this.now();
    report.progress = null;
    report.status =
      report.problems.length > 0
        ? 'failed'
        : report.rto.met === false || report.rpo.met === false
          ? 'missed-target'
          : 'passed';
    await this.save(report);
    this.options.onChange?.({ id: report.id, database: report.database, status: report.status });
    this.writeFiles(report);
    await this.recordEvent(report, database);
    await this.publish();
    this.options.logger[report.status === 'passed' ? 'info' : 'warn'](
      {
        drill: report.id,
        database: report.database,
        status: report.status,
        rtoMs: report.rto.ms,
        rpoMs: report.rpo.ms,
        problems: report.problems.length,
      },
      `drill of ${report.database} ${report.status}`,
    );
    return structuredClone(report);
  }

  /** Saves in call order per drill, so a slow progress write never overwrites a later state. */
  private save(report: DrillReport): Promise<void> {
    const row = { ...rowOf(report), updated_at: this.now() };
    const previous = this.saving.get(report.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        await this.repository.update(report.id, row);
      } catch (error) {
        this.options.logger.error({ err: error, drill: report.id }, 'drill progress not stored');
      }
    });
    this.saving.set(report.id, next);
    void next.then(() => {
      if (this.saving.get(report.id) === next) this.saving.delete(report.id);
    });
    return next;
  }

  private writeFiles(report: DrillReport): void {
    const dir = join(this.reportDir, report.id);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(dir, 'report.md'), renderDrillMarkdown(report));
    } catch (error) {
      this.options.logger.error(
        { err: error, drill: report.id, dir },
        'drill report not written to disk (it stays in the store and the API)',
      );
    }
  }

  private async recordEvent(report: DrillReport, database: DrillDatabase): Promise<void> {
    const passed = report.status === 'passed';
    const message = passed
      ? `drill of ${report.database} passed: RTO ${duration(report.rto.ms!)}, RPO ${duration(report.rpo.ms!)}`
      : report.status === 'missed-target'
        ? `drill of ${report.database} missed its targets: RTO ${fmt(report.rto.ms)} (target ${duration(report.rto.targetMs)}), RPO ${fmt(report.rpo.ms)} (target ${duration(report.rpo.targetMs)})`
        : `drill of ${report.database} failed: ${report.problems[0] ?? 'see the report'}`;
    try {
      await this.events.append([
        {
          at: report.finishedAt!,
          // A target miss is not a pass; it is a warning rather than an error because the data restored.
          kind: passed ? 'drill.passed' : 'drill.failed',
          severity: passed ? 'info' : report.status === 'missed-target' ? 'warning' : 'error',
          service_id: database.service ?? null,
          check_id: null,
          message,
          data: JSON.stringify({
            drill: report.id,
            database: report.database,
            status: report.status,
            backup: report.backup?.id ?? null,
            rtoMs: report.rto.ms,
            rpoMs: report.rpo.ms,
            problems: report.problems,
          }),
        },
      ]);
    } catch (error) {
      this.options.logger.error({ err: error, drill: report.id }, 'drill event not recorded');
    }
  }

  /** Republishes every database's drill figures as metrics. */
  async publish(): Promise<void> {
    const sink = this.options.metrics;
    if (!sink) return;
    const now = this.now();
    try {
      const samples: IngestSample[] = [];
      for (const database of this.databases.values()) {
        const last = await this.repository.latest(database.id, ['passed', 'failed', 'missed-target']);
        const success = await this.repository.latest(database.id, ['passed']);
        samples.push(
          ...drillSamples(
            {
              database: database.id,
              service: database.service,
              last: last && {
                status: last.status as 'passed' | 'failed' | 'missed-target',
                rtoMs: last.rto_ms,
                rpoMs: last.rpo_ms,
              },
              lastSuccessAt: success?.finished_at ?? undefined,
              watchedSince: (await this.repository.watchedSince(database.id)) ?? now,
              rtoTargetMs: database.drill.rtoTarget,
              rpoTargetMs: database.drill.rpoTarget,
              overdueAfterMs: database.drill.overdueAfter,
            },
            now,
          ),
        );
      }
      if (samples.length > 0) sink.ingest(samples);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'drill figures not published this time');
    }
  }

  /** A drill left running by a stopped process can never finish: record it as failed and clean up. */
  private async closeInterrupted(): Promise<void> {
    for (const row of await this.repository.list({ status: ['running'], limit: 1000 })) {
      const report = JSON.parse(row.report) as DrillReport;
      report.problems.push('interrupted: Opsbook stopped before the drill finished');
      for (const phase of report.phases)
        if (phase.status === 'running') {
          phase.status = 'failed';
          phase.message = 'interrupted';
        }
      const database = this.databases.get(row.database);
      if (database && !database.drill.keepScratch) {
        try {
          await dropScratch(this.scratchServer(database), report.scratch.database);
          report.scratch.dropped = true;
        } catch (error) {
          report.warnings.push(
            `the scratch database ${report.scratch.database} could not be dropped (${(error as Error).message}); drop it by hand`,
          );
        }
      }
      if (database) await this.finish(report, database);
      else {
        report.status = 'failed';
        report.finishedAt = this.now();
        report.progress = null;
        await this.save(report);
      }
    }
  }
}

/** A finding that ends the drill as failed, worded for the report. */
class DrillProblem extends Error {}
/** Thrown after a phase recorded its own failure, so the drill stops without a second problem line. */
class PhaseFailed extends Error {}

type PhaseOutcome<T> = { record: T; message: string; status?: 'passed' | 'warning' | 'failed' };

/** Runs phases in order, timing each and keeping the report's phase list and progress current. */
class PhaseRunner {
  constructor(
    private readonly report: DrillReport,
    private readonly now: () => number,
    private readonly save: () => Promise<void>,
    private readonly signal: AbortSignal,
  ) {}

  async phase<T>(name: DrillPhaseName, work: () => Promise<PhaseOutcome<T>>): Promise<T> {
    const phase = this.report.phases.find((p) => p.name === name)!;
    phase.status = 'running';
    phase.startedAt = this.now();
    this.report.progress = { phase: name, fraction: 0, message: 'started' };
    await this.save();
    try {
      const outcome = await work();
      // A verification phase that finds problems ends 'failed' but the drill goes on to the next
      // check, so one report lists everything wrong; only an exception stops the drill.
      this.end(phase, outcome.status ?? 'passed', outcome.message);
      await this.save();
      return outcome.record;
    } catch (error) {
      const message = describe(error, this.signal);
      this.end(phase, 'failed', message);
      if (name !== 'cleanup')
        this.report.problems.push(error instanceof DrillProblem ? message : `${name}: ${message}`);
      await this.save();
      throw name === 'cleanup' ? error : new PhaseFailed(message);
    }
  }

  skip(name: DrillPhaseName, message: string): void {
    const phase = this.report.phases.find((p) => p.name === name)!;
    phase.status = 'skipped';
    phase.message = message;
  }

  private end(
    phase: DrillReport['phases'][number],
    status: 'passed' | 'warning' | 'failed',
    message: string,
  ) {
    phase.status = status;
    phase.finishedAt = this.now();
    phase.durationMs = phase.finishedAt - (phase.startedAt ?? phase.finishedAt);
    phase.message = message;
  }
}

function initialReport(
  id: string,
  database: DrillDatabase,
  startedAt: number,
  options: StartOptions,
  server: ScratchServer,
): DrillReport {
  return {
    id,
    database: database.id,
    status: 'running',
    trigger: options.trigger ?? 'manual',
    actor: options.actor ?? 'api',
    startedAt,
    finishedAt: null,
    verifiedAt: null,
    backup: null,
    scratch: {
      database: scratchName(database.id, startedAt),
      server: displayUrl(server.url),
      kept: false,
      dropped: false,
    },
    rto: { ms: null, targetMs: database.drill.rtoTarget, met: null },
    rpo: { ms: null, targetMs: database.drill.rpoTarget, met: null },
    phases: PHASES.map((name) => ({
      name,
      status: 'pending',
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      message: '',
    })),
    progress: null,
    tables: [],
    samples: [],
    amcheck: null,
    problems: [],
    warnings: [],
  };
}

function recordBackup(report: DrillReport, backup: BackupRecord): void {
  const manifest = backup.manifest!;
  report.backup = {
    id: backup.id,
    snapshotAt: manifest.snapshotAt,
    finishedAt: manifest.finishedAt,
    sizeBytes: manifest.sizeBytes,
    serverVersion: manifest.serverVersion,
    walLsn: manifest.walLsn,
    tables: manifest.tables.length,
  };
  // RPO: what a disaster at drill start would lose, everything written since the backup's snapshot.
  report.rpo.ms = Math.max(0, report.startedAt - manifest.snapshotAt);
  report.rpo.met = report.rpo.ms <= report.rpo.targetMs;
}

function rowOf(report: DrillReport) {
  return {
    id: report.id,
    database: report.database,
    status: report.status,
    trigger: report.trigger,
    actor: report.actor,
    backup_id: report.backup?.id ?? null,
    started_at: report.startedAt,
    finished_at: report.finishedAt,
    rto_ms: report.rto.ms,
    rpo_ms: report.rpo.ms,
    problems: report.problems.length,
    phase: report.status === 'running' ? (report.progress?.phase ?? null) : null,
    report: JSON.stringify(report),
  };
}

function summaryOf(row: DrillRow): DrillSummary {
  return {
    id: row.id,
    database: row.database,
    status: row.status as DrillSummary['status'],
    trigger: row.trigger as DrillSummary['trigger'],
    actor: row.actor,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    backupId: row.backup_id,
    rtoMs: row.rto_ms,
    rpoMs: row.rpo_ms,
    problems: row.problems,
    phase: row.phase as DrillSummary['phase'],
  };
}

/** drill-20261126-040000-1a2b3c: sorts by start time and reads well in a folder listing. */
function drillId(at: number): string {
  const stamp = new Date(at).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `drill-${stamp}-${randomBytes(3).toString('hex')}`;
}

function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return `interrupted: ${(signal.reason as Error | undefined)?.message ?? 'aborted'}`;
  return (error as Error).message;
}

function fmt(ms: number | null): string {
  return ms === null ? 'not measured' : duration(ms);
}
