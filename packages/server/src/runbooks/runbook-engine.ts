// Runs runbooks step by step. Every step's state is in the database before and after it runs, so a
// restart finds waiting runs still waiting; approvals, ticks and actions go to the audit log.
import { randomUUID } from 'node:crypto';
import type { RunbookAuditEntry, RunbookRunView, RunbookStepView } from '@opsbook/contracts';
import { matchesAll, parseMatcher } from '../alerts/matchers.js';
import { ConflictError, InputError, NotAllowedError, NotFoundError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { RunbookRepository, type RunRow, type StepRow } from '../storage/runbook.repository.js';
import { redact } from './redact.js';
import {
  resolveParameters,
  stepTimeoutMs,
  type ParameterValue,
  type Runbook,
  type RunbookStep,
} from './runbook.schema.js';
import { STEP_TABLE } from './steps/index.js';
import type { StepResult, StepRunner, StepServices, StepTable } from './steps/step.js';

export interface Approver {
  id: string;
  roles: readonly string[];
}

export interface RunbookEngineOptions {
  store: Store;
  runbooks: ReadonlyMap<string, Runbook>;
  services: StepServices;
  steps?: StepTable;
  /** Known secret values (config passwords, tokens) to remove from evidence. */
  secrets?: () => readonly string[];
  now?: () => number;
}

export interface StartRunInput {
  runbookId: string;
  parameters?: Record<string, unknown>;
  /** Why the run started (incident id, alert labels): stored as data, never interpolated. */
  trigger?: Record<string, unknown>;
  actor: string;
}

/** What an observer hears: a run started, a step reached a new state (waiting or finished), a run ended. */
export type RunbookChange =
  | { type: 'run.started'; run: RunbookRunView }
  | { type: 'step'; run: RunbookRunView; step: RunbookStepView }
  | { type: 'run.finished'; run: RunbookRunView };

export type RunbookObserver = (change: RunbookChange) => void;

const FAILED = new Set(['failed', 'timed_out', 'rejected']);
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

export class RunbookEngine {
  private readonly repo: RunbookRepository;
  private readonly steps: StepTable;
  private readonly now: () => number;
  private readonly locks = new Map<string, Promise<unknown>>();
  private sweeper: NodeJS.Timeout | undefined;
  private observer: RunbookObserver | undefined;

  constructor(private readonly options: RunbookEngineOptions) {
    this.repo = new RunbookRepository(options.store);
    this.steps = options.steps ?? STEP_TABLE;
    this.now = options.now ?? Date.now;
  }

  get runbooks(): ReadonlyMap<string, Runbook> {
    return this.options.runbooks;
  }

  /** Called in order, under the run's lock, after each change is stored (incident timelines mirror runs). */
  observe(observer: RunbookObserver): void {
    this.observer = observer;
  }

  /** Runbooks whose triggers match an alert's labels (alertname or label matchers). */
  runbooksFor(labels: Record<string, string>): Runbook[] {
    return [...this.options.runbooks.values()].filter(
      (r) =>
        (labels.alertname !== undefined && r.triggers.alerts.includes(labels.alertname)) ||
        (r.triggers.matchers.length > 0 && matchesAll(r.triggers.matchers.map(parseMatcher), labels)),
    );
  }

  /** Starts a run and executes steps until one waits for a person or the run ends. */
  async start(input: StartRunInput): Promise<RunbookRunView> {
    const runbook = this.options.runbooks.get(input.runbookId);
    if (!runbook) throw new NotFoundError(`no runbook ${input.runbookId}`);
    const trigger = input.trigger ?? {};
    if (!runbook.triggers.manual && trigger.alert === undefined && trigger.incident === undefined)
      throw new NotAllowedError(`runbook ${runbook.id} is not started by hand`);
    // An alert's labels fill the parameters named like them (service, database...), unless given.
    const fromAlert = Object.fromEntries(
      Object.entries((trigger.alert ?? {}) as Record<string, unknown>).filter(
        ([name, value]) => name in runbook.parameters && typeof value === 'string',
      ),
    );
    const parameters = resolveParameters(runbook, { ...fromAlert, ...input.parameters });
    if (!parameters.ok) throw new InputError(parameters.errors.join('; '), 'parameters');

    const id = randomUUID();
    const now = this.now();
    await this.repo.insertRun(
      {
        id,
        runbook_id: runbook.id,
        title: runbook.title,
        definition: JSON.stringify(runbook),
        parameters: JSON.stringify(parameters.values),
        trigger: JSON.stringify(trigger),
        status: 'running',
        started_by: input.actor,
        created_at: now,
        updated_at: now,
        finished_at: null,
      },
      runbook.steps.map((step, position) => ({
        run_id: id,
        step_id: step.id,
        position,
        kind: step.kind,
        phase: step.phase,
        title: step.title,
        status: 'pending',
        destructive: step.kind === 'action' ? 1 : 0,
        started_at: null,
        finished_at: null,
        deadline: null,
        message: '',
        evidence: '{}',
        actor: null,
      })),
    );
    await this.audit(input.actor, 'run.started', id, null, {
      runbookId: runbook.id,
      parameters: parameters.values,
      trigger,
    });
    await this.locked(id, async () => {
      await this.emit(id, (run) => ({ type: 'run.started', run }));
      await this.advance(id);
    });
    return this.get(id);
  }

  async get(runId: string): Promise<RunbookRunView> {
    const found = await this.repo.getRun(runId);
    if (!found) throw new NotFoundError(`no runbook run ${runId}`);
    return toView(found.run, found.steps);
  }

  async list(options: { status?: string[]; limit?: number } = {}): Promise<RunbookRunView[]> {
    const runs = await this.repo.listRuns(options);
    return Promise.all(runs.map((r) => this.get(r.id)));
  }

  async auditLog(runId: string): Promise<RunbookAuditEntry[]> {
    return (await this.repo.auditOf(runId)).map((row) => ({
      at: row.at,
      actor: row.actor,
      action: row.action,
      runId: row.run_id,
      stepId: row.step_id,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    }));
  }

  /** A person ticks a manual step. */
  async tick(runId: string, stepId: string, actor: string, note?: string): Promise<RunbookRunView> {
    await this.locked(runId, async () => {
      const { step } = await this.waiting(runId, stepId, 'manual');
      await this.settle(runId, step, 'succeeded', `ticked by ${actor}${note ? `: ${note}` : ''}`, actor);
      await this.audit(actor, 'step.ticked', runId, stepId, note ? { note } : {});
      await this.advance(runId);
    });
    return this.get(runId);
  }

  /** A user with the step's role approves; the run continues. */
  async approve(runId: string, stepId: string, actor: Approver, comment = ''): Promise<RunbookRunView> {
    await this.locked(runId, async () => {
      const { step, definition } = await this.waiting(runId, stepId, 'approval');
      const role = (definition as Extract<RunbookStep, { kind: 'approval' }>).role;
      if (!actor.roles.includes(role) && !actor.roles.includes('admin')) {
        await this.audit(actor.id, 'approval.refused', runId, stepId, { role, roles: actor.roles });
        throw new NotAllowedError(`approving ${stepId} needs role ${role}`);
      }
      await this.settle(
        runId,
        step,
        'succeeded',
        `approved by ${actor.id}${comment ? `: ${comment}` : ''}`,
        actor.id,
      );
      await this.audit(actor.id, 'step.approved', runId, stepId, { role, comment });
      await this.advance(runId);
    });
    return this.get(runId);
  }

  /** Rejecting an approval fails the step; actions after it never run. */
  async reject(runId: string, stepId: string, actor: Approver, reason = ''): Promise<RunbookRunView> {
    await this.locked(runId, async () => {
      const { step, definition } = await this.waiting(runId, stepId, 'approval');
      const role = (definition as Extract<RunbookStep, { kind: 'approval' }>).role;
      if (!actor.roles.includes(role) && !actor.roles.includes('admin'))
        throw new NotAllowedError(`rejecting ${stepId} needs role ${role}`);
      await this.settle(
        runId,
        step,
        'rejected',
        `rejected by ${actor.id}${reason ? `: ${reason}` : ''}`,
        actor.id,
      );
      await this.audit(actor.id, 'step.rejected', runId, stepId, { reason });
      await this.advance(runId);
    });
    return this.get(runId);
  }

  /** Times out waiting steps past their deadline; returns how many. The sweeper calls it. */
  async checkTimeouts(): Promise<number> {
    const due = await this.repo.dueSteps(this.now());
    let count = 0;
    for (const step of due) {
      await this.locked(step.run_id, async () => {
        const message = `${step.kind === 'approval' ? 'approval' : 'step'} timed out`;
        if (!(await this.settle(step.run_id, step, 'timed_out', message, null))) return;
        count++;
        await this.audit('system', 'step.timed_out', step.run_id, step.step_id, { deadline: step.deadline });
        await this.advance(step.run_id);
      });
    }
    return count;
  }

  /**
   * After a restart: waiting runs keep waiting (their deadlines are stored); a step that was running
   * when the process stopped is failed, not repeated (it may have changed something), and its run goes on.
   */
  async resume(): Promise<void> {
    for (const run of await this.repo.listRuns({ status: ['running'], limit: 10_000 })) {
      await this.locked(run.id, async () => {
        const found = await this.repo.getRun(run.id);
        for (const step of found?.steps ?? [])
          if (step.status === 'running') {
            await this.settle(run.id, step, 'failed', 'interrupted by a restart', null);
            await this.audit('system', 'step.interrupted', run.id, step.step_id, {});
          }
        await this.advance(run.id);
      });
    }
  }

  startSweeper(intervalMs = 5_000): void {
    this.sweeper ??= setInterval(() => void this.checkTimeouts().catch(() => {}), intervalMs);
    this.sweeper.unref();
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.allSettled([...this.locks.values()]);
  }

  // Runs per run id one at a time: a tick cannot race the step it resumes.
  private locked<T>(runId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(runId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    const tail = next.catch(() => {});
    this.locks.set(runId, tail);
    void tail.then(() => {
      if (this.locks.get(runId) === tail) this.locks.delete(runId);
    });
    return next;
  }

  private async waiting(
    runId: string,
    stepId: string,
    kind: 'manual' | 'approval',
  ): Promise<{ run: RunRow; step: StepRow; definition: RunbookStep }> {
    const found = await this.repo.getRun(runId);
    if (!found) throw new NotFoundError(`no runbook run ${runId}`);
    const step = found.steps.find((s) => s.step_id === stepId);
    if (!step) throw new NotFoundError(`run ${runId} has no step ${stepId}`);
    if (step.kind !== kind) throw new ConflictError(`step ${stepId} is a ${step.kind} step, not ${kind}`);
    if (step.status !== 'waiting') throw new ConflictError(`step ${stepId} is ${step.status}, not waiting`);
    const definition = (JSON.parse(found.run.definition) as Runbook).steps[step.position]!;
    return { run: found.run, step, definition };
  }

  /** Finishes a step (compare-and-set from its current status); false if someone else did first. */
  private async settle(
    runId: string,
    step: StepRow,
    status: string,
    message: string,
    actor: string | null,
    evidence?: Record<string, unknown>,
  ): Promise<boolean> {
    const patch = {
      status,
      message: this.redact(message),
      finished_at: this.now(),
      actor,
      ...(evidence ? { evidence: JSON.stringify(this.redact(evidence)) } : {}),
    };
    const changed = await this.repo.updateStep(runId, step.step_id, patch, step.status);
    if (changed) await this.emitStep(runId, step.step_id);
    return changed;
  }

  private async emitStep(runId: string, stepId: string): Promise<void> {
    await this.emit(runId, (run) => {
      const step = run.steps.find((s) => s.id === stepId);
      return step && { type: 'step', run, step };
    });
  }

  /** Reads the run as it now is for the observer; an observer's failure never stops the run. */
  private async emit(
    runId: string,
    change: (run: RunbookRunView) => RunbookChange | undefined,
  ): Promise<void> {
    if (!this.observer) return;
    try {
      const found = await this.repo.getRun(runId);
      const event = found && change(toView(found.run, found.steps));
      if (event) this.observer(event);
    } catch {
      // The run's own state is stored; a missed mirror entry is not worth failing the step for.
    }
  }

  private async advance(runId: string): Promise<void> {
    for (;;) {
      const found = await this.repo.getRun(runId);
      if (!found || !['running', 'waiting'].includes(found.run.status)) return;
      const { run, steps } = found;
      const definition = JSON.parse(run.definition) as Runbook;

      const stopped = steps.find(
        (s) => FAILED.has(s.status) && !definition.steps[s.position]!.continueOnFailure,
      );
      if (stopped) return this.finish(run, steps, 'failed');
      if (steps.some((s) => s.status === 'waiting')) {
        if (run.status !== 'waiting')
          await this.repo.updateRun(runId, { status: 'waiting', updated_at: this.now() });
        return;
      }
      const next = steps.find((s) => s.status === 'pending');
      if (!next)
        return this.finish(
          run,
          steps,
          steps.some((s) => FAILED.has(s.status)) ? 'completed_with_failures' : 'succeeded',
        );

      const step = definition.steps[next.position]!;
      if (step.kind === 'action') {
        const approval = [...steps]
          .reverse()
          .find((s) => s.position < next.position && s.kind === 'approval');
        if (approval?.status !== 'succeeded') {
          await this.settle(runId, next, 'skipped', 'not run: its approval was not given', null);
          continue;
        }
      }
      await this.repo.updateRun(runId, { status: 'running', updated_at: this.now() });
      await this.repo.updateStep(
        runId,
        next.step_id,
        { status: 'running', started_at: this.now() },
        'pending',
      );
      const parameters = JSON.parse(run.parameters) as Record<string, ParameterValue>;
      const result = await this.execute(step, parameters);
      const running = { ...next, status: 'running' };
      if (result.status === 'waiting') {
        const timeout = stepTimeoutMs(step);
        await this.repo.updateStep(
          runId,
          next.step_id,
          {
            status: 'waiting',
            message: result.message,
            evidence: JSON.stringify(this.redact(result.evidence ?? {})),
            deadline: timeout === undefined ? null : this.now() + timeout,
          },
          'running',
        );
        await this.emitStep(runId, next.step_id);
        continue;
      }
      await this.settle(runId, running, result.status, result.message, null, result.evidence ?? {});
      if (step.kind === 'action') {
        const approval = [...steps]
          .reverse()
          .find((s) => s.position < next.position && s.kind === 'approval');
        await this.audit(approval?.actor ?? 'system', 'action.executed', runId, step.id, {
          destructive: true,
          status: result.status,
          message: result.message,
        });
      }
    }
  }

  private async finish(run: RunRow, steps: StepRow[], status: string): Promise<void> {
    for (const step of steps)
      if (step.status === 'pending')
        await this.settle(run.id, step, 'skipped', 'not run: the run stopped', null);
    const now = this.now();
    await this.repo.updateRun(run.id, { status, updated_at: now, finished_at: now });
    await this.audit('system', 'run.finished', run.id, null, { status });
    await this.emit(run.id, (view) => ({ type: 'run.finished', run: view }));
  }

  private async execute(step: RunbookStep, parameters: Record<string, ParameterValue>): Promise<StepResult> {
    const timeoutMs = stepTimeoutMs(step) ?? DEFAULT_EXEC_TIMEOUT_MS;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<StepResult>((resolve) => {
      if (step.kind === 'manual' || step.kind === 'approval') return;
      timer = setTimeout(() => {
        controller.abort(new Error(`timed out after ${timeoutMs} ms`));
        resolve({ status: 'failed', message: `timed out after ${timeoutMs} ms`, evidence: { timeoutMs } });
      }, timeoutMs);
    });
    const runner = this.steps[step.kind] as StepRunner<RunbookStep>;
    try {
      // A runner that ignores the signal still cannot hold the run past its timeout.
      return await Promise.race([
        runner(step, {
          ...this.options.services,
          signal: controller.signal,
          timeoutMs,
          parameters,
          now: this.now,
        }),
        timedOut,
      ]);
    } catch (error) {
      return { status: 'failed', message: `step error: ${(error as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private redact<T>(value: T): T {
    return redact(value, this.options.secrets?.() ?? []);
  }

  private async audit(
    actor: string,
    action: string,
    runId: string,
    stepId: string | null,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.repo.audit({
      at: this.now(),
      actor,
      action,
      run_id: runId,
      step_id: stepId,
      detail: JSON.stringify(this.redact(detail)),
    });
  }
}

function toView(run: RunRow, steps: StepRow[]): RunbookRunView {
  return {
    id: run.id,
    runbookId: run.runbook_id,
    title: run.title,
    status: run.status as RunbookRunView['status'],
    parameters: JSON.parse(run.parameters) as RunbookRunView['parameters'],
    trigger: JSON.parse(run.trigger) as Record<string, unknown>,
    startedBy: run.started_by,
    createdAt: Number(run.created_at),
    updatedAt: Number(run.updated_at),
    finishedAt: run.finished_at === null ? null : Number(run.finished_at),
    steps: steps.map((s): RunbookStepView => ({
      id: s.step_id,
      title: s.title,
      kind: s.kind,
      phase: s.phase as RunbookStepView['phase'],
      status: s.status as RunbookStepView['status'],
      destructive: s.destructive === 1,
      startedAt: s.started_at,
      finishedAt: s.finished_at,
      deadline: s.deadline,
      message: s.message,
      evidence: JSON.parse(s.evidence) as Record<string, unknown>,
      actor: s.actor,
    })),
  };
}
