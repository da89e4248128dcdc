// PITR backup runs, restores and their audit entries; the same queries on both engines.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Store } from './db.js';
import type { PitrAuditTable, PitrBackupsTable, PitrRestoresTable } from './pitr-tables.js';

export type PitrBackupRow = Selectable<PitrBackupsTable>;
export type PitrRestoreRow = Selectable<PitrRestoresTable>;
export type PitrAuditRow = Selectable<PitrAuditTable>;

export class PitrRepository {
  constructor(private readonly store: Store) {}

  async insertBackup(row: Insertable<PitrBackupsTable>): Promise<void> {
    await this.store.db.insertInto('pitr_backups').values(row).execute();
  }

  async updateBackup(id: string, patch: Updateable<PitrBackupsTable>): Promise<void> {
    await this.store.db.updateTable('pitr_backups').set(patch).where('id', '=', id).execute();
  }

  async getBackup(id: string): Promise<PitrBackupRow | undefined> {
    const row = await this.store.db
      .selectFrom('pitr_backups')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && backupNumbers(row);
  }

  async listBackups(options: { database?: string; limit?: number } = {}): Promise<PitrBackupRow[]> {
    let query = this.store.db.selectFrom('pitr_backups').selectAll();
    if (options.database !== undefined) query = query.where('database', '=', options.database);
    const rows = await query
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit ?? 20)
      .execute();
    return rows.map(backupNumbers);
  }

  /** The newest succeeded backup per database, for the last-success metric. */
  async lastSuccesses(): Promise<{ database: string; finished_at: number }[]> {
    const rows = await this.store.db
      .selectFrom('pitr_backups')
      .select(['database', (eb) => eb.fn.max('finished_at').as('finished_at')])
      .where('status', '=', 'succeeded')
      .groupBy('database')
      .execute();
    return rows.map((r) => ({ database: r.database, finished_at: Number(r.finished_at) }));
  }

  async insertRestore(row: Insertable<PitrRestoresTable>): Promise<void> {
    await this.store.db.insertInto('pitr_restores').values(row).execute();
  }

  async updateRestore(id: string, patch: Updateable<PitrRestoresTable>): Promise<void> {
    await this.store.db.updateTable('pitr_restores').set(patch).where('id', '=', id).execute();
  }

  async getRestore(id: string): Promise<PitrRestoreRow | undefined> {
    const row = await this.store.db
      .selectFrom('pitr_restores')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && restoreNumbers(row);
  }

  async listRestores(
    options: { database?: string; status?: string[]; limit?: number } = {},
  ): Promise<PitrRestoreRow[]> {
    let query = this.store.db.selectFrom('pitr_restores').selectAll();
    if (options.database !== undefined) query = query.where('database', '=', options.database);
    if (options.status?.length) query = query.where('status', 'in', options.status);
    const rows = await query
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit ?? 50)
      .execute();
    return rows.map(restoreNumbers);
  }

  /** Jobs a stopped Opsbook left running: they end as failed, with why. */
  async failInterrupted(now: number, error: string): Promise<{ backups: number; restores: number }> {
    const backups = await this.store.db
      .updateTable('pitr_backups')
      .set({ status: 'failed', finished_at: now, error })
      .where('status', '=', 'running')
      .executeTakeFirst();
    const restores = await this.store.db
      .updateTable('pitr_restores')
      .set({ status: 'failed', finished_at: now, error })
      .where('status', '=', 'running')
      .executeTakeFirst();
    return { backups: Number(backups.numUpdatedRows), restores: Number(restores.numUpdatedRows) };
  }

  async audit(entry: Insertable<PitrAuditTable>): Promise<void> {
    await this.store.db.insertInto('pitr_audit').values(entry).execute();
  }

  async auditOf(database: string, limit = 100): Promise<PitrAuditRow[]> {
    const rows = await this.store.db
      .selectFrom('pitr_audit')
      .selectAll()
      .where('database', '=', database)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at) }));
  }
}

const n = (v: number | null) => (v === null ? null : Number(v));

// pg returns bigint columns as strings.
function backupNumbers(row: PitrBackupRow): PitrBackupRow {
  return {
    ...row,
    progress: Number(row.progress),
    started_at: Number(row.started_at),
    finished_at: n(row.finished_at),
    duration_ms: n(row.duration_ms),
    size_bytes: n(row.size_bytes),
    repo_size_bytes: n(row.repo_size_bytes),
  };
}

function restoreNumbers(row: PitrRestoreRow): PitrRestoreRow {
  return {
    ...row,
    progress: Number(row.progress),
    target_time: Number(row.target_time),
    port: Number(row.port),
    started_at: Number(row.started_at),
    finished_at: n(row.finished_at),
    duration_ms: n(row.duration_ms),
  };
}
