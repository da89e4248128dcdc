// The configured PostgreSQL databases: one monitor each (pool, collector timer, latest snapshot), the
// advisor over its snapshot, maintenance schedules and backend actions. Routes and the runtime use this.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  ActivityRow,
  BackendActionResult,
  BackendAuditEntry,
  BlockingPair,
  DatabaseSnapshot,
  DatabaseSummary,
  DatabaseView,
  HealthReport,
  MaintenanceRunView,
  MaintenanceTaskName,
  MaintenanceTaskView,
  QueryKind,
  StatementRow,
} from '@opsbook/contracts';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { NotFoundError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { PostgresRepository } from '../storage/postgres.repository.js';
import type { IngestSample, SeriesSource } from '../telemetry/series.js';
import { advise } from './advisor.js';
import { Backends, type BackendRequest } from './backends.js';
import { collectSnapshot, emptySnapshot } from './collector.js';
import { snapshotSamples } from './collector.metrics.js';
import { MaintenanceService, type MaintenanceTarget } from './maintenance.service.js';
import { PgConnection, readPassword, redactUrl } from './pg-connection.js';

export interface DatabaseServiceOptions {
  store: Store;
  logger: Logger;
  /** Where the collector's samples go (the metric store). */
  sink?: { ingest(samples: readonly IngestSample[]): unknown };
  /** History for growth over time (the metric store). */
  series?: SeriesSource;
  now?: () => number;
}

export interface ApplySummary {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

class Monitor {
  snapshot: DatabaseSnapshot | undefined;
  nextCollectAt: number | null = null;
  timer: NodeJS.Timeout | undefined;
  collecting: Promise<DatabaseSnapshot> | undefined;
  stopped = false;
  /** A config problem found at apply (an unreadable passwordFile): reported as the collection error. */
  problem: string | undefined;

  constructor(
    readonly config: DatabaseConfig,
    readonly connection: PgConnection,
    readonly hash: string,
  ) {}

  get id(): string {
    return this.config.id;
  }
}

export class DatabaseService {
  private readonly monitors = new Map<string, Monitor>();
  private readonly repository: PostgresRepository;
  private readonly backendActions: Backends;
  readonly maintenance: MaintenanceService;
  private readonly now: () => number;
  private started = false;

  constructor(private readonly options: DatabaseServiceOptions) {
    this.now = options.now ?? Date.now;
    this.repository = new PostgresRepository(options.store);
    this.backendActions = new Backends(this.repository, this.now);
    this.maintenance = new MaintenanceService({
      repository: this.repository,
      logger: options.logger,
      now: this.now,
    });
  }

  /** Adds, replaces (config or password changed) and removes monitors; running ones keep going. */
  apply(configs: readonly DatabaseConfig[], baseDir: string): ApplySummary {
    const summary: ApplySummary = { added: [], changed: [], removed: [], unchanged: 0 };
    const wanted = new Set(configs.map((c) => c.id));
    for (const [id, monitor] of this.monitors)
      if (!wanted.has(id)) {
        this.retire(monitor);
        summary.removed.push(id);
      }
    for (const config of configs) {
      let password: string | undefined;
      let problem: string | undefined;
      try {
        password = readPassword(config, baseDir);
      } catch (error) {
        problem = `cannot read passwordFile ${config.passwordFile}: ${(error as Error).message}`;
      }
      const hash = createHash('sha256')
        .update(JSON.stringify(config))
        .update('\0')
        .update(password ?? '')
        .digest('hex');
      const existing = this.monitors.get(config.id);
      if (existing?.hash === hash) {
        summary.unchanged++;
        continue;
      }
      if (existing) this.retire(existing);
      const connection = new PgConnection({
        url: config.url,
        password,
        statementTimeoutMs: config.statementTimeout,
      });
      const monitor = new Monitor(config, connection, hash);
      monitor.problem = problem;
      this.monitors.set(config.id, monitor);
      (existing ? summary.changed : summary.added).push(config.id);
      if (this.started) this.begin(monitor);
    }
    return summary;
  }

  /** Starts collecting (at once, then every collectInterval) and the maintenance schedules. */
  async start(): Promise<void> {
    await this.maintenance.recover();
    this.started = true;
    for (const monitor of this.monitors.values()) this.begin(monitor);
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.maintenance.stop();
    const monitors = [...this.monitors.values()];
    this.monitors.clear();
    for (const monitor of monitors) this.retire(monitor);
    await Promise.allSettled(monitors.map((m) => m.collecting));
  }

  ids(): string[] {
    return [...this.monitors.keys()];
  }

  list(): DatabaseSummary[] {
    return [...this.monitors.values()].map((m) => this.summary(m));
  }

  view(id: string): DatabaseView {
    const monitor = this.monitor(id);
    return { ...this.summary(monitor), snapshot: monitor.snapshot ?? null };
  }

  /** Collects now; a collection already in progress is shared, not repeated. */
  collect(id: string): Promise<DatabaseSnapshot> {
    return this.collectMonitor(this.monitor(id));
  }

  async health(id: string, options: { refresh?: boolean } = {}): Promise<HealthReport> {
    const monitor = this.monitor(id);
    const snapshot = await this.latest(monitor, options.refresh);
    return this.advise(monitor, snapshot);
  }

  async queries(
    id: string,
    kind: QueryKind,
    options: { refresh?: boolean } = {},
  ): Promise<{ kind: QueryKind; collectedAt: number; items: (ActivityRow | BlockingPair | StatementRow)[] }> {
    const snapshot = await this.latest(this.monitor(id), options.refresh);
    const items =
      kind === 'slow'
        ? snapshot.statements.slow
        : kind === 'long-running'
          ? snapshot.longRunning
          : kind === 'blocking'
            ? snapshot.blocking
            : snapshot.idleInTransaction;
    return { kind, collectedAt: snapshot.collectedAt, items };
  }

  maintenanceTasks(id: string): Promise<MaintenanceTaskView[]> {
    return this.maintenance.tasks(this.target(this.monitor(id)));
  }

  maintenanceRuns(id: string, filter: { task?: string; limit?: number } = {}): Promise<MaintenanceRunView[]> {
    this.monitor(id);
    return this.maintenance.runs(id, filter);
  }

  maintenanceRun(id: string, runId: string): Promise<MaintenanceRunView> {
    this.monitor(id);
    return this.maintenance.run(id, runId);
  }

  /** Starts a run on demand; `done` resolves with the finished run. */
  runMaintenance(
    id: string,
    task: MaintenanceTaskName,
    actor: string,
  ): { run: Promise<MaintenanceRunView>; done: Promise<MaintenanceRunView> } {
    const started = this.maintenance.start(this.target(this.monitor(id)), task, 'manual', actor);
    started.done.catch(() => {});
    return started;
  }

  backends(id: string): Promise<ActivityRow[]> {
    return this.backendActions.list(this.monitor(id).connection);
  }

  backendAction(id: string, request: BackendRequest): Promise<BackendActionResult> {
    return this.backendActions.act(id, this.monitor(id).connection, request);
  }

  backendAudit(id: string, limit?: number): Promise<BackendAuditEntry[]> {
    this.monitor(id);
    return this.backendActions.auditLog(id, limit);
  }

  private monitor(id: string): Monitor {
    const monitor = this.monitors.get(id);
    if (!monitor)
      throw new NotFoundError(
        `no database "${id}"; configured: ${this.ids().join(', ') || 'none (add a databases: section to the config)'}`,
      );
    return monitor;
  }

  private async latest(monitor: Monitor, refresh = false): Promise<DatabaseSnapshot> {
    if (!refresh && monitor.snapshot) return monitor.snapshot;
    return this.collectMonitor(monitor);
  }

  private advise(monitor: Monitor, snapshot: DatabaseSnapshot): HealthReport {
    let user: string | null = null;
    try {
      user = decodeURIComponent(new URL(monitor.config.url).username) || null;
    } catch {
      // the URL was validated at load; no user means the server default
    }
    return advise({
      database: monitor.id,
      snapshot,
      thresholds: monitor.config.thresholds,
      role: monitor.config.role,
      user,
      now: this.now(),
    });
  }

  private target(monitor: Monitor): MaintenanceTarget {
    return {
      database: monitor.id,
      config: monitor.config,
      connection: monitor.connection,
      collect: () => this.collectMonitor(monitor),
      advise: (snapshot) => this.advise(monitor, snapshot),
      series: this.options.series,
    };
  }

  private summary(monitor: Monitor): DatabaseSummary {
    const s = monitor.snapshot;
    const report = s ? this.advise(monitor, s) : undefined;
    return {
      id: monitor.id,
      role: monitor.config.role,
      service: monitor.config.service ?? null,
      tags: monitor.config.tags,
      url: redactUrl(monitor.config.url),
      up: s ? s.up : null,
      error: s?.error ?? null,
      inRecovery: s?.up ? s.inRecovery : null,
      serverVersion: s?.serverVersion ?? null,
      sizeBytes: s?.sizeBytes ?? null,
      connections: s?.up ? { total: s.connections.total, max: s.connections.max } : null,
      lastCollectedAt: s?.collectedAt ?? null,
      nextCollectAt: monitor.nextCollectAt,
      findings: report ? report.counts : null,
    };
  }

  private begin(monitor: Monitor): void {
    const tick = async () => {
      if (monitor.stopped) return;
      await this.collectMonitor(monitor).catch(() => {});
      if (monitor.stopped) return;
      monitor.nextCollectAt = this.now() + monitor.config.collectInterval;
      monitor.timer = setTimeout(() => void tick(), monitor.config.collectInterval);
      monitor.timer.unref();
    };
    void tick();
    this.maintenance.schedule(() => this.target(this.monitors.get(monitor.id) ?? monitor));
  }

  private retire(monitor: Monitor): void {
    monitor.stopped = true;
    clearTimeout(monitor.timer);
    this.maintenance.unschedule(monitor.id);
    // A collection or maintenance run in progress finishes on its pool first.
    void Promise.allSettled([monitor.collecting, this.maintenance.idle(monitor.id)]).finally(() =>
      monitor.connection.close(),
    );
  }

  private collectMonitor(monitor: Monitor): Promise<DatabaseSnapshot> {
    if (monitor.collecting) return monitor.collecting;
    const collect = async (): Promise<DatabaseSnapshot> => {
      // Without an await first, a path that never awaits (monitor.problem) would run `finally` before
      // `collecting` is set, and the settled promise would then be handed out forever.
      await null;
      try {
        const snapshot = monitor.problem
          ? { ...emptySnapshot(monitor.id, this.now()), error: monitor.problem }
          : await collectSnapshot(monitor.connection, {
              database: monitor.id,
              thresholds: monitor.config.thresholds,
              now: this.now,
            });
        this.record(monitor, snapshot);
        return snapshot;
      } finally {
        if (monitor.collecting === collecting) monitor.collecting = undefined;
      }
    };
    const collecting = collect();
    monitor.collecting = collecting;
    return collecting;
  }

  private record(monitor: Monitor, snapshot: DatabaseSnapshot): void {
    const previous = monitor.snapshot;
    monitor.snapshot = snapshot;
    const { logger } = this.options;
    if (!snapshot.up && previous?.up !== false)
      logger.error(
        { database: monitor.id, url: monitor.connection.redactedUrl },
        `database ${monitor.id} unreachable: ${snapshot.error}`,
      );
    else if (snapshot.up && previous?.up === false)
      logger.info({ database: monitor.id }, `database ${monitor.id} reachable again`);
    if (monitor.stopped || !this.options.sink) return;
    const labels: Record<string, string> = { database: monitor.id };
    if (monitor.config.service) labels.service = monitor.config.service;
    try {
      this.options.sink.ingest(
        snapshotSamples(snapshot, labels, { largestTables: monitor.config.largestTables }),
      );
    } catch (error) {
      // Only while the metric store starts or stops; the snapshot itself is kept either way.
      logger.debug({ err: error, database: monitor.id }, 'database samples not stored');
    }
  }
}
