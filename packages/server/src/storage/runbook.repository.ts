// Runbook runs, steps and audit entries; the same queries on both engines.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Store } from './db.js';
import type { RunbookAuditTable, RunbookRunsTable, RunbookStepsTable } from './runbook-tables.js';

export type RunRow = Selectable<RunbookRunsTable>;
export type StepRow = Selectable<RunbookStepsTable>;
export type AuditRow = Selectable<RunbookAuditTable>;

export class RunbookRepository {
  constructor(private readonly store: Store) {}

  async insertRun(run: Insertable<RunbookRunsTable>, steps: Insertable<RunbookStepsTable>[]): Promise<void> {
    await this.store.db.transaction().execute(async (trx) => {
      await trx.insertInto('runbook_runs').values(run).execute();
      if (steps.length > 0) await trx.insertInto('runbook_steps').values(steps).execute();
    });
  }

  async getRun(id: string): Promise<{ run: RunRow; steps: StepRow[] } | undefined> {
    const run = await this.store.db
      .selectFrom('runbook_runs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!run) return undefined;
    const steps = await this.store.db
      .selectFrom('runbook_steps')
      .selectAll()
      .where('run_id', '=', id)
      .orderBy('position')
      .execute();
    return { run, steps: steps.map(numeric) };
  }

  async listRuns(options: { status?: string[]; limit?: number } = {}): Promise<RunRow[]> {
    let query = this.store.db.selectFrom('runbook_runs').selectAll();
    if (options.status?.length) query = query.where('status', 'in', options.status);
    return query
      .orderBy('created_at', 'desc')
      .limit(options.limit ?? 100)
      .execute();
  }

  async updateRun(id: string, patch: Updateable<RunbookRunsTable>): Promise<void> {
    await this.store.db.updateTable('runbook_runs').set(patch).where('id', '=', id).execute();
  }

  /** Compare-and-set on the step's status, so a tick and a timeout cannot both win. */
  async updateStep(
    runId: string,
    stepId: string,
    patch: Updateable<RunbookStepsTable>,
    fromStatus?: string,
  ): Promise<boolean> {
    let query = this.store.db
      .updateTable('runbook_steps')
      .set(patch)
      .where('run_id', '=', runId)
      .where('step_id', '=', stepId);
    if (fromStatus !== undefined) query = query.where('status', '=', fromStatus);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Waiting steps whose deadline has passed. */
  async dueSteps(now: number): Promise<StepRow[]> {
    const rows = await this.store.db
      .selectFrom('runbook_steps')
      .selectAll()
      .where('status', '=', 'waiting')
      .where('deadline', 'is not', null)
      .where('deadline', '<=', now)
      .execute();
    return rows.map(numeric);
  }

  async audit(entry: Insertable<RunbookAuditTable>): Promise<void> {
    await this.store.db.insertInto('runbook_audit').values(entry).execute();
  }

  async auditOf(runId: string): Promise<AuditRow[]> {
    const rows = await this.store.db
      .selectFrom('runbook_audit')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at) }));
  }
}

// pg returns bigint columns as strings.
function numeric(row: StepRow): StepRow {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    ...row,
    position: Number(row.position),
    destructive: Number(row.destructive),
    started_at: n(row.started_at),
    finished_at: n(row.finished_at),
    deadline: n(row.deadline),
  };
}
