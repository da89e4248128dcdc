// The backup contract shared by backups, restore and disaster-recovery drills.
// On disk, one backup is a folder: <backups.dir>/<database>/<backupId>/ with
//   dump/            pg_dump --format=directory output (parallel jobs, compressed)
//   manifest.json    BackupManifest below
//   SHA256SUMS       "<hex>  <relative path>" per file under dump/ (sha256sum -c compatible)

export interface ManifestTable {
  schema: string;
  name: string;
  /** Exact row count, counted inside the dump's snapshot. */
  rows: number;
  /** pg_total_relation_size at backup time. */
  bytes: number;
  /**
   * Optional: computeSampleChecksum() from postgres/drill.sample.ts (drill.sampleRows rows), run inside
   * the dump's snapshot after SAMPLE_SESSION_SQL. Drills compare it with the restored rows.
   */
  sampleChecksum?: { keys: string; rows: number; md5: string };
}

export interface ManifestFile {
  /** Relative to the backup folder, e.g. "dump/toc.dat". */
  path: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  id: string;
  database: string;
  /** Database name on the server (from the URL). */
  dbname: string;
  serverVersion: string;
  /** pg_current_wal_lsn() (or pg_last_wal_replay_lsn() on a replica) when the snapshot was taken. */
  walLsn: string | null;
  startedAt: number;
  finishedAt: number;
  /** The time the data is consistent as of: the snapshot's start. RPO is measured from this. */
  snapshotAt: number;
  format: 'directory';
  jobs: number;
  compression: number;
  tables: ManifestTable[];
  files: ManifestFile[];
  sizeBytes: number;
  /** Where the backup's time went; absent in manifests written before it was recorded. */
  timings?: BackupTimings;
}

/** Milliseconds per part of a backup, to see what to tune (jobs, compression, drill.sampleRows). */
export interface BackupTimings {
  /** pg_dump, from start to exit. */
  dumpMs: number;
  /** The exact row counts, run beside pg_dump in its snapshot. */
  rowCountMs: number;
  /** The drills' sample checksums, run beside pg_dump after each count. */
  sampleChecksumMs: number;
  /** How long the backup waited for counts and samples after pg_dump had finished. */
  countsAfterDumpMs: number;
  /** SHA-256 of every file, after pg_dump. */
  fileChecksumMs: number;
}

export type BackupStatus = 'running' | 'succeeded' | 'failed';

export interface BackupCopy {
  /** Name of the offsite target from the `backups.copies` config. */
  target: string;
  status: 'pending' | 'copied' | 'failed';
  location: string;
  at: number | null;
  error: string | null;
}

export interface BackupRecord {
  id: string;
  database: string;
  status: BackupStatus;
  trigger: 'schedule' | 'manual' | 'drill';
  startedAt: number;
  finishedAt: number | null;
  /** Absolute path of the backup folder. */
  path: string;
  sizeBytes: number | null;
  error: string | null;
  manifest: BackupManifest | null;
  copies: BackupCopy[];
}

export interface RestoreProgress {
  phase: 'verify' | 'create-database' | 'restore' | 'analyze' | 'done';
  /** 0..1 within the whole restore. */
  fraction: number;
  message: string;
}

export interface RestoreOptions {
  /** Target database name on the same server as the source (or `targetUrl`'s server). */
  to: string;
  /** Connection URL of the target server; defaults to the source database's server. */
  targetUrl?: string;
  /**
   * Password for `targetUrl` when the URL has none (a drill's scratch server from its config); without
   * it only a target on the source's own host:port gets the source's password.
   */
  targetPassword?: string;
  /** Restoring over the source database itself needs force (the CLI also asks to confirm). */
  force?: boolean;
  jobs?: number;
  onProgress?: (progress: RestoreProgress) => void;
  signal?: AbortSignal;
}

export interface RestoreResult {
  backupId: string;
  database: string;
  /** postgres:// URL of the restored database, password removed. */
  targetUrl: string;
  startedAt: number;
  finishedAt: number;
  checksumsVerified: number;
}

/** What the backup service offers to restore, drills, routes and the CLI. */
export interface BackupApi {
  list(filter?: { database?: string; status?: BackupStatus; limit?: number }): Promise<BackupRecord[]>;
  get(id: string): Promise<BackupRecord>;
  /** The newest succeeded backup of a database, if any. */
  latest(database: string): Promise<BackupRecord | undefined>;
  run(database: string, trigger?: BackupRecord['trigger']): Promise<BackupRecord>;
  /** Verifies every checksum (throws naming the first bad file), then pg_restore into a new database. */
  restore(id: string, options: RestoreOptions): Promise<RestoreResult>;
}
