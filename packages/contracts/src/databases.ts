// PostgreSQL databases: collector snapshots, advisor findings, maintenance runs and backend actions.
import { z } from 'zod';

export const FindingSeverity = z.enum(['critical', 'warning', 'info']);

export const ActivityRow = z.object({
  pid: z.number().int(),
  user: z.string().nullable(),
  application: z.string(),
  client: z.string().nullable(),
  state: z.string().nullable(),
  backendType: z.string().nullable(),
  waitEventType: z.string().nullable(),
  waitEvent: z.string().nullable(),
  queryStart: z.number().nullable(),
  stateChange: z.number().nullable(),
  xactStart: z.number().nullable(),
  /** Since the query started (active) or since the state changed (idle in transaction). */
  durationMs: z.number(),
  query: z.string(),
});

export const BlockingPair = z.object({
  blockedPid: z.number().int(),
  blockedUser: z.string().nullable(),
  blockedQuery: z.string(),
  blockedDurationMs: z.number(),
  blockingPid: z.number().int(),
  blockingUser: z.string().nullable(),
  blockingState: z.string().nullable(),
  blockingQuery: z.string(),
  blockingDurationMs: z.number(),
});

export const StatementRow = z.object({
  queryId: z.string().nullable(),
  /** Normalized by pg_stat_statements: constants replaced by $1, $2... */
  query: z.string(),
  calls: z.number(),
  totalMs: z.number(),
  meanMs: z.number(),
  rows: z.number(),
  /** Share of the database's total execution time. */
  totalPercent: z.number(),
});

export const TableRow = z.object({
  schema: z.string(),
  name: z.string(),
  /** pg_total_relation_size: heap, indexes and TOAST. */
  sizeBytes: z.number(),
  liveTuples: z.number(),
  deadTuples: z.number(),
  seqScans: z.number(),
  indexScans: z.number(),
  lastVacuum: z.number().nullable(),
  lastAutovacuum: z.number().nullable(),
  lastAnalyze: z.number().nullable(),
  lastAutoanalyze: z.number().nullable(),
});

export const IndexRow = z.object({
  schema: z.string(),
  table: z.string(),
  name: z.string(),
  definition: z.string(),
  sizeBytes: z.number(),
  scans: z.number(),
  unique: z.boolean(),
  primary: z.boolean(),
  valid: z.boolean(),
  /** Backs a constraint (primary key, unique, exclusion): dropping it means dropping the constraint. */
  constraint: z.boolean(),
});

export const DuplicateIndex = z.object({
  index: IndexRow,
  coveredBy: IndexRow,
});

export const SequenceRow = z.object({
  schema: z.string(),
  name: z.string(),
  /** The column it feeds, when owned (serial or identity). */
  table: z.string().nullable(),
  column: z.string().nullable(),
  columnType: z.string().nullable(),
  lastValue: z.number(),
  /** The lower of the sequence's maximum and its column type's. */
  maxValue: z.number(),
  usedRatio: z.number(),
});

export const XidTable = z.object({ schema: z.string(), name: z.string(), age: z.number() });

export const ReplicationSlotRow = z.object({
  name: z.string(),
  type: z.string(),
  active: z.boolean(),
  /** WAL the slot keeps on the primary; null on a replica. */
  retainedBytes: z.number().nullable(),
});

export const DatabaseSnapshot = z.object({
  database: z.string(),
  collectedAt: z.number(),
  durationMs: z.number(),
  up: z.boolean(),
  /** Why the collector could not connect (password redacted). */
  error: z.string().nullable(),
  serverVersion: z.string().nullable(),
  inRecovery: z.boolean(),
  connections: z.object({
    byState: z.record(z.string(), z.number()),
    total: z.number(),
    max: z.number(),
  }),
  longRunning: z.array(ActivityRow),
  idleInTransaction: z.array(ActivityRow),
  blocking: z.array(BlockingPair),
  cacheHit: z.object({
    table: z.number().nullable(),
    index: z.number().nullable(),
    /** Blocks read plus hit, so a ratio over almost nothing is not judged. */
    tableBlocks: z.number(),
    indexBlocks: z.number(),
  }),
  statements: z.object({
    /** installed | not-installed | not-preloaded | error */
    status: z.enum(['installed', 'not-installed', 'not-preloaded', 'error']),
    message: z.string().nullable(),
    preloaded: z.boolean(),
    slowCount: z.number(),
    slow: z.array(StatementRow),
    top: z.array(StatementRow),
  }),
  sizeBytes: z.number().nullable(),
  tables: z.array(TableRow),
  indexes: z.object({
    unused: z.array(IndexRow),
    duplicate: z.array(DuplicateIndex),
    invalid: z.array(IndexRow),
  }),
  sequences: z.array(SequenceRow),
  xid: z.object({ age: z.number(), remaining: z.number(), oldest: z.array(XidTable) }).nullable(),
  replication: z.object({
    lagSeconds: z.number().nullable(),
    standbys: z.number(),
    slots: z.array(ReplicationSlotRow),
  }),
  statsResetAt: z.number().nullable(),
  /** Sections that could not be read (permissions, timeouts); the rest is still valid. */
  errors: z.array(z.object({ section: z.string(), message: z.string() })),
});

export const Finding = z.object({
  /** Stable per object, e.g. unused-index:public.orders_note_idx */
  id: z.string(),
  rule: z.string(),
  severity: FindingSeverity,
  title: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  fix: z.object({
    /** What would fix it; Opsbook never runs it by itself. Null when the fix is not SQL. */
    sql: z.string().nullable(),
    destructive: z.boolean(),
    note: z.string(),
  }),
});

export const HealthReport = z.object({
  database: z.string(),
  collectedAt: z.number().nullable(),
  up: z.boolean(),
  counts: z.object({ critical: z.number(), warning: z.number(), info: z.number() }),
  findings: z.array(Finding),
});

export const DatabaseSummary = z.object({
  id: z.string(),
  role: z.enum(['primary', 'replica']),
  service: z.string().nullable(),
  tags: z.array(z.string()),
  /** postgres:// URL, password removed. */
  url: z.string(),
  up: z.boolean().nullable().describe('null before the first collection'),
  error: z.string().nullable(),
  inRecovery: z.boolean().nullable(),
  serverVersion: z.string().nullable(),
  sizeBytes: z.number().nullable(),
  connections: z.object({ total: z.number(), max: z.number() }).nullable(),
  lastCollectedAt: z.number().nullable(),
  nextCollectAt: z.number().nullable(),
  findings: z.object({ critical: z.number(), warning: z.number(), info: z.number() }).nullable(),
});

export const DatabaseView = DatabaseSummary.extend({ snapshot: DatabaseSnapshot.nullable() });

export const QueryKind = z.enum(['slow', 'long-running', 'blocking', 'idle-in-transaction']);

export const MaintenanceTaskName = z.enum([
  'vacuum-analyze',
  'size-review',
  'slow-query-review',
  'index-review',
]);

export const MaintenanceRunStatus = z.enum(['running', 'succeeded', 'failed', 'skipped']);

export const MaintenanceRunView = z.object({
  id: z.string(),
  database: z.string(),
  task: MaintenanceTaskName,
  trigger: z.enum(['schedule', 'manual']),
  actor: z.string(),
  status: MaintenanceRunStatus,
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  message: z.string(),
  /** The report (reviews) or per-table results (VACUUM). */
  output: z.record(z.string(), z.unknown()),
  progress: z
    .object({ done: z.number(), total: z.number(), current: z.string().nullable() })
    .nullable()
    .describe('while running'),
});

export const MaintenanceTaskView = z.object({
  task: MaintenanceTaskName,
  description: z.string(),
  enabled: z.boolean(),
  schedule: z.string(),
  timezone: z.string(),
  nextRunAt: z.number().nullable(),
  running: z.boolean(),
  lastRun: MaintenanceRunView.nullable(),
});

export const BackendAction = z.enum(['cancel', 'terminate']);

export const BackendActionRequest = z.object({
  confirm: z
    .boolean()
    .optional()
    .describe('must be true: cancelling or terminating a backend is destructive'),
  actor: z
    .string()
    .optional()
    .describe(
      'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
    ),
  reason: z.string().optional(),
});

export const BackendActionResult = z.object({
  database: z.string(),
  pid: z.number().int(),
  action: BackendAction,
  /** PostgreSQL accepted the signal. */
  signalled: z.boolean(),
  /** The backend was still running the same query (cancel) or still existed (terminate) afterwards. */
  stillRunning: z.boolean(),
  query: z.string().describe('redacted: string literals replaced'),
  message: z.string(),
});

export const BackendAuditEntry = z.object({
  id: z.number(),
  at: z.number(),
  actor: z.string(),
  database: z.string(),
  pid: z.number(),
  action: BackendAction,
  source: z.string(),
  outcome: z.enum(['done', 'refused', 'not_found', 'failed']),
  query: z.string().nullable(),
  message: z.string(),
});

export type FindingSeverity = z.infer<typeof FindingSeverity>;
export type ActivityRow = z.infer<typeof ActivityRow>;
export type BlockingPair = z.infer<typeof BlockingPair>;
export type StatementRow = z.infer<typeof StatementRow>;
export type TableRow = z.infer<typeof TableRow>;
export type IndexRow = z.infer<typeof IndexRow>;
export type DuplicateIndex = z.infer<typeof DuplicateIndex>;
export type SequenceRow = z.infer<typeof SequenceRow>;
export type ReplicationSlotRow = z.infer<typeof ReplicationSlotRow>;
export type DatabaseSnapshot = z.infer<typeof DatabaseSnapshot>;
export type Finding = z.infer<typeof Finding>;
export type HealthReport = z.infer<typeof HealthReport>;
export type DatabaseSummary = z.infer<typeof DatabaseSummary>;
export type DatabaseView = z.infer<typeof DatabaseView>;
export type QueryKind = z.infer<typeof QueryKind>;
export type MaintenanceTaskName = z.infer<typeof MaintenanceTaskName>;
export type MaintenanceRunStatus = z.infer<typeof MaintenanceRunStatus>;
export type MaintenanceRunView = z.infer<typeof MaintenanceRunView>;
export type MaintenanceTaskView = z.infer<typeof MaintenanceTaskView>;
export type BackendAction = z.infer<typeof BackendAction>;
export type BackendActionRequest = z.infer<typeof BackendActionRequest>;
export type BackendActionResult = z.infer<typeof BackendActionResult>;
export type BackendAuditEntry = z.infer<typeof BackendAuditEntry>;
