// Backups, their off-site copies and the databases being watched (portable types, DESIGN 5).

export interface BackupsTable {
  id: string;
  database: string;
  /** running | succeeded | failed */
  status: string;
  /** schedule | manual | drill */
  trigger: string;
  started_at: number;
  finished_at: number | null;
  /** Absolute path of the backup folder. */
  path: string;
  size_bytes: number | null;
  error: string | null;
  /** BackupManifest as JSON, once the backup succeeded. */
  manifest: string | null;
}

export interface BackupCopiesTable {
  backup_id: string;
  /** Name of the `backups.copies` target. */
  target: string;
  /** pending | copied | failed */
  status: string;
  location: string;
  /** When it was copied (or finally failed). */
  at: number | null;
  error: string | null;
  attempts: number;
  updated_at: number;
}

/** When Opsbook first watched a database: its backup age counts from here until the first good backup. */
export interface BackupWatchTable {
  database: string;
  first_seen_at: number;
}

export interface BackupTables {
  backups: BackupsTable;
  backup_copies: BackupCopiesTable;
  backup_watch: BackupWatchTable;
}
