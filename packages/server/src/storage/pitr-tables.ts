// PITR backups Opsbook ran, restores into new clusters, and the audit of both (portable types, DESIGN 5).
import type { Generated } from 'kysely';

export interface PitrBackupsTable {
  id: string;
  database: string;
  stanza: string;
  /** full | diff | incr */
  type: string;
  /** schedule | manual */
  trigger: string;
  /** running | succeeded | failed */
  status: string;
  actor: string;
  /** pgBackRest's backup label, once known. */
  label: string | null;
  /** 0..1 */
  progress: number;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  size_bytes: number | null;
  repo_size_bytes: number | null;
  error: string | null;
}

export interface PitrRestoresTable {
  id: string;
  database: string;
  stanza: string;
  /** running | ready | failed | stopped | removed */
  status: string;
  /** archive | restore | configure | start | recover | done */
  phase: string;
  progress: number;
  message: string;
  target_time: number;
  pg_data: string;
  port: number;
  /** Folder with pg_ctl used to start it, so stop uses the same. */
  bin_dir: string | null;
  pg_user: string;
  actor: string;
  backup_label: string | null;
  /** Without a password. */
  connection_url: string | null;
  recovered_to: string | null;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  error: string | null;
  /** JSON array of { phase, at, message }. */
  phases: string;
}

export interface PitrAuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  /** backup.start | restore.start | restore.stop | restore.remove | setup */
  action: string;
  database: string;
  /** The backup or restore id. */
  subject: string | null;
  /** JSON. */
  detail: string;
}

export interface PitrTables {
  pitr_backups: PitrBackupsTable;
  pitr_restores: PitrRestoresTable;
  pitr_audit: PitrAuditTable;
}
