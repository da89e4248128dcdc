// Scheduled maintenance per database (croner, in the configured time zone) and runs on demand. Each
// run is a row: started as running, finished with its duration, outcome and output.
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { MaintenanceRunView, MaintenanceTaskName, MaintenanceTaskView } from '@opsbook/contracts';
import { ConflictError, NotFoundError } from '../errors.js';
import type { MaintenanceRunRow, PostgresRepository } from '../storage/postgres.repository.js';
import { MAINTENANCE_TASKS, defaultSchedule, type MaintenanceTask } from './maintenance.schema.js';
import { TASKS, type TaskContext } from './maintenance.tasks.js';

/** What the service needs from a monitored database to run its tasks. */
export type MaintenanceTarget = Omit<TaskContext, 'progress' | 'signal' | 'now'>;

interface Running {
  id: string;
  progress: MaintenanceRunView['progress'];
  controller: AbortController;
  done?: Promise<MaintenanceRunView>;
}

export interface MaintenanceServiceOptions {
  repository: PostgresRepository;
  logger: Logger;
  now?: () => number;
}

export class MaintenanceService {
  private readonly crons = new Map<string, Cron[]>();
  private readonly running = new Map<string, Running>();
  private readonly now: () => number;

  constructor(private readonly options: MaintenanceServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** After a restart: runs left "running" were interrupted; they are failed, never resumed. */
  async recover(): Promise<void> {
    const failed = await this.options.repository.failInterrupted(this.now());
    if (failed > 0)
      this.options.logger.warn(
        { runs: failed },
        'maintenance runs interrupted by the last stop marked failed',
      );
  }

  /** (Re)creates the schedules of one database; `target()` gives its current connection at run time. */
  schedule(target: () => MaintenanceTarget): void {
    const { database, config } = target();
    this.unschedule(database);
    const { maintenance } = config;
    if (!maintenance.enabled) return;
    const crons: Cron[] = [];
    for (const task of MAINTENANCE_TASKS) {
      if (!maintenance.tasks[task].enabled) continue;
      crons.push(
        new Cron(
          scheduleOf(target().config, task),
          { timezone: maintenance.timezone, unref: true, name: `${database}/${task}` },
          () => {
            if (this.running.has(key(database, task))) {
              this.options.logger.warn(
                { database, task },
                'scheduled maintenance skipped: the previous run is still going',
              );
              return;
            }
            // start() logs a run that fails to start or to record its outcome.
            this.start(target(), task, 'schedule', 'opsbook');
          },
        ),
      );
    }
    this.crons.set(database, crons);
  }

  unschedule(database: string): void {
    for (const cron of this.crons.get(database) ?? []) cron.stop();
    this.crons.delete(database);
  }

  async tasks(target: MaintenanceTarget): Promise<MaintenanceTaskView[]> {
    const { database, config } = target;
    const last = await this.options.repository.lastRuns(database, MAINTENANCE_TASKS);
    return MAINTENANCE_TASKS.map((task) => {
      const schedule = scheduleOf(config, task);
      const enabled = config.maintenance.enabled && config.maintenance.tasks[task].enabled;
      const next = enabled
        ? new Cron(schedule, { timezone: config.maintenance.timezone, paused: true }).nextRun(
            new Date(this.now()),
          )
        : null;
      const row = last.get(task);
      return {
        task,
        description: TASKS[task].description,
        enabled,
        schedule,
        timezone: config.maintenance.timezone,
        nextRunAt: next?.getTime() ?? null,
        running: this.running.has(key(database, task)),
        lastRun: row ? this.view(row) : null,
      };
    });
  }

  async runs(
    database: string,
    filter: { task?: string; limit?: number } = {},
  ): Promise<MaintenanceRunView[]> {
    return (await this.options.repository.listRuns({ database, ...filter })).map((r) => this.view(r));
  }

  async run(database: string, id: string): Promise<MaintenanceRunView> {
    const row = await this.options.repository.getRun(id);
    if (!row || row.database_id !== database)
      throw new NotFoundError(`no maintenance run ${id} of database ${database}`);
    return this.view(row);
  }

  /**
   * Starts a run and answers at once with it (status running); `done` settles with the finished run.
   * One run per database and task at a time.
   */
  start(
    target: MaintenanceTarget,
    task: MaintenanceTaskName,
    trigger: 'schedule' | 'manual',
    actor: string,
  ): { run: Promise<MaintenanceRunView>; done: Promise<MaintenanceRunView> } {
    const k = key(target.database, task);
    if (this.running.has(k))
      throw new ConflictError(`${task} is already running on ${target.database}; wait for it to finish`);
    const id = randomUUID();
    const startedAt = this.now();
    const controller = new AbortController();
    const state: Running = { id, progress: null, controller };
    this.running.set(k, state);
    const repository = this.options.repository;
    const inserted = repository.insertRun({
      id,
      database_id: target.database,
      task,
      trigger,
      actor,
      status: 'running',
      started_at: startedAt,
      finished_at: null,
      duration_ms: null,
      message: '',
      output: '{}',
    });
    const execution = (async () => {
      try {
        await inserted;
        let result;
        try {
          result = await TASKS[task].run({
            ...target,
            now: this.now,
            signal: controller.signal,
            progress: (done, total, current) => (state.progress = { done, total, current }),
          });
        } catch (error) {
          result = { status: 'failed' as const, message: target.connection.describe(error), output: {} };
        }
        const finishedAt = this.now();
        await repository.updateRun(id, {
          status: result.status,
          finished_at: finishedAt,
          duration_ms: finishedAt - startedAt,
          message: result.message,
          output: JSON.stringify(result.output),
        });
        const log = {
          database: target.database,
          task,
          trigger,
          status: result.status,
          durationMs: finishedAt - startedAt,
        };
        if (result.status === 'failed')
          this.options.logger.warn(log, `maintenance ${task} failed: ${result.message}`);
        else this.options.logger.info(log, `maintenance ${task}: ${result.message}`);
      } finally {
        this.running.delete(k);
      }
      return this.run(target.database, id);
    })();
    const done = execution.catch((error: unknown) => {
      this.options.logger.error(
        { database: target.database, task, trigger, err: error },
        `maintenance ${task} on ${target.database} could not run or record its outcome: ${(error as Error).message}`,
      );
      throw error;
    });
    state.done = done;
    const run = inserted.then(() => this.run(target.database, id));
    // Callers may drop either (the schedule drops both): a rejection nobody awaits would end the process.
    run.catch(() => {});
    done.catch(() => {});
    return { run, done };
  }

  /** Settles when the runs of a database in progress now have finished (its pool may close then). */
  async idle(database: string): Promise<void> {
    const runs = [...this.running.entries()]
      .filter(([k]) => k.startsWith(`${database}/`))
      .map(([, r]) => r.done);
    await Promise.allSettled(runs);
  }

  /** Stops the schedules, cancels runs in progress and waits for them to record their outcome. */
  async stop(): Promise<void> {
    for (const database of [...this.crons.keys()]) this.unschedule(database);
    const runs = [...this.running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.allSettled(runs.map((r) => r.done));
  }

  private view(row: MaintenanceRunRow): MaintenanceRunView {
    const running = [...this.running.values()].find((r) => r.id === row.id);
    return {
      id: row.id,
      database: row.database_id,
      task: row.task as MaintenanceTaskName,
      trigger: row.trigger as MaintenanceRunView['trigger'],
      actor: row.actor,
      status: row.status as MaintenanceRunView['status'],
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      durationMs: row.duration_ms,
      message: row.message,
      output: JSON.parse(row.output) as Record<string, unknown>,
      progress: running?.progress ?? null,
    };
  }
}

const key = (database: string, task: string) => `${database}/${task}`;

function scheduleOf(config: MaintenanceTarget['config'], task: MaintenanceTask): string {
  return config.maintenance.tasks[task].schedule ?? defaultSchedule(task, config.maintenance.windowHour);
}
