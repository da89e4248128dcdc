// Sessions of a database, and cancelling or terminating one by pid: destructive, so it needs an actor
// and an explicit confirmation, and every request (done or refused) is written to the audit table.
import type { ActivityRow, BackendAction, BackendActionResult, BackendAuditEntry } from '@opsbook/contracts';
import { InputError, IntegrationError, NotAllowedError, NotFoundError } from '../errors.js';
import type { PostgresRepository } from '../storage/postgres.repository.js';
import { ACTIVITY, OPSBOOK_TAG } from './collector.queries.js';
import { activityRow } from './collector.js';
import type { PgConnection } from './pg-connection.js';
import { PgError } from './pg-connection.js';
import { redactQuery } from './sql-text.js';

export interface BackendRequest {
  pid: number;
  action: BackendAction;
  actor?: string;
  confirm?: boolean;
  reason?: string;
  /** Who relays the request: api, cli, runbook:<run id>... */
  source?: string;
}

const AUDIT_QUERY_CHARS = 500;
/** How long to watch the backend after signalling it, to report whether it stopped. */
const SETTLE_MS = 3_000;

export class Backends {
  constructor(
    private readonly repository: PostgresRepository,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async list(connection: PgConnection): Promise<ActivityRow[]> {
    return (await connection.query<Record<string, unknown>>(ACTIVITY)).map(activityRow);
  }

  async auditLog(database: string, limit = 100): Promise<BackendAuditEntry[]> {
    return (await this.repository.auditLog(database, limit)).map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      database: r.database_id,
      pid: r.pid,
      action: r.action as BackendAction,
      source: r.source,
      outcome: r.outcome as BackendAuditEntry['outcome'],
      query: r.query,
      message: r.message,
    }));
  }

  async act(
    database: string,
    connection: PgConnection,
    request: BackendRequest,
  ): Promise<BackendActionResult> {
    const { pid, action } = request;
    const verb = action === 'cancel' ? 'cancelling' : 'terminating';
    const audit = (outcome: BackendAuditEntry['outcome'], message: string, query: string | null = null) =>
      this.repository.audit({
        at: this.now(),
        actor: request.actor?.trim() || 'unknown',
        database_id: database,
        pid,
        action,
        source: request.source ?? 'api',
        outcome,
        query,
        message: request.reason ? `${message} (reason: ${request.reason})` : message,
      });

    if (!request.actor?.trim()) {
      await audit('refused', 'refused: no actor');
      throw new InputError(`say who is ${verb} the backend: actor is required`, 'actor');
    }
    if (request.confirm !== true) {
      await audit('refused', 'refused: not confirmed');
      throw new InputError(
        `${verb} pid ${pid} is destructive: send "confirm": true (the CLI asks, or takes --yes)`,
        'confirm',
      );
    }

    let target: ActivityRow | undefined;
    try {
      target = await this.find(connection, pid);
    } catch (error) {
      await audit('failed', `could not read pg_stat_activity: ${(error as Error).message}`);
      throw new IntegrationError(`cannot reach ${database}: ${(error as Error).message}`, { cause: error });
    }
    if (!target) {
      await audit('not_found', `no session with pid ${pid} on this database`);
      throw new NotFoundError(
        `no session with pid ${pid} on database ${database}; list them with GET /api/v1/databases/${database}/backends`,
      );
    }
    const query = redactQuery(target.query, AUDIT_QUERY_CHARS);

    let signalled: boolean;
    try {
      const fn = action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
      const [row] = await connection.query<{ ok: boolean }>(`${OPSBOOK_TAG} SELECT ${fn}($1) AS ok`, [pid]);
      signalled = row?.ok === true;
    } catch (error) {
      const message = (error as Error).message;
      await audit('failed', `PostgreSQL refused: ${message}`, query);
      // 42501: insufficient privilege (not the backend's role, not pg_signal_backend).
      if (error instanceof PgError && error.code === '42501')
        throw new NotAllowedError(
          `PostgreSQL refused ${verb} pid ${pid}: ${message}; Opsbook's user needs the pg_signal_backend role`,
        );
      throw new IntegrationError(`${verb} pid ${pid} failed: ${message}`, { cause: error });
    }

    const stillRunning = signalled ? await this.settles(connection, target, action) : true;
    const message = !signalled
      ? `pid ${pid} was not signalled (it ended meanwhile)`
      : stillRunning
        ? `pid ${pid} was signalled but ${action === 'cancel' ? 'is still running the same query' : 'still exists'} after ${SETTLE_MS / 1000} s`
        : `pid ${pid} ${action === 'cancel' ? 'cancelled' : 'terminated'}`;
    await audit('done', message, query);
    return { database, pid, action, signalled, stillRunning, query, message };
  }

  private async find(connection: PgConnection, pid: number): Promise<ActivityRow | undefined> {
    const rows = await connection.query<Record<string, unknown>>(
      `SELECT * FROM (${ACTIVITY}) activity WHERE pid = $1`,
      [pid],
    );
    return rows[0] ? activityRow(rows[0]) : undefined;
  }

  /** True when the backend still runs the same query (cancel) or still exists (terminate). */
  private async settles(
    connection: PgConnection,
    before: ActivityRow,
    action: BackendAction,
  ): Promise<boolean> {
    const deadline = this.now() + SETTLE_MS;
    for (;;) {
      const now = await this.find(connection, before.pid).catch(() => before);
      const stopped =
        now === undefined ||
        (action === 'cancel' && (now.state !== before.state || now.queryStart !== before.queryStart));
      if (stopped) return false;
      if (this.now() >= deadline) return true;
      await this.sleep(100);
    }
  }
}
