// Backup records and their off-site copies. Manifests are JSON text (portable, DESIGN 5).
import type { Kysely, Selectable } from 'kysely';
import type { BackupCopy, BackupManifest, BackupRecord, BackupStatus } from '../postgres/backup.types.js';
import type { DB } from './db.types.js';
import type { BackupCopiesTable, BackupsTable } from './backup-tables.js';

export interface BackupListFilter {
  database?: string;
  status?: BackupStatus;
  limit?: number;
}

export class BackupRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(record: BackupRecord): Promise<void> {
    await this.db
      .insertInto('backups')
      .values({
        id: record.id,
        database: record.database,
        status: record.status,
        trigger: record.trigger,
        started_at: record.startedAt,
        finished_at: record.finishedAt,
        path: record.path,
        size_bytes: record.sizeBytes,
        error: record.error,
        manifest: record.manifest ? JSON.stringify(record.manifest) : null,
      })
      .execute();
  }

  async finish(
    id: string,
    outcome: {
      status: BackupStatus;
      finishedAt: number;
      sizeBytes: number | null;
      error: string | null;
      manifest: BackupManifest | null;
    },
  ): Promise<void> {
    await this.db
      .updateTable('backups')
      .set({
        status: outcome.status,
        finished_at: outcome.finishedAt,
        size_bytes: outcome.sizeBytes,
        error: outcome.error,
        manifest: outcome.manifest ? JSON.stringify(outcome.manifest) : null,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Backups left `running` by a crash: marked failed, returned so their folders can be cleaned. */
  async failRunning(at: number, error: string): Promise<BackupRecord[]> {
    const rows = await this.db.selectFrom('backups').selectAll().where('status', '=', 'running').execute();
    if (rows.length === 0) return [];
    await this.db
      .updateTable('backups')
      .set({ status: 'failed', finished_at: at, error })
      .where('status', '=', 'running')
      .execute();
    return rows.map((row) => toRecord({ ...row, status: 'failed', finished_at: at, error }, []));
  }

  async get(id: string): Promise<BackupRecord | undefined> {
    const row = await this.db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return toRecord(row, await this.copiesOf([id]));
  }

  /** Newest first. */
  async list(filter: BackupListFilter = {}): Promise<BackupRecord[]> {
    const rows = await this.db
      .selectFrom('backups')
      .selectAll()
      .$if(filter.database !== undefined, (q) => q.where('database', '=', filter.database!))
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .$if(filter.limit !== undefined, (q) => q.limit(filter.limit!))
      .execute();
    const copies = await this.copiesOf(rows.map((r) => r.id));
    return rows.map((row) => toRecord(row, copies));
  }

  async latest(database: string, status: BackupStatus = 'succeeded'): Promise<BackupRecord | undefined> {
    return (await this.list({ database, status, limit: 1 }))[0];
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('backup_copies').where('backup_id', '=', id).execute();
      await tx.deleteFrom('backups').where('id', '=', id).execute();
    });
  }

  async setCopy(backupId: string, copy: BackupCopy & { attempts: number }, at: number): Promise<void> {
    const values = {
      status: copy.status,
      location: copy.location,
      at: copy.at,
      error: copy.error,
      attempts: copy.attempts,
      updated_at: at,
    };
    await this.db
      .insertInto('backup_copies')
      .values({ backup_id: backupId, target: copy.target, ...values })
      .onConflict((oc) => oc.columns(['backup_id', 'target']).doUpdateSet(values))
      .execute();
  }

  async copyAttempts(backupId: string, target: string): Promise<number> {
    const row = await this.db
      .selectFrom('backup_copies')
      .select('attempts')
      .where('backup_id', '=', backupId)
      .where('target', '=', target)
      .executeTakeFirst();
    return row?.attempts ?? 0;
  }

  /** Copies still to do, for backups that succeeded: resumed after a restart. */
  async pendingCopies(): Promise<{ backupId: string; target: string; attempts: number }[]> {
    const rows = await this.db
      .selectFrom('backup_copies')
      .innerJoin('backups', 'backups.id', 'backup_copies.backup_id')
      .select(['backup_copies.backup_id', 'backup_copies.target', 'backup_copies.attempts'])
      .where('backup_copies.status', '=', 'pending')
      .where('backups.status', '=', 'succeeded')
      .execute();
    return rows.map((r) => ({ backupId: r.backup_id, target: r.target, attempts: r.attempts }));
  }

  /** When Opsbook first watched each database; inserted now for the ones it has not seen. */
  async watch(databases: string[], at: number): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('backup_watch').selectAll().execute();
    const seen = new Map(rows.map((r) => [r.database, r.first_seen_at]));
    const fresh = databases.filter((d) => !seen.has(d));
    if (fresh.length > 0) {
      await this.db
        .insertInto('backup_watch')
        .values(fresh.map((database) => ({ database, first_seen_at: at })))
        .onConflict((oc) => oc.column('database').doNothing())
        .execute();
      for (const database of fresh) seen.set(database, at);
    }
    return seen;
  }

  private async copiesOf(ids: string[]): Promise<Map<string, BackupCopy[]>> {
    const byBackup = new Map<string, BackupCopy[]>();
    if (ids.length === 0) return byBackup;
    const rows: Selectable<BackupCopiesTable>[] = [];
    // Bounded IN lists: SQLite allows at most 32766 bound parameters.
    for (let i = 0; i < ids.length; i += 500)
      rows.push(
        ...(await this.db
          .selectFrom('backup_copies')
          .selectAll()
          .where('backup_id', 'in', ids.slice(i, i + 500))
          .orderBy('target')
          .execute()),
      );
    for (const row of rows) {
      const list = byBackup.get(row.backup_id) ?? [];
      list.push({
        target: row.target,
        status: row.status as BackupCopy['status'],
        location: row.location,
        at: row.at,
        error: row.error,
      });
      byBackup.set(row.backup_id, list);
    }
    return byBackup;
  }
}

function toRecord(
  row: Selectable<BackupsTable>,
  copies: Map<string, BackupCopy[]> | BackupCopy[],
): BackupRecord {
  return {
    id: row.id,
    database: row.database,
    status: row.status as BackupStatus,
    trigger: row.trigger as BackupRecord['trigger'],
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    path: row.path,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    error: row.error,
    manifest: row.manifest ? (JSON.parse(row.manifest) as BackupManifest) : null,
    copies: Array.isArray(copies) ? copies : (copies.get(row.id) ?? []),
  };
}
