// Action items (follow-ups) from incidents: owned, dated and tracked until done, across incidents.
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { ActionItemRow, PostmortemRepository } from '../storage/postmortem.repository.js';
import type { IncidentService } from './incident.service.js';
import type {
  ActionItem,
  ActionItemInput,
  ActionItemListFilter,
  ActionItemPatch,
  ActionItemStatus,
} from './postmortem.types.js';

export interface ActionItemServiceOptions {
  repository: PostmortemRepository;
  incidents: Pick<IncidentService, 'get'>;
  now: () => number;
}

const DAY = 86_400_000;

/** Epoch ms, ISO 8601 time, or YYYY-MM-DD meaning the end of that day in UTC. */
export function parseDueAt(value: number | string | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === 'number') return value;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : undefined;
  const ms = day !== undefined ? day + DAY - 1 : Date.parse(value);
  if (Number.isNaN(ms))
    throw new InputError(
      `"${value}" is not a time; give epoch ms, an ISO 8601 time or a day (2026-12-01)`,
      'dueAt',
    );
  return ms;
}

function onlyStatus(patch: ActionItemPatch): boolean {
  const { actor: _actor, status: _status, ...rest } = patch;
  return Object.values(rest).every((v) => v === undefined);
}

export class ActionItemService {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ActionItemServiceOptions) {}

  async add(incidentId: string, input: ActionItemInput): Promise<ActionItem> {
    const title = input.title.trim();
    const owner = input.owner.trim();
    if (!title) throw new InputError('an action item needs a title', 'title');
    if (!owner)
      throw new InputError('an action item needs an owner, the person who sees it through', 'owner');
    const dueAt = parseDueAt(input.dueAt) ?? null;
    await this.options.incidents.get(incidentId);
    // One insert at a time: ids come from the highest sequence number (see the repository).
    const run = this.queue.then(async () => {
      const now = this.options.now();
      return this.options.repository.insertActionItem({
        incident_id: incidentId,
        title,
        owner,
        due_at: dueAt,
        priority: input.priority ?? 'medium',
        status: 'open',
        link: input.link ?? null,
        created_at: now,
        created_by: input.actor,
        updated_at: now,
        done_at: null,
        done_by: null,
      });
    });
    this.queue = run.catch(() => undefined);
    return this.view(await run);
  }

  async get(id: string): Promise<ActionItem> {
    return this.view(await this.row(id));
  }

  async update(id: string, patch: ActionItemPatch): Promise<ActionItem> {
    const row = await this.row(id);
    const now = this.options.now();
    const next: ActionItemRow = { ...row, updated_at: now };
    if (patch.title !== undefined) {
      if (!patch.title.trim()) throw new InputError('the title cannot be empty', 'title');
      next.title = patch.title.trim();
    }
    if (patch.owner !== undefined) {
      if (!patch.owner.trim()) throw new InputError('the owner cannot be empty', 'owner');
      next.owner = patch.owner.trim();
    }
    const dueAt = parseDueAt(patch.dueAt);
    if (dueAt !== undefined) next.due_at = dueAt;
    if (patch.priority !== undefined) next.priority = patch.priority;
    if (patch.link !== undefined) next.link = patch.link;
    if (patch.status !== undefined && patch.status !== row.status) {
      next.status = patch.status;
      const closing = patch.status !== 'open';
      next.done_at = closing ? now : null;
      next.done_by = closing ? patch.actor : null;
    } else if (patch.status !== undefined && patch.status !== 'open' && onlyStatus(patch)) {
      throw new ConflictError(
        `${id} is already ${row.status} (since ${new Date(row.done_at ?? row.updated_at).toISOString()} by ${row.done_by ?? '?'})`,
      );
    }
    const { id: _id, seq: _seq, incident_id: _incident, created_at: _at, created_by: _by, ...changes } = next;
    await this.options.repository.updateActionItem(id, changes);
    return this.view(next);
  }

  async list(filter: ActionItemListFilter = {}): Promise<{ items: ActionItem[]; total: number }> {
    const { items, total } = await this.options.repository.listActionItems({
      status: filter.status,
      owner: filter.owner,
      overdue: filter.overdue,
      now: this.options.now(),
      incidentIds: filter.incidentId !== undefined ? [filter.incidentId] : undefined,
      limit: filter.limit,
    });
    return { items: items.map((r) => this.view(r)), total };
  }

  async forIncident(incidentId: string): Promise<ActionItem[]> {
    return (await this.list({ incidentId })).items;
  }

  private async row(id: string): Promise<ActionItemRow> {
    const row = await this.options.repository.getActionItem(id);
    if (!row) throw new NotFoundError(`no action item ${id}; list them with GET /api/v1/action-items`);
    return row;
  }

  private view(r: ActionItemRow): ActionItem {
    const now = this.options.now();
    return {
      id: r.id,
      incidentId: r.incident_id,
      title: r.title,
      owner: r.owner,
      dueAt: r.due_at,
      priority: r.priority as ActionItem['priority'],
      status: r.status as ActionItemStatus,
      link: r.link,
      createdAt: r.created_at,
      createdBy: r.created_by,
      updatedAt: r.updated_at,
      doneAt: r.done_at,
      doneBy: r.done_by,
      overdue: r.status === 'open' && r.due_at !== null && r.due_at < now,
    };
  }
}
