import { sql, type Kysely } from 'kysely';
import type { CheckStatusTable, ChecksTable, DB, ServicesTable } from './db.types.js';
import { chunks } from './chunks.js';

export type CheckRow = ChecksTable;
export type CheckStatusRow = CheckStatusTable;
export type ServiceRow = ServicesTable;

export interface CheckListFilter {
  service?: string;
  status?: string;
  role?: string;
  kind?: string;
  /** Return checks whose id sorts after this one (keyset pagination). */
  after?: string;
  limit: number;
}

/** A check as listed: what the API shows of it (no spec) with its current state. */
export type CheckListRow = Pick<
  CheckRow,
  'id' | 'service_id' | 'name' | 'description' | 'kind' | 'role' | 'target' | 'timing'
> &
  Partial<Omit<CheckStatusRow, 'check_id'>>;

export class CheckRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Makes the stored services and checks match the config, in one transaction. */
  async syncDefinitions(services: ServiceRow[], checks: CheckRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const batch of chunks(services, 500)) {
        await trx
          .insertInto('services')
          .values(batch)
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              owner: eb.ref('excluded.owner'),
              environment: eb.ref('excluded.environment'),
              description: eb.ref('excluded.description'),
              tags: eb.ref('excluded.tags'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      for (const batch of chunks(checks, 500)) {
        await trx
          .insertInto('checks')
          .values(batch)
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              service_id: eb.ref('excluded.service_id'),
              name: eb.ref('excluded.name'),
              kind: eb.ref('excluded.kind'),
              role: eb.ref('excluded.role'),
              target: eb.ref('excluded.target'),
              description: eb.ref('excluded.description'),
              spec: eb.ref('excluded.spec'),
              timing: eb.ref('excluded.timing'),
              spec_hash: eb.ref('excluded.spec_hash'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      const keepChecks = new Set(checks.map((c) => c.id));
      const storedChecks = await trx.selectFrom('checks').select('id').execute();
      const goneChecks = storedChecks.map((c) => c.id).filter((id) => !keepChecks.has(id));
      for (const batch of chunks(goneChecks, 500)) {
        await trx.deleteFrom('check_status').where('check_id', 'in', batch).execute();
        await trx.deleteFrom('checks').where('id', 'in', batch).execute();
      }
      const keepServices = new Set(services.map((s) => s.id));
      const storedServices = await trx.selectFrom('services').select('id').execute();
      const goneServices = storedServices.map((s) => s.id).filter((id) => !keepServices.has(id));
      for (const batch of chunks(goneServices, 500))
        await trx.deleteFrom('services').where('id', 'in', batch).execute();
    });
  }

  async loadStatuses(): Promise<Map<string, CheckStatusRow & { spec_hash: string }>> {
    const rows = await this.db
      .selectFrom('check_status')
      .innerJoin('checks', 'checks.id', 'check_status.check_id')
      .selectAll('check_status')
      .select('checks.spec_hash')
      .execute();
    return new Map(rows.map((row) => [row.check_id, row]));
  }

  async saveStatuses(rows: CheckStatusRow[], db: Kysely<DB> = this.db): Promise<void> {
    for (const batch of chunks(rows, 500)) {
      await db
        .insertInto('check_status')
        .values(batch)
        .onConflict((oc) =>
          oc.column('check_id').doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            since: eb.ref('excluded.since'),
            consecutive_successes: eb.ref('excluded.consecutive_successes'),
            consecutive_failures: eb.ref('excluded.consecutive_failures'),
            started: eb.ref('excluded.started'),
            last_run_at: eb.ref('excluded.last_run_at'),
            last_status: eb.ref('excluded.last_status'),
            last_latency_ms: eb.ref('excluded.last_latency_ms'),
            last_message: eb.ref('excluded.last_message'),
          })),
        )
        .execute();
    }
  }

  private withStatus() {
    return this.db
      .selectFrom('checks')
      .leftJoin('check_status', 'check_status.check_id', 'checks.id')
      .select([
        'checks.id',
        'checks.service_id',
        'checks.name',
        'checks.description',
        'checks.kind',
        'checks.role',
        'checks.target',
        'checks.timing',
        'check_status.status',
        'check_status.since',
        'check_status.consecutive_successes',
        'check_status.consecutive_failures',
        'check_status.started',
        'check_status.last_run_at',
        'check_status.last_status',
        'check_status.last_latency_ms',
        'check_status.last_message',
      ]);
  }

  /**
   * Current state of every check: the page is one query read in primary-key order (a window count in
   * the same query made SQLite sort every row); `total` comes from a separate count.
   */
  async list(filter: CheckListFilter): Promise<{ rows: CheckListRow[]; total: number }> {
    const page = await this.filtered(this.withStatus(), filter)
      .$if(filter.after !== undefined, (q) => q.where('checks.id', '>', filter.after!))
      .orderBy('checks.id')
      .limit(filter.limit)
      .execute();
    const counted = await this.filtered(
      this.db
        .selectFrom('checks')
        .leftJoin('check_status', 'check_status.check_id', 'checks.id')
        .select(sql<number>`count(*)`.as('total')),
      filter,
    ).executeTakeFirst();
    return { rows: page as CheckListRow[], total: Number(counted?.total ?? 0) };
  }

  private filtered<Q extends { where: (...args: never[]) => unknown }>(query: Q, filter: CheckListFilter): Q {
    /* eslint-disable @typescript-eslint/no-explicit-any -- the same filters apply to two query shapes */
    let q = query as any;
    if (filter.service) q = q.where('checks.service_id', '=', filter.service);
    if (filter.role) q = q.where('checks.role', '=', filter.role);
    if (filter.kind) q = q.where('checks.kind', '=', filter.kind);
    if (filter.status)
      q =
        filter.status === 'unknown'
          ? q.where((eb: any) =>
              eb.or([eb('check_status.status', 'is', null), eb('check_status.status', '=', 'unknown')]),
            )
          : q.where('check_status.status', '=', filter.status);
    /* eslint-enable @typescript-eslint/no-explicit-any */
    return q as Q;
  }

  async get(id: string): Promise<(CheckListRow & { spec: string }) | undefined> {
    const row = await this.withStatus().select('checks.spec').where('checks.id', '=', id).executeTakeFirst();
    return row as (CheckListRow & { spec: string }) | undefined;
  }

  async listServices(): Promise<ServiceRow[]> {
    return this.db.selectFrom('services').selectAll().orderBy('id').execute();
  }

  /** Number of checks per service and status, for service health without loading every check. */
  async countByServiceAndStatus(): Promise<{ service_id: string; status: string | null; count: number }[]> {
    const rows = await this.db
      .selectFrom('checks')
      .leftJoin('check_status', 'check_status.check_id', 'checks.id')
      .select(['checks.service_id', 'check_status.status', sql<number>`count(*)`.as('count')])
      .groupBy(['checks.service_id', 'check_status.status'])
      .execute();
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }
}
