// Post-mortems (guide 4.2 stage 5): one per incident, drafted from the incident when it is resolved,
// written by people, published; severities in incidents.postmortem.requiredFor cannot close without one.
import type { Logger } from 'pino';
import type { IncidentsConfig } from '../config/incidents.schema.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import type { PostmortemRepository, PostmortemRow } from '../storage/postmortem.repository.js';
import { ActionItemService } from './action-item.service.js';
import { formatDuration } from './format.js';
import { IncidentReports } from './incident-report.js';
import type { IncidentService } from './incident.service.js';
import { ACTIVE_STAGES, SYSTEM_ACTOR, type Incident, type IncidentWithTimeline } from './incident.types.js';
import { renderPostmortem, utc } from './postmortem.markdown.js';
import type { Postmortem, PostmortemPatch, PostmortemWithItems } from './postmortem.types.js';

export interface PostmortemServiceOptions {
  repository: PostmortemRepository;
  incidents: Pick<IncidentService, 'get' | 'list'>;
  config: IncidentsConfig;
  logger: Logger;
  now?: () => number;
  /** How often start() drafts post-mortems for newly resolved incidents; default 10 s. */
  sweepIntervalMs?: number;
}

export class PostmortemService {
  readonly actionItems: ActionItemService;
  readonly reports: IncidentReports;
  private config: IncidentsConfig;
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PostmortemServiceOptions) {
    this.now = options.now ?? Date.now;
    this.config = options.config;
    this.actionItems = new ActionItemService({
      repository: options.repository,
      incidents: options.incidents,
      now: this.now,
    });
    this.reports = new IncidentReports({
      repository: options.repository,
      config: () => this.config,
      now: this.now,
    });
  }

  configure(config: IncidentsConfig): void {
    this.config = config;
  }

  /** Drafts a post-mortem for every incident in post-incident that has none, now and periodically. */
  start(): void {
    if (this.timer) return;
    const sweep = () =>
      void this.draftResolved().catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'post-mortem drafting failed; will retry'),
      );
    sweep();
    this.timer = setInterval(sweep, this.options.sweepIntervalMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  /** Drafts the missing post-mortems of incidents in post-incident; returns their ids. */
  draftResolved(): Promise<string[]> {
    return this.enqueue(async () => {
      const resolved = await this.options.incidents.list({ stage: 'post-incident' });
      const have = new Set(
        (await this.options.repository.forIncidents(resolved.map((i) => i.id))).map((p) => p.incident_id),
      );
      const drafted: string[] = [];
      for (const incident of resolved.filter((i) => !have.has(i.id))) {
        if (await this.options.repository.insert(this.draft(incident, SYSTEM_ACTOR)))
          drafted.push(incident.id);
      }
      if (drafted.length) this.options.logger.info({ incidents: drafted }, 'post-mortems drafted');
      return drafted;
    });
  }

  /**
   * The incident's post-mortem. A resolved or closed incident without one gets its draft now (the
   * sweep may not have run yet); an open incident has none until someone starts it with update().
   */
  async get(incidentId: string): Promise<PostmortemWithItems> {
    const { incident, row } = await this.load(incidentId);
    return this.view(incident, row);
  }

  /** The post-mortem as Markdown (drafting it first, as get() does). */
  async markdown(incidentId: string): Promise<string> {
    const { incident, row } = await this.load(incidentId);
    const {
      required: _r,
      dueAt: _d,
      overdue: _o,
      actionItems,
      ...postmortem
    } = await this.view(incident, row);
    return renderPostmortem({ incident, postmortem, actionItems, now: this.now() });
  }

  async update(incidentId: string, patch: PostmortemPatch): Promise<PostmortemWithItems> {
    const incident = await this.options.incidents.get(incidentId);
    const row = await this.enqueue(async () => {
      const now = this.now();
      let current = await this.options.repository.get(incidentId);
      if (!current) {
        await this.options.repository.insert(this.draft(incident, patch.actor));
        current = (await this.options.repository.get(incidentId))!;
      }
      if (patch.version !== undefined && patch.version !== current.version)
        throw new ConflictError(
          `the post-mortem of ${incidentId} changed since version ${patch.version}: it is version ${current.version}, saved by ${current.updated_by} at ${utc(current.updated_at)}; read it again and reapply your change`,
        );
      const next: PostmortemRow = {
        ...current,
        summary: patch.summary ?? current.summary,
        impact: patch.impact ?? current.impact,
        root_cause: patch.rootCause ?? current.root_cause,
        trigger: patch.trigger ?? current.trigger,
        resolution: patch.resolution ?? current.resolution,
        went_well: patch.lessons?.wentWell ?? current.went_well,
        went_wrong: patch.lessons?.wentWrong ?? current.went_wrong,
        got_lucky: patch.lessons?.gotLucky ?? current.got_lucky,
        // Whoever first writes an unowned post-mortem becomes its author.
        author: patch.author !== undefined ? patch.author : (current.author ?? patch.actor),
        version: current.version + 1,
        updated_at: now,
        updated_by: patch.actor,
      };
      const status = patch.status ?? (current.status as Postmortem['status']);
      if (status !== current.status) this.checkStatusChange(incident, next, status, now, patch.actor);
      const { incident_id: _id, created_at: _at, created_by: _by, ...changes } = next;
      if (!(await this.options.repository.update(incidentId, current.version, changes)))
        throw new ConflictError(
          `the post-mortem of ${incidentId} was changed by someone else just now; read it again and reapply your change`,
        );
      return next;
    });
    return this.view(incident, row);
  }

  /** IncidentService's close guard: listed severities close only with a published post-mortem. */
  readonly canClose = async (incident: Incident): Promise<void> => {
    if (!this.config.postmortem.requiredFor.includes(incident.severity)) return;
    const row = await this.options.repository.get(incident.id);
    if (row?.status === 'published') return;
    throw new ConflictError(
      `${incident.id} is ${incident.severity} and its post-mortem is ${row ? row.status : 'not started'}; publish the post-mortem first: PUT /api/v1/incidents/${incident.id}/postmortem {"status": "published", "actor": "<you>"} or opsbook incidents postmortem ${incident.id} --status published (severities needing one: incidents.postmortem.requiredFor)`,
    );
  };

  private async load(incidentId: string): Promise<{ incident: IncidentWithTimeline; row: PostmortemRow }> {
    const incident = await this.options.incidents.get(incidentId);
    const row = await this.options.repository.get(incidentId);
    if (row) return { incident, row };
    if (ACTIVE_STAGES.includes(incident.stage))
      throw new NotFoundError(
        `${incidentId} has no post-mortem yet: it is drafted when the incident is resolved; to start one now: PUT /api/v1/incidents/${incidentId}/postmortem {"actor": "<you>"} or opsbook incidents postmortem ${incidentId} --summary "..."`,
      );
    return {
      incident,
      row: await this.enqueue(async () => {
        await this.options.repository.insert(this.draft(incident, SYSTEM_ACTOR));
        return (await this.options.repository.get(incidentId))!;
      }),
    };
  }

  private checkStatusChange(
    incident: Incident,
    next: PostmortemRow,
    status: Postmortem['status'],
    now: number,
    actor: string,
  ): void {
    if (status === 'published') {
      if (ACTIVE_STAGES.includes(incident.stage))
        throw new ConflictError(
          `${incident.id} is still in ${incident.stage}; resolve it (POST /api/v1/incidents/${incident.id}/resolve) before publishing its post-mortem`,
        );
      if (!next.summary.trim())
        throw new InputError('a published post-mortem needs a summary; send "summary" too', 'summary');
      if (!next.root_cause.trim())
        throw new InputError('a published post-mortem needs a root cause; send "rootCause" too', 'rootCause');
      next.published_at = now;
      next.published_by = actor;
    } else {
      if (incident.stage === 'closed' && next.status === 'published')
        throw new ConflictError(
          `${incident.id} is closed; its post-mortem stays published (edit it without changing status)`,
        );
      next.published_at = null;
      next.published_by = null;
    }
    next.status = status;
  }

  /** A draft prefilled with what the incident already knows; people write the rest. */
  private draft(i: Incident, actor: string): PostmortemRow {
    const now = this.now();
    const services = i.services.join(', ');
    const acknowledged =
      i.acknowledgedAt === null
        ? 'It was never acknowledged'
        : `It was acknowledged after ${formatDuration(i.acknowledgedAt - i.createdAt)} by ${i.acknowledgedBy ?? '?'}`;
    const resolved =
      i.resolvedAt === null ? '' : ` and resolved after ${formatDuration(i.resolvedAt - i.createdAt)}`;
    const summary = `${i.title}: a ${i.severity} incident${services ? ` affecting ${services}` : ''}, detected ${utc(i.createdAt)}. ${acknowledged}${resolved}.`;
    const impact = services
      ? `Affected services: ${services}.${i.resolvedAt === null ? '' : ` Detection to resolution: ${formatDuration(i.resolvedAt - i.createdAt)}.`}`
      : '';
    const trigger = i.alerts.length
      ? i.alerts
          .map(
            (a) =>
              `- Alert ${a.alertname}${a.labels.service ? ` on ${a.labels.service}` : ''} firing since ${utc(a.firstFiringAt)}`,
          )
          .join('\n')
      : `Declared by ${i.createdBy}.`;
    return {
      incident_id: i.id,
      status: 'draft',
      summary,
      impact,
      root_cause: '',
      trigger,
      resolution: '',
      went_well: '',
      went_wrong: '',
      got_lucky: '',
      author: i.commander,
      version: 1,
      created_at: now,
      created_by: actor,
      updated_at: now,
      updated_by: actor,
      published_at: null,
      published_by: null,
    };
  }

  private async view(incident: Incident, r: PostmortemRow): Promise<PostmortemWithItems> {
    const required = this.config.postmortem.requiredFor.includes(incident.severity);
    const dueAt =
      required && incident.resolvedAt !== null
        ? incident.resolvedAt + this.config.postmortem.dueWithin
        : null;
    return {
      incidentId: r.incident_id,
      status: r.status as Postmortem['status'],
      summary: r.summary,
      impact: r.impact,
      rootCause: r.root_cause,
      trigger: r.trigger,
      resolution: r.resolution,
      lessons: { wentWell: r.went_well, wentWrong: r.went_wrong, gotLucky: r.got_lucky },
      author: r.author,
      version: r.version,
      createdAt: r.created_at,
      createdBy: r.created_by,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by,
      publishedAt: r.published_at,
      publishedBy: r.published_by,
      required,
      dueAt,
      overdue: dueAt !== null && r.status !== 'published' && this.now() > dueAt,
      actionItems: await this.actionItems.forIncident(incident.id),
    };
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
