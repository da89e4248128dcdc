// The composition root: config, store, checks, HTTP server, reload and graceful shutdown.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Logger } from 'pino';
import { loadConfigFile, formatDiagnostic, type Diagnostic } from '../config/load.js';
import type { OpsbookConfig } from '../config/schema.js';
import { CheckService } from '../checks/check.service.js';
import { wantsProbeThread } from '../checks/probe-executor.js';
import { CheckQueries } from '../checks/check.queries.js';
import { backfillRollups } from '../checks/rollup-backfill.js';
import { openStore, type Store } from '../storage/db.js';
import { migrate } from '../storage/migrate.js';
import { EventRepository, type NewEvent } from '../storage/event.repository.js';
import { ResultRepository } from '../storage/result.repository.js';
import { createApp } from '../http/app.js';
import { AlertService } from '../alerts/alert.service.js';
import { checkSamples } from '../checks/check-metrics.js';
import { MetricStore } from '../telemetry/metric-store.js';
import { Scraper } from '../telemetry/scraper.js';
import { metricsApi, type MetricsApi } from '../telemetry/metrics-api.js';
import { Outbox } from '../notify/outbox.js';
import { OutboxQueries } from '../notify/outbox.queries.js';
import { Dispatcher } from '../notify/dispatcher.js';
import { OutboxIncidentNotifier, type IncidentNoticesConfig } from '../notify/incident-notices.js';
import { NotificationTimeline } from '../incidents/notification-timeline.js';
import { RunbookTimeline } from '../incidents/runbook-timeline.js';
import { IncidentService } from '../incidents/incident.service.js';
import { startOncall, type Oncall } from '../oncall/oncall.js';
import { IncidentRepository } from '../storage/incident.repository.js';
import type { Incident } from '../incidents/incident.types.js';
import { PostmortemService } from '../incidents/postmortem.service.js';
import { PostmortemRepository } from '../storage/postmortem.repository.js';
import { createRunbooks } from '../runbooks/runbooks.js';
import { DatabaseService } from '../postgres/database.service.js';
import type { RunbookEngine } from '../runbooks/runbook-engine.js';
import { PitrService } from '../postgres/pitr.service.js';
import { DrillService } from '../postgres/drill.service.js';
import type { BackupApi } from '../postgres/backup.types.js';
import { BackupService } from '../postgres/backup.service.js';
import { DeploymentService } from '../deployments/deployment.service.js';
import { alertHistoryWindow } from '../deployments/deployment-alerts.js';
import { NotFoundError, UnavailableError } from '../errors.js';
import { Lifecycle } from './lifecycle.js';
import { EventBus } from './event-bus.js';
import { SelfMetrics } from './self-metrics.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';
import { reconfigureAuth, startAuth, type AuthParts } from './auth-parts.js';

export class ConfigInvalidError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`the config has ${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'}`);
  }
}

export interface OpsbookOptions {
  configFile: string;
  logger?: Logger;
  /** Overrides server.port (0 picks a free port). */
  port?: number;
  host?: string;
  /** Watch the config file and reload on change (SIGHUP always reloads). */
  watchConfig?: boolean;
  env?: NodeJS.ProcessEnv;
}

const HOUR = 3_600_000;

export class Opsbook {
  readonly lifecycle = new Lifecycle();
  readonly metrics = new SelfMetrics();
  /** Change notices for live clients (GET /api/v1/stream). */
  readonly events = new EventBus();
  readonly logger: Logger;
  private config!: OpsbookConfig;
  private baseDir = '.';
  private configHash = '';
  private store: Store | undefined;
  private checks: CheckService | undefined;
  private queries: CheckQueries | undefined;
  private metricStore: MetricStore | undefined;
  private scraper: Scraper | undefined;
  private alerts: AlertService | undefined;
  private outbox: Outbox | undefined;
  /** Pages and status updates through the outbox (escalation pages through it). */
  private incidentNotifier: OutboxIncidentNotifier | undefined;
  private runbookTimeline: RunbookTimeline | undefined;
  private dispatcher: Dispatcher | undefined;
  private metricsApi: MetricsApi | undefined;
  private notificationQueries: OutboxQueries | undefined;
  private incidents: IncidentService | undefined;
  private oncall: Oncall | undefined;
  private postmortems: PostmortemService | undefined;
  private runbooks: RunbookEngine | undefined;
  private databases: DatabaseService | undefined;
  private pitr: PitrService | undefined;
  private drills: DrillService | undefined;
  private deployments: DeploymentService | undefined;
  /** Backups and restores (the BackupApi drills use); undefined until the store is up. */
  backups: BackupService | undefined;
  private access: AuthParts | undefined;
  private server: ServerType | undefined;
  private watcher: FSWatcher | undefined;
  private timers: NodeJS.Timeout[] = [];
  private connecting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly shutdownSignal = new AbortController();
  port = 0;

  constructor(private readonly options: OpsbookOptions) {
    this.logger = options.logger ?? createLogger();
  }

  /** Loads the config (throws ConfigInvalidError), starts serving, and connects the store in the background. */
  async start(): Promise<void> {
    const loaded = loadConfigFile(this.options.configFile, this.options.env);
    if (!loaded.ok) throw new ConfigInvalidError(loaded.diagnostics);
    this.config = loaded.config;
    this.baseDir = loaded.baseDir;
    this.configHash = hashFile(this.options.configFile);
    this.lifecycle.configLoaded = true;

    await this.listen();
    // A failure after the store connected (a broken migration, say) leaves startup DOWN, so a
    // Kubernetes startup probe restarts the pod; it must not crash the process with an unhandled rejection.
    this.connecting = this.connect().catch((error: unknown) => {
      this.lifecycle.migrated = false;
      this.lifecycle.storeError = `start failed: ${(error as Error).message}`;
      this.logger.fatal({ err: error }, 'Opsbook could not finish starting; startup and readiness stay DOWN');
    });
    if (this.options.watchConfig) this.watchConfig();
  }

  /** Resolves once the store is connected, migrated and the checks are running. */
  async ready(): Promise<void> {
    await this.connecting;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A domain service once the store is up, else a 503 telling the caller to retry. */
  private ready$<T>(service: T | undefined): T {
    if (!service || !this.lifecycle.storeUp)
      throw new UnavailableError(
        `Opsbook is starting or its store is unreachable (${this.lifecycle.storeError ?? 'connecting'}); retry shortly`,
      );
    return service;
  }

  private get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  private get externalUrl(): string {
    return this.config.notifications.externalUrl ?? `http://localhost:${this.port}`;
  }

  private async listen(): Promise<void> {
    const app = createApp({
      lifecycle: this.lifecycle,
      logger: this.logger,
      selfMetrics: this.metrics,
      version: VERSION,
      events: this.events,
      queries: () => {
        if (!this.queries || !this.lifecycle.storeUp)
          throw new UnavailableError(
            `the store is not reachable yet (${this.lifecycle.storeError ?? 'connecting'}); retry shortly`,
          );
        return this.queries;
      },
      alerts: () => this.ready$(this.alerts),
      series: () => this.ready$(this.metricStore),
      metrics: () => this.ready$(this.metricsApi),
      notifications: () => this.ready$(this.notificationQueries),
      incidents: () => this.ready$(this.incidents),
      oncall: () => this.ready$(this.oncall?.schedules),
      escalations: () => this.ready$(this.oncall?.escalations),
      incidentNotifier: () => this.ready$(this.incidentNotifier),
      postmortems: () => this.ready$(this.postmortems),
      runbooks: () => this.ready$(this.runbooks),
      databases: () => this.ready$(this.databases),
      pitr: () => this.ready$(this.pitr),
      drills: () => this.ready$(this.drills),
      backups: () => this.ready$(this.backups),
      deployments: () => this.ready$(this.deployments),
      auth: () => this.ready$(this.access?.auth),
      users: () => this.ready$(this.access?.users),
      audit: () => this.ready$(this.access?.audit),
      oidc: () => this.access?.oidc,
      runCheck: async (id, signal) => {
        if (!this.checks) throw new UnavailableError('checks are not running yet; retry shortly');
        return this.checks.runNow(id, signal);
      },
    });
    const host = this.options.host ?? this.config.server.host;
    const port = this.options.port ?? this.config.server.port;
    await new Promise<void>((resolve, reject) => {
      const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
        this.port = info.port;
        resolve();
      });
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(
                `port ${port} is already in use; stop the other process or set server.port (or --port)`,
              )
            : error,
        ),
      );
      this.server = server;
    });
    this.logger.info({ url: `http://${host}:${this.port}` }, 'serving the API');
  }

  /** Connects and migrates with exponential backoff; readiness stays DOWN until it succeeds. */
  private async connect(): Promise<void> {
    const { storage } = this.config;
    let delay = 500;
    for (let attempt = 1; !this.lifecycle.shuttingDown; attempt++) {
      let store: Store | undefined;
      try {
        store = await openStore({
          url: storage.url,
          password: storage.password ?? readSecretFile(storage.passwordFile, this.baseDir),
        });
        await store.ping();
        const applied = await migrate(store);
        if (applied.length > 0) this.logger.info({ migrations: applied }, 'migrations applied');
        this.store = store;
        this.lifecycle.migrated = true;
        this.lifecycle.storeUp = true;
        this.lifecycle.storeError = undefined;
        this.metrics.storeUp.set(1);
        this.logger.info({ store: store.location, engine: store.engine }, 'store ready');
        break;
      } catch (error) {
        await store?.close().catch(() => {});
        const message = describeStoreError(error);
        this.lifecycle.storeError = message;
        this.metrics.storeUp.set(0);
        this.logger.error(
          { attempt, retryInMs: delay },
          `cannot open the store at ${redact(storage.url)}: ${message}; retrying in ${Math.round(delay / 1000)} s (readiness is DOWN until it answers)`,
        );
        await sleep(delay, this.shutdownSignal.signal);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    const store = this.store;
    if (!store || this.lifecycle.shuttingDown) return;
    // First: every API route but sign-in and the probes answers 503 until access control is up.
    this.access = await startAuth(store, this.config.auth, this.env, this.baseDir, this.logger);
    this.lifecycle.accessReady = true;
    await this.startMetrics(store);
    await this.startChecks(store);
    // After the metric store and before alerting, so the first rule evaluation sees database metrics.
    await this.optional('databases', () => this.startDatabases(store));
    // Runbooks before alerting, so an incident opened by the first evaluation finds them.
    await this.startRunbooks(store);
    await this.startAlerting(store);
    this.startDeployments(store);
    await this.optional('backups', () => this.startBackups(store));
    await this.optional('pitr', () => this.startPitr(store));
    // Drills restore through the backup service, so they start after it.
    const backups = this.backups;
    if (backups) await this.optional('drills', () => this.startDrills(store, backups));
  }

  /**
   * Starts a part that monitoring does not depend on: if it fails (a database URL, a backup folder),
   * it is logged and its routes answer 503, while checks, alerts and incidents keep running.
   */
  private async optional(part: string, start: () => Promise<void>): Promise<void> {
    try {
      await start();
    } catch (error) {
      this.logger.error(
        { err: error, part },
        `${part} did not start: ${(error as Error).message}; the rest of Opsbook runs, fix the config and restart`,
      );
      await this.event({
        kind: 'opsbook.part_failed',
        severity: 'error',
        message: `${part} did not start: ${(error as Error).message}`,
        data: { part },
      });
    }
  }

  /** Deployments from pipelines and people; alerts in each one's watch window come from alerting. */
  private startDeployments(store: Store): void {
    this.deployments = new DeploymentService({
      store,
      services: () => this.config.services,
      watchForMs: () => this.config.deployments.watchFor,
      alerts: alertHistoryWindow(() => this.alerts),
      onChange: (change) => this.events.publish({ type: 'deployment', ...change }),
    });
  }

  /** Disaster-recovery drills (guide 9.3): scheduled per database, reports under <backups.dir>/drills. */
  private async startDrills(store: Store, backups: BackupApi): Promise<void> {
    const drills = new DrillService({
      store,
      backups,
      databases: this.config.databases,
      baseDir: this.baseDir,
      reportDir: resolve(this.baseDir, this.config.backups.dir, 'drills'),
      logger: this.logger,
      metrics: this.metricStore,
      onChange: (change) => this.events.publish({ type: 'drill', ...change }),
    });
    await drills.start();
    this.drills = drills;
  }

  /**
   * An incident opened from an alert that matches a runbook's triggers: its investigation steps run at
   * once, and each step's outcome and evidence land on the incident's timeline before anyone acknowledges.
   */
  private async runRunbooksFor(incidentId: string, labels: Record<string, string>): Promise<void> {
    const engine = this.runbooks;
    const incidents = this.incidents;
    if (!engine || !incidents) return;
    for (const runbook of engine.runbooksFor(labels)) {
      try {
        // The run's start, steps and end reach the timeline through the engine's observer (RunbookTimeline).
        await engine.start({
          runbookId: runbook.id,
          trigger: { incident: incidentId, alert: labels },
          actor: 'opsbook',
        });
      } catch (error) {
        this.logger.error(
          { err: error, incident: incidentId, runbook: runbook.id },
          'runbook did not start for the incident',
        );
      }
    }
  }

  private async startRunbooks(store: Store): Promise<void> {
    const { engine, diagnostics } = createRunbooks({
      config: this.config.runbooks,
      baseDir: this.baseDir,
      store,
      checks: {
        runNow: async (id, signal) => {
          // "service/check" runs one check; a bare service name runs all of its checks.
          const outcome = id.includes('/')
            ? await this.checks!.runNow(id, signal)
            : await this.checks!.runService(id, signal);
          if (!outcome)
            throw new NotFoundError(
              `no check or service "${id}"; runbook check steps name a configured service/check or service`,
            );
          return outcome;
        },
      },
      metrics: this.metricStore!,
      databaseConfigs: () => this.config.databases,
    });
    // A broken runbook file is reported and left out; the others still load.
    for (const d of diagnostics)
      this.logger.error({ path: d.path }, `runbook rejected: ${formatDiagnostic(d)}`);
    // Runs started for an incident show on its timeline; changes before incidents start are buffered.
    this.runbookTimeline = new RunbookTimeline(this.logger);
    const timeline = this.runbookTimeline;
    engine.observe((change) => {
      timeline.observe(change);
      const incident = change.run.trigger.incident;
      this.events.publish({
        type: 'runbook',
        id: change.run.id,
        status: change.run.status,
        incident: typeof incident === 'string' ? incident : null,
      });
    });
    await engine.resume();
    engine.startSweeper(10_000);
    this.runbooks = engine;
    this.logger.info({ runbooks: engine.runbooks.size }, 'runbooks loaded');
  }

  /** pgBackRest stanzas of the databases with pitr: their configs, backup schedules and restores. */
  private async startPitr(store: Store): Promise<void> {
    const pitr = new PitrService({ store, logger: this.logger, metrics: this.metricStore });
    await pitr.start(this.config.databases, this.baseDir);
    this.pitr = pitr;
  }

  /** Collectors, advisor, maintenance schedules and backend actions of the `databases:` section. */
  private async startDatabases(store: Store): Promise<void> {
    const databases = new DatabaseService({
      store,
      logger: this.logger,
      sink: this.metricStore,
      series: this.metricStore,
    });
    databases.apply(this.config.databases, this.baseDir);
    await databases.start();
    this.databases = databases;
    if (this.config.databases.length > 0)
      this.logger.info({ databases: databases.ids() }, 'database collectors running');
  }

  /** Scheduled pg_dump backups of the `databases:`, their off-site copies, retention and restores. */
  private async startBackups(store: Store): Promise<void> {
    const backups = new BackupService({
      store,
      logger: this.logger,
      databases: this.config.databases,
      backups: this.config.backups,
      baseDir: this.baseDir,
      metrics: this.metricStore,
      onChange: (change) => this.events.publish({ type: 'backup', ...change }),
    });
    await backups.start();
    this.backups = backups;
  }

  private async startMetrics(store: Store): Promise<void> {
    const metricStore = new MetricStore({
      store,
      logger: this.logger,
      retention: this.config.metrics.retention,
    });
    await metricStore.start();
    const scraper = new Scraper({ sink: metricStore, logger: this.logger });
    scraper.apply(this.config.metrics.scrape);
    scraper.start();
    this.metricStore = metricStore;
    this.scraper = scraper;
    this.metricsApi = metricsApi(metricStore, scraper);
  }

  /** Rules evaluate over the metric store; changes flow to the dispatcher, then the durable outbox. */
  private async startAlerting(store: Store): Promise<void> {
    const { notifications } = this.config;
    // Deliveries about an incident, or about alerts linked to one, become notification timeline entries.
    const timeline = new NotificationTimeline({ incidents: () => this.incidents, logger: this.logger });
    const outbox = new Outbox({
      store,
      logger: this.logger,
      receivers: notifications.receivers,
      onSettled: (event) => timeline.settled(event),
    });
    this.incidentNotifier = new OutboxIncidentNotifier({
      store,
      queue: timeline.watch(outbox),
      config: this.incidentNoticesConfig(),
      logger: this.logger,
    });
    const dispatcher = new Dispatcher({
      store,
      queue: timeline.watch(outbox),
      route: notifications.route,
      receivers: notifications.receivers,
      externalUrl: this.externalUrl,
      logger: this.logger,
    });
    const incidents: IncidentService = new IncidentService({
      repository: new IncidentRepository(store.db),
      config: this.config.incidents,
      logger: this.logger,
      onOpened: (incident, labels) => void this.runRunbooksFor(incident.id, labels),
      onChanged: (incident, opened) => {
        this.incidentChanged(incident);
        this.events.publish({ type: 'incident', id: incident.id, stage: incident.stage, opened });
        this.oncall?.escalations.incidentChanged(incident, opened);
        // The draft is there as soon as the incident reaches post-incident, not at the next sweep.
        if (incident.stage === 'post-incident')
          void postmortems
            .draftResolved()
            .catch((error: unknown) => this.logger.error({ err: error }, 'post-mortem draft failed'));
      },
      onBreach: (event) => this.oncall?.escalations.breached(event),
      canClose: (incident): Promise<void> => postmortems.canClose(incident),
    });
    const postmortems: PostmortemService = new PostmortemService({
      repository: new PostmortemRepository(store.db),
      incidents,
      config: this.config.incidents,
      logger: this.logger,
    });
    await incidents.load();
    // Before incidents.start(), so a breach found by its first check still escalates.
    this.oncall = await startOncall({
      store,
      config: this.config.oncall,
      incidents,
      notifier: this.incidentNotifier,
      logger: this.logger,
    });
    incidents.start();
    postmortems.start();
    this.incidents = incidents;
    this.runbookTimeline?.attach(incidents);
    this.postmortems = postmortems;
    const alerts = new AlertService({
      store,
      source: this.metricStore!,
      logger: this.logger,
      // Each alert change goes to the notification pipeline and to incidents (a critical alert opens one).
      sink: {
        update: (changes) => {
          dispatcher.update(changes);
          incidents.update(changes);
          for (const a of changes)
            this.events.publish({
              type: 'alert',
              id: a.fingerprint,
              status: a.status,
              service: a.labels.service ?? null,
            });
        },
      },
      // The sink hears firing and resolved; the console also shows pending alerts come and go.
      onTransition: (change) => {
        if (change.state === 'pending' || change.state === 'inactive')
          this.events.publish({
            type: 'alert',
            id: change.fingerprint,
            status: change.state,
            service: change.service,
          });
      },
      externalUrl: this.externalUrl,
    });
    await alerts.load();
    await alerts.applyConfig(this.config.alerting);
    await outbox.start();
    await dispatcher.start();
    alerts.start();
    this.outbox = outbox;
    this.dispatcher = dispatcher;
    this.alerts = alerts;
    this.notificationQueries = new OutboxQueries(store);
    this.logger.info(
      { rules: alerts.ruleList().length, receivers: notifications.receivers.length },
      'alerting running',
    );
  }

  private incidentNoticesConfig(): IncidentNoticesConfig {
    return {
      receivers: this.config.notifications.receivers.map((r) => r.name),
      channels: this.config.incidents.channels,
      externalUrl: this.externalUrl,
    };
  }

  /** After every change of an incident: receivers that were paged hear of its acknowledge and resolve. */
  private incidentChanged(incident: Incident): void {
    this.incidentNotifier
      ?.followUp(incident)
      .catch((error: unknown) =>
        this.logger.error({ err: error, incident: incident.id }, 'page follow-up not queued'),
      );
  }

  private async startChecks(store: Store): Promise<void> {
    const checks = new CheckService({
      store,
      logger: this.logger,
      concurrency: this.config.scheduler.concurrency,
      probeThread: wantsProbeThread(
        this.config.scheduler.probeThread,
        this.config.services.reduce((count, service) => count + service.checks.length, 0),
      ),
      onRun: (definition, outcome, state, at) => {
        try {
          this.metricStore?.ingest(checkSamples(definition, outcome, state, at));
        } catch (error) {
          // Only during start and stop; the check result itself is recorded either way.
          this.logger.debug({ err: error }, 'check sample not stored as a metric');
        }
        this.metrics.checksRun.inc({ kind: definition.probe.kind, status: outcome.status });
        this.metrics.probeDuration.observe({ kind: definition.probe.kind }, outcome.latencyMs / 1000);
      },
      onLag: (lag) => this.metrics.scheduleLag.observe(lag / 1000),
      // Announced once written, so a client refetching on the notice reads the new state.
      onEvent: (event) => {
        const to = (JSON.parse(event.data) as { to?: string }).to;
        if (!event.check_id || !event.service_id || !to) return;
        const notice = {
          type: 'check' as const,
          id: event.check_id,
          service: event.service_id,
          status: to as 'unknown' | 'healthy' | 'unhealthy',
        };
        void checks.flush().then(() => this.events.publish(notice));
      },
    });
    this.checks = checks;
    const backfilled = await backfillRollups(store, checks.rollups, Date.now(), this.config.retention);
    if (backfilled.minutes + backfilled.hours > 0)
      this.logger.info(backfilled, 'rebuilt rollups from stored results');
    await checks.loadStoredState();
    const summary = await checks.apply(this.config, this.baseDir);
    this.queries = new CheckQueries(store, checks.rollups, Date.now, (id) => checks.state(id));
    checks.start();
    await this.event({
      kind: 'opsbook.started',
      severity: 'info',
      message: `Opsbook ${VERSION} started with ${checks.checkCount} checks`,
      data: summary,
    });
    this.logger.info(
      { checks: checks.checkCount, ...summary, added: summary.added.length },
      'checks running',
    );

    this.every(5_000, () => this.watchStore(store));
    this.every(60_000, () => this.updateGauges());
    this.every(HOUR, () => this.purge(store));
    setTimeout(() => void this.purge(store), 60_000).unref();
  }

  private every(ms: number, task: () => Promise<void> | void): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async watchStore(store: Store): Promise<void> {
    try {
      await store.ping();
      if (!this.lifecycle.storeUp) this.logger.info('store reachable again');
      this.lifecycle.storeUp = true;
      this.lifecycle.storeError = undefined;
      this.metrics.storeUp.set(1);
    } catch (error) {
      if (this.lifecycle.storeUp) this.logger.error(`store unreachable: ${describeStoreError(error)}`);
      this.lifecycle.storeUp = false;
      this.lifecycle.storeError = describeStoreError(error);
      this.metrics.storeUp.set(0);
    }
  }

  private async updateGauges(): Promise<void> {
    if (!this.queries || !this.lifecycle.storeUp) return;
    const services = await this.queries.services().catch(() => []);
    for (const status of ['healthy', 'unhealthy', 'unknown'] as const)
      this.metrics.checks.set(
        { status },
        services.reduce((n, s) => n + s.checks[status], 0),
      );
  }

  private async purge(store: Store): Promise<void> {
    const now = Date.now();
    const { retention } = this.config;
    try {
      const removed =
        (await new ResultRepository(store.db).purge({
          results: now - retention.results,
          minuteRollups: now - retention.minuteRollups,
          hourRollups: now - retention.rollups,
        })) +
        (await new EventRepository(store.db).purge(now - retention.events)) +
        ((await this.alerts?.purge(now - retention.events)) ?? 0) +
        ((await this.outbox?.purge(now - retention.notifications)) ?? 0) +
        ((await this.access?.audit.purge(this.config.auth.auditRetention)) ?? 0);
      await this.access?.auth.purgeSessions();
      if (removed > 0) this.logger.info({ removed }, 'retention: removed expired results and rollups');
    } catch (error) {
      this.logger.error({ err: error }, 'retention purge failed; will retry next hour');
    }
  }

  /** Applies a changed config file; an invalid one is rejected and the running config stays. */
  async reload(): Promise<{ applied: boolean; diagnostics: Diagnostic[] }> {
    try {
      return await this.applyReload();
    } catch (error) {
      // A part that fails to take the new config must not take the process down (SIGHUP, file watch).
      const message = `config reload failed part way: ${(error as Error).message}`;
      this.logger.error({ err: error }, message);
      await this.event({ kind: 'config.rejected', severity: 'error', message, data: {} });
      return {
        applied: false,
        diagnostics: [{ file: this.options.configFile, line: 0, column: 0, path: '', message }],
      };
    }
  }

  private async applyReload(): Promise<{ applied: boolean; diagnostics: Diagnostic[] }> {
    const loaded = loadConfigFile(this.options.configFile, this.options.env);
    if (!loaded.ok) {
      for (const d of loaded.diagnostics)
        this.logger.error({ path: d.path }, `config rejected: ${formatDiagnostic(d)}`);
      await this.event({
        kind: 'config.rejected',
        severity: 'error',
        message: `config reload rejected (${loaded.diagnostics.length} problems); the running config stays`,
        data: { diagnostics: loaded.diagnostics },
      });
      return { applied: false, diagnostics: loaded.diagnostics };
    }
    const restartNeeded: string[] = (['server', 'storage', 'scheduler'] as const).filter(
      (key) => JSON.stringify(loaded.config[key]) !== JSON.stringify(this.config[key]),
    );
    if (loaded.config.alerting.evaluationInterval !== this.config.alerting.evaluationInterval)
      restartNeeded.push('alerting.evaluationInterval');
    if (JSON.stringify(loaded.config.metrics.retention) !== JSON.stringify(this.config.metrics.retention))
      restartNeeded.push('metrics.retention');
    if (restartNeeded.length > 0)
      this.logger.warn(
        { sections: restartNeeded },
        `changes to ${restartNeeded.join(', ')} take effect after a restart`,
      );
    this.config = {
      ...loaded.config,
      server: this.config.server,
      storage: this.config.storage,
      scheduler: this.config.scheduler,
    };
    this.baseDir = loaded.baseDir;
    this.configHash = hashFile(this.options.configFile);
    if (this.access) reconfigureAuth(this.access, this.config.auth, this.env, this.baseDir);
    this.scraper?.apply(this.config.metrics.scrape);
    await this.alerts?.applyConfig(this.config.alerting);
    this.dispatcher?.apply(
      this.config.notifications.route,
      this.config.notifications.receivers,
      this.externalUrl,
    );
    this.outbox?.setReceivers(this.config.notifications.receivers);
    this.incidents?.configure(this.config.incidents);
    this.oncall?.configure(this.config.oncall);
    if (this.databases) {
      const changes = this.databases.apply(this.config.databases, this.baseDir);
      if (changes.added.length + changes.changed.length + changes.removed.length > 0)
        this.logger.info(changes, 'databases reconfigured');
    }
    this.pitr?.configure(this.config.databases, this.baseDir);
    await this.backups?.apply(this.config.databases, this.config.backups, this.baseDir);
    await this.drills?.configure(
      this.config.databases,
      this.baseDir,
      resolve(this.baseDir, this.config.backups.dir, 'drills'),
    );
    this.incidentNotifier?.configure(this.incidentNoticesConfig());
    this.postmortems?.configure(this.config.incidents);
    if (this.checks) {
      const summary = await this.checks.apply(this.config, this.baseDir);
      const message = `config reloaded: ${summary.added.length} added, ${summary.changed.length} changed, ${summary.removed.length} removed, ${summary.unchanged} unchanged`;
      this.logger.info(summary, message);
      await this.event({ kind: 'config.reloaded', severity: 'info', message, data: summary });
    }
    return { applied: true, diagnostics: [] };
  }

  private watchConfig(): void {
    const file = this.options.configFile;
    // Watch the directory: editors often replace the file, which ends a watch on the file itself.
    this.watcher = watch(dirname(file), (_event, name) => {
      if (name !== basename(file)) return;
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => {
        let hash: string;
        try {
          hash = hashFile(file);
        } catch {
          return;
        }
        if (hash === this.configHash) return;
        void this.reload();
      }, 300);
    });
  }

  private async event(
    event: Omit<NewEvent, 'at' | 'service_id' | 'check_id' | 'data'> & { data: unknown },
  ): Promise<void> {
    if (!this.store || !this.lifecycle.storeUp) return;
    try {
      await new EventRepository(this.store.db).append([
        { ...event, at: Date.now(), service_id: null, check_id: null, data: JSON.stringify(event.data) },
      ]);
    } catch (error) {
      this.logger.error({ err: error }, 'could not record event');
    }
  }

  /** Graceful stop: readiness DOWN first, then probes cancelled, results flushed, store closed. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.lifecycle.shuttingDown = true;
    this.shutdownSignal.abort();
    this.logger.info('shutting down: readiness is DOWN');
    const delay = this.config?.server.shutdownDelaySeconds ?? 0;
    if (delay > 0) await sleep(delay * 1000);
    this.watcher?.close();
    clearTimeout(this.reloadTimer);
    for (const timer of this.timers) clearInterval(timer);
    await this.connecting?.catch(() => {});
    // Upstream first, so nothing produces work for a part that has already stopped.
    await this.alerts?.stop();
    // Before the backups it restores through; a running drill is cancelled and its scratch dropped.
    await this.drills?.stop();
    // A running backup or restore is cancelled; its partial folder or staging database is removed.
    await this.backups?.stop();
    await this.pitr?.stop();
    await this.runbooks?.close();
    await this.databases?.stop();
    await this.postmortems?.stop();
    await this.oncall?.stop();
    await this.incidents?.stop();
    await this.dispatcher?.stop();
    await this.outbox?.stop();
    await this.scraper?.stop();
    await this.checks?.stop();
    await this.metricStore?.stop();
    await this.event({ kind: 'opsbook.stopped', severity: 'info', message: 'Opsbook stopped', data: {} });
    // Open event streams would otherwise keep the server from closing.
    this.events.close();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      (this.server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      setTimeout(
        () => (this.server as { closeAllConnections?: () => void }).closeAllConnections?.(),
        2_000,
      ).unref();
    });
    await this.store?.close();
    this.lifecycle.storeUp = false;
    this.logger.info('stopped');
  }
}

function hashFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function readSecretFile(file: string | undefined, baseDir: string): string | undefined {
  if (!file) return undefined;
  return readFileSync(resolve(baseDir, file), 'utf8').trim();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function redact(url: string): string {
  return url.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
}

function describeStoreError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { errors?: Error[] };
  if (e.errors?.length) return e.errors.map((inner) => inner.message).join('; ');
  return e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
}
