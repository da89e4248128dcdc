// Deployments recorded by pipelines and people. After one ends, its service is under watch for
// `deployments.watchFor` (guide 5.2); alerts that fire for the service in that window show on it.
import { randomBytes } from 'node:crypto';
import type { DeploymentList, DeploymentStatus, DeploymentView } from '@opsbook/contracts';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { Store } from '../storage/db.js';
import { DeploymentRepository, type DeploymentRow } from '../storage/deployment.repository.js';
import { EventRepository, type NewEvent } from '../storage/event.repository.js';
import type { DeploymentAlerts, FiredAlert } from './deployment-alerts.js';

/** Epoch ms or ISO 8601 (already validated by the API schema). */
export type TimeInput = number | string;

export interface RecordDeployment {
  service: string;
  version: string;
  environment?: string;
  description?: string;
  url?: string;
  status?: DeploymentStatus;
  startedAt?: TimeInput;
  finishedAt?: TimeInput;
  by?: string;
}

export interface UpdateDeployment {
  status?: DeploymentStatus;
  finishedAt?: TimeInput;
  description?: string;
  url?: string;
}

export interface ListDeployments {
  service?: string;
  environment?: string;
  status?: DeploymentStatus;
  cursor?: string;
  limit: number;
}

/** A change live clients hear of (the SSE stream). */
export interface DeploymentChange {
  id: string;
  service: string;
  status: DeploymentStatus;
}

export interface DeploymentServiceOptions {
  store: Store;
  /** The configured services, read at each call so a reload applies. */
  services: () => { name: string; environment: string }[];
  watchForMs: () => number;
  alerts: DeploymentAlerts;
  onChange?: (change: DeploymentChange) => void;
  now?: () => number;
}

/** Clocks of CI runners drift; a start a little ahead of ours is still believed. */
const FUTURE_SLACK_MS = 5 * 60_000;

export class DeploymentService {
  private readonly repository: DeploymentRepository;
  private readonly events: EventRepository;
  private readonly now: () => number;

  constructor(private readonly options: DeploymentServiceOptions) {
    this.repository = new DeploymentRepository(options.store.db);
    this.events = new EventRepository(options.store.db);
    this.now = options.now ?? Date.now;
  }

  async record(input: RecordDeployment): Promise<DeploymentView> {
    const service = this.options.services().find((s) => s.name === input.service);
    if (!service) {
      const names = this.options.services().map((s) => s.name);
      throw new InputError(
        `no service "${input.service}" in the config; record deployments of a configured service (${
          names.length ? names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '') : 'none configured'
        })`,
        'service',
      );
    }
    const now = this.now();
    const status = input.status ?? 'succeeded';
    const finished = input.finishedAt === undefined ? undefined : toMs(input.finishedAt);
    if (status === 'in_progress' && finished !== undefined)
      throw new InputError(
        'an in_progress deployment has not finished; leave finishedAt out, or give its final status',
        'finishedAt',
      );
    const finishedAt = status === 'in_progress' ? null : (finished ?? now);
    const startedAt = input.startedAt === undefined ? (finishedAt ?? now) : toMs(input.startedAt);
    if (startedAt > now + FUTURE_SLACK_MS)
      throw new InputError(
        `startedAt ${new Date(startedAt).toISOString()} is in the future; check the clock of whatever records it`,
        'startedAt',
      );
    if (finishedAt !== null) checkOrder(startedAt, finishedAt);
    const row: DeploymentRow = {
      id: deploymentId(service.name, startedAt),
      service: service.name,
      version: input.version,
      environment: input.environment ?? service.environment,
      description: input.description ?? null,
      url: input.url ?? null,
      status,
      started_at: startedAt,
      finished_at: finishedAt,
      by: input.by ?? null,
      created_at: now,
      updated_at: now,
    };
    // The record and its timeline event land together, or neither does.
    await this.options.store.db.transaction().execute(async (trx) => {
      await this.repository.insert(row, trx);
      await this.events.append([eventOf(row, 'deployment.recorded', now)], trx);
    });
    this.options.onChange?.({ id: row.id, service: row.service, status });
    return (await this.views([row]))[0]!;
  }

  async update(id: string, patch: UpdateDeployment): Promise<DeploymentView> {
    if (Object.values(patch).every((v) => v === undefined))
      throw new InputError('nothing to change; give status, finishedAt, description or url', 'status');
    const current = await this.row(id);
    const now = this.now();
    const status = patch.status ?? (current.status as DeploymentStatus);
    if (current.status !== 'in_progress' && status === 'in_progress')
      throw new ConflictError(
        `deployment ${id} already ended (${current.status}); record a new deployment for another attempt`,
      );
    let finishedAt = current.finished_at;
    if (patch.finishedAt !== undefined) {
      if (status === 'in_progress')
        throw new InputError(
          'an in_progress deployment has not finished; give its final status with finishedAt',
          'finishedAt',
        );
      finishedAt = toMs(patch.finishedAt);
    } else if (status !== 'in_progress') finishedAt ??= now;
    if (finishedAt !== null) checkOrder(current.started_at, finishedAt);
    const next: DeploymentRow = {
      ...current,
      status,
      finished_at: finishedAt,
      description: patch.description ?? current.description,
      url: patch.url ?? current.url,
      updated_at: now,
    };
    const ended = status !== current.status || finishedAt !== current.finished_at;
    await this.options.store.db.transaction().execute(async (trx) => {
      await this.repository.update(
        id,
        {
          status: next.status,
          finished_at: next.finished_at,
          description: next.description,
          url: next.url,
          updated_at: now,
        },
        trx,
      );
      if (ended) await this.events.append([eventOf(next, 'deployment.changed', now)], trx);
    });
    this.options.onChange?.({ id, service: next.service, status });
    return (await this.views([next]))[0]!;
  }

  async get(id: string): Promise<DeploymentView> {
    return (await this.views([await this.row(id)]))[0]!;
  }

  /** Newest first (by start); `cursor` is the previous page's nextCursor. */
  async list(query: ListDeployments): Promise<DeploymentList> {
    const rows = await this.repository.list({
      service: query.service,
      environment: query.environment,
      status: query.status,
      after: query.cursor === undefined ? undefined : parseCursor(query.cursor),
      limit: query.limit,
    });
    const last = rows.at(-1);
    return {
      items: await this.views(rows),
      nextCursor: rows.length === query.limit && last ? `${last.started_at}_${last.id}` : null,
    };
  }

  private async row(id: string): Promise<DeploymentRow> {
    const row = await this.repository.get(id);
    if (!row)
      throw new NotFoundError(`no deployment "${id}"; GET /api/v1/deployments or opsbook deployments list`);
    return row;
  }

  /** One alert-history read per service on the page, whatever the number of deployments. */
  private async views(rows: DeploymentRow[]): Promise<DeploymentView[]> {
    const now = this.now();
    const watchFor = this.options.watchForMs();
    const windows = rows.map((row) => {
      const watchUntil = row.finished_at === null ? null : row.finished_at + watchFor;
      return { row, watchUntil, from: row.started_at, to: Math.min(watchUntil ?? now, now) };
    });
    const byService = new Map<string, { from: number; to: number }>();
    for (const w of windows) {
      const span = byService.get(w.row.service);
      byService.set(w.row.service, {
        from: Math.min(span?.from ?? w.from, w.from),
        to: Math.max(span?.to ?? w.to, w.to),
      });
    }
    const fired = new Map<string, FiredAlert[]>();
    await Promise.all(
      [...byService].map(async ([service, span]) =>
        fired.set(
          service,
          span.to < span.from ? [] : await this.options.alerts.firedFor(service, span.from, span.to),
        ),
      ),
    );
    return windows.map(({ row, watchUntil, from, to }) => ({
      id: row.id,
      service: row.service,
      version: row.version,
      environment: row.environment,
      description: row.description,
      url: row.url,
      status: row.status as DeploymentStatus,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      by: row.by,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      watchUntil,
      watching: row.status === 'in_progress' || (watchUntil !== null && now < watchUntil),
      alerts: inWindow(fired.get(row.service) ?? [], from, to),
    }));
  }
}

/** Each alert once (its first firing in the window), oldest first. */
function inWindow(fired: FiredAlert[], from: number, to: number): DeploymentView['alerts'] {
  const first = new Map<string, FiredAlert>();
  for (const alert of fired) {
    if (alert.at < from || alert.at > to) continue;
    const seen = first.get(alert.fingerprint);
    if (!seen || alert.at < seen.at) first.set(alert.fingerprint, alert);
  }
  return [...first.values()]
    .sort((a, b) => a.at - b.at)
    .map((a) => ({
      fingerprint: a.fingerprint,
      alertname: a.alertname,
      severity: a.severity,
      firedAt: a.at,
      summary: a.summary,
    }));
}

function toMs(value: TimeInput): number {
  return typeof value === 'number' ? value : Date.parse(value);
}

function checkOrder(startedAt: number, finishedAt: number): void {
  if (finishedAt < startedAt)
    throw new InputError(
      `finishedAt ${new Date(finishedAt).toISOString()} is before startedAt ${new Date(startedAt).toISOString()}`,
      'finishedAt',
    );
}

function parseCursor(cursor: string): { startedAt: number; id: string } {
  const match = /^(\d+)_(.+)$/.exec(cursor);
  if (!match) throw new InputError('not a cursor; use the nextCursor of the previous page', 'cursor');
  return { startedAt: Number(match[1]), id: match[2]! };
}

/** Readable and sortable: shop-20261126T140000Z-3f9a. */
function deploymentId(service: string, at: number): string {
  const stamp = new Date(at)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${service}-${stamp}-${randomBytes(2).toString('hex')}`;
}

const SEVERITY: Record<string, string> = {
  in_progress: 'info',
  succeeded: 'info',
  rolled_back: 'warning',
  failed: 'error',
};

function eventOf(row: DeploymentRow, kind: string, at: number): NewEvent {
  const verb = row.status === 'in_progress' ? 'deploying' : row.status.replace('_', ' ');
  return {
    at,
    kind,
    severity: SEVERITY[row.status] ?? 'info',
    service_id: row.service,
    check_id: null,
    message: `${row.service} ${row.version} to ${row.environment}${row.by ? ` by ${row.by}` : ''}: ${verb}`,
    data: JSON.stringify({
      deployment: row.id,
      version: row.version,
      environment: row.environment,
      status: row.status,
      url: row.url,
      by: row.by,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
    }),
  };
}
