// Disaster-recovery drills and when each database started being watched (portable types, DESIGN 5).

export interface DrillsTable {
  id: string;
  database: string;
  /** running | passed | failed | missed-target */
  status: string;
  /** schedule | manual */
  trigger: string;
  actor: string;
  backup_id: string | null;
  started_at: number;
  finished_at: number | null;
  rto_ms: number | null;
  rpo_ms: number | null;
  /** Number of problems found (each fails the drill). */
  problems: number;
  /** The phase running now; null once finished. */
  phase: string | null;
  /** The full DrillReport as JSON, rewritten as the drill progresses. */
  report: string;
  updated_at: number;
}

/** The first time drills watched a database: the overdue clock of a database never drilled. */
export interface DrillWatchTable {
  database: string;
  since: number;
}

export interface DrillTables {
  drills: DrillsTable;
  drill_watch: DrillWatchTable;
}
