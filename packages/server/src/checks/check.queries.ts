// Read side of checks for the API and CLI: rows from the store shaped into the public contracts.
import type {
  CheckDetail,
  CheckList,
  CheckResult,
  CheckStats,
  CheckView,
  EventView,
  ServiceView,
} from '@opsbook/contracts';
import { NotFoundError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { CheckRepository, type CheckListRow } from '../storage/check.repository.js';
import { EventRepository, type EventFilter } from '../storage/event.repository.js';
import { ResultRepository } from '../storage/result.repository.js';
import type { RollupAggregator } from '../telemetry/rollup.js';
import { checkStats, type StatsWindow } from './check-stats.js';
import type { CheckState } from './state-machine.js';

export interface CheckListQuery {
  service?: string;
  status?: 'unknown' | 'healthy' | 'unhealthy';
  role?: string;
  kind?: string;
  cursor?: string;
  limit: number;
}

export class CheckQueries {
  private readonly checks: CheckRepository;
  private readonly resultRows: ResultRepository;
  private readonly events: EventRepository;

  constructor(
    private readonly store: Store,
    private readonly rollups: RollupAggregator,
    private readonly now: () => number = Date.now,
    /**
     * The running service's state of a check, fresher than its stored row (rows of checks whose
     * health did not change are rewritten only every few seconds).
     */
    private readonly live: (id: string) => CheckState | undefined = () => undefined,
  ) {
    this.checks = new CheckRepository(store.db);
    this.resultRows = new ResultRepository(store.db);
    this.events = new EventRepository(store.db);
  }

  async list(query: CheckListQuery): Promise<CheckList> {
    const { rows, total } = await this.checks.list({ ...query, after: query.cursor });
    const items = rows.map((row) => toView(row, this.live(row.id)));
    const last = items.at(-1);
    return { items, total, nextCursor: items.length === query.limit && last ? last.id : null };
  }

  async get(id: string): Promise<CheckDetail> {
    const row = await this.checks.get(id);
    if (!row) throw new NotFoundError(`no check "${id}"; list them with GET /api/v1/checks`);
    return { ...toView(row, this.live(id)), spec: JSON.parse(row.spec) as Record<string, unknown> };
  }

  async results(id: string, from: number, to: number, limit: number): Promise<CheckResult[]> {
    await this.get(id);
    const rows = await this.resultRows.listResults(id, from, to, limit);
    return rows.map((r) => ({
      at: r.started_at,
      status: r.status as CheckResult['status'],
      latencyMs: r.latency_ms,
      message: r.message,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  async stats(id: string, window: StatsWindow): Promise<CheckStats> {
    await this.get(id);
    return checkStats(this.store, this.rollups, id, window, this.now());
  }

  async services(): Promise<ServiceView[]> {
    const [services, counts] = await Promise.all([
      this.checks.listServices(),
      this.checks.countByServiceAndStatus(),
    ]);
    return services.map((service) => {
      const checks = { total: 0, healthy: 0, unhealthy: 0, unknown: 0 };
      for (const row of counts) {
        if (row.service_id !== service.id) continue;
        const status = (row.status ?? 'unknown') as 'healthy' | 'unhealthy' | 'unknown';
        checks[status] += row.count;
        checks.total += row.count;
      }
      const status =
        checks.unhealthy > 0 ? 'unhealthy' : checks.unknown > 0 || checks.total === 0 ? 'unknown' : 'healthy';
      return {
        name: service.id,
        owner: service.owner,
        environment: service.environment,
        description: service.description,
        tags: JSON.parse(service.tags) as string[],
        status,
        checks,
      };
    });
  }

  async eventList(filter: EventFilter): Promise<{ items: EventView[]; nextCursor: string | null }> {
    const rows = await this.events.list(filter);
    const items = rows.map((row) => ({
      id: Number(row.id),
      at: row.at,
      kind: row.kind,
      severity: row.severity as EventView['severity'],
      service: row.service_id,
      checkId: row.check_id,
      message: row.message,
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
    return { items, nextCursor: items.length === filter.limit ? String(items.at(-1)!.id) : null };
  }
}

function toView(stored: CheckListRow, live: CheckState | undefined): CheckView {
  const row = live ? { ...stored, ...stateColumns(live) } : stored;
  return {
    id: row.id,
    service: row.service_id,
    name: row.name,
    description: row.description,
    kind: row.kind as CheckView['kind'],
    role: row.role as CheckView['role'],
    target: row.target,
    timing: JSON.parse(row.timing) as CheckView['timing'],
    status: (row.status ?? 'unknown') as CheckView['status'],
    since: row.since ?? null,
    consecutiveSuccesses: row.consecutive_successes ?? 0,
    consecutiveFailures: row.consecutive_failures ?? 0,
    lastResult:
      row.last_run_at == null
        ? null
        : {
            at: row.last_run_at,
            status: row.last_status as 'up' | 'down',
            latencyMs: row.last_latency_ms ?? 0,
            message: row.last_message ?? '',
          },
  };
}

function stateColumns(state: CheckState): Partial<CheckListRow> {
  return {
    status: state.status,
    since: state.since,
    consecutive_successes: state.consecutiveSuccesses,
    consecutive_failures: state.consecutiveFailures,
    last_run_at: state.lastRunAt,
    last_status: state.lastStatus,
    last_latency_ms: state.lastLatencyMs,
    last_message: state.lastMessage,
  };
}
