// Maintenance runs and the backend-action audit; the same queries on both engines.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Store } from './db.js';
import type { DbBackendAuditTable, DbMaintenanceRunsTable } from './postgres-tables.js';

export type MaintenanceRunRow = Selectable<DbMaintenanceRunsTable>;
export type BackendAuditRow = Selectable<DbBackendAuditTable>;

export class PostgresRepository {
  constructor(private readonly store: Store) {}

  async insertRun(run: Insertable<DbMaintenanceRunsTable>): Promise<void> {
    await this.store.db.insertInto('db_maintenance_runs').values(run).execute();
  }

  async updateRun(id: string, patch: Updateable<DbMaintenanceRunsTable>): Promise<void> {
    await this.store.db.updateTable('db_maintenance_runs').set(patch).where('id', '=', id).execute();
  }

  async getRun(id: string): Promise<MaintenanceRunRow | undefined> {
    const row = await this.store.db
      .selectFrom('db_maintenance_runs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && runNumbers(row);
  }

  async listRuns(filter: { database: string; task?: string; limit?: number }): Promise<MaintenanceRunRow[]> {
    let query = this.store.db
      .selectFrom('db_maintenance_runs')
      .selectAll()
      .where('database_id', '=', filter.database);
    if (filter.task) query = query.where('task', '=', filter.task);
    const rows = await query
      .orderBy('started_at', 'desc')
      .orderBy('id')
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map(runNumbers);
  }

  /** The newest run of each task of a database. */
  async lastRuns(database: string, tasks: readonly string[]): Promise<Map<string, MaintenanceRunRow>> {
    const out = new Map<string, MaintenanceRunRow>();
    for (const task of tasks) {
      const [row] = await this.listRuns({ database, task, limit: 1 });
      if (row) out.set(task, row);
    }
    return out;
  }

  /** Runs still marked running after a restart did not finish; they are failed, never resumed. */
  async failInterrupted(now: number): Promise<number> {
    const result = await this.store.db
      .updateTable('db_maintenance_runs')
      .set({ status: 'failed', finished_at: now, message: 'interrupted: Opsbook stopped during the run' })
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async audit(entry: Insertable<DbBackendAuditTable>): Promise<number> {
    const row = await this.store.db
      .insertInto('db_backend_audit')
      .values(entry)
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async auditLog(database: string, limit = 100): Promise<BackendAuditRow[]> {
    const rows = await this.store.db
      .selectFrom('db_backend_audit')
      .selectAll()
      .where('database_id', '=', database)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at), pid: Number(r.pid) }));
  }
}

// pg returns bigint columns as numbers through the store's type parser; SQLite already does.
function runNumbers(row: MaintenanceRunRow): MaintenanceRunRow {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    ...row,
    started_at: Number(row.started_at),
    finished_at: n(row.finished_at),
    duration_ms: n(row.duration_ms),
  };
}
