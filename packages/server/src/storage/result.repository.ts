import type { Insertable, Kysely } from 'kysely';
import type { CheckResultsTable, CheckRollupsTable, DB } from './db.types.js';
import { chunks } from './chunks.js';

export type NewResult = Insertable<CheckResultsTable>;
export type RollupRow = CheckRollupsTable;

export class ResultRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertResults(rows: NewResult[], db: Kysely<DB> = this.db): Promise<void> {
    for (const batch of chunks(rows, 400)) await db.insertInto('check_results').values(batch).execute();
  }

  async listResults(checkId: string, from: number, to: number, limit: number) {
    return this.db
      .selectFrom('check_results')
      .select(['started_at', 'status', 'latency_ms', 'message', 'detail'])
      .where('check_id', '=', checkId)
      .where('started_at', '>=', from)
      .where('started_at', '<', to)
      .orderBy('started_at', 'desc')
      .limit(limit)
      .execute();
  }

  /** Raw results in [from, to), oldest first, for rebuilding rollups after a crash. */
  async resultsBetween(from: number, to: number) {
    return this.db
      .selectFrom('check_results')
      .select(['check_id', 'started_at', 'status', 'latency_ms'])
      .where('started_at', '>=', from)
      .where('started_at', '<', to)
      .orderBy('started_at')
      .execute();
  }

  async upsertRollups(rows: RollupRow[], db: Kysely<DB> = this.db): Promise<void> {
    for (const batch of chunks(rows, 400)) {
      await db
        .insertInto('check_rollups')
        .values(batch)
        .onConflict((oc) =>
          oc.columns(['check_id', 'resolution', 'bucket']).doUpdateSet((eb) => ({
            count: eb.ref('excluded.count'),
            failures: eb.ref('excluded.failures'),
            latency_sum: eb.ref('excluded.latency_sum'),
            sketch: eb.ref('excluded.sketch'),
          })),
        )
        .execute();
    }
  }

  /** Rollups of one resolution with bucket in [from, to), for one check or all. */
  async rollups(resolution: '1m' | '1h', from: number, to: number, checkId?: string): Promise<RollupRow[]> {
    return this.db
      .selectFrom('check_rollups')
      .selectAll()
      .where('resolution', '=', resolution)
      .where('bucket', '>=', from)
      .where('bucket', '<', to)
      .$if(checkId !== undefined, (q) => q.where('check_id', '=', checkId!))
      .orderBy('bucket')
      .execute();
  }

  /** Rollups of several checks in [from, to), chunked to stay under parameter limits. */
  async rollupsOf(
    resolution: '1m' | '1h',
    from: number,
    to: number,
    checkIds: string[],
  ): Promise<RollupRow[]> {
    const rows: RollupRow[] = [];
    for (const batch of chunks(checkIds, 500)) {
      rows.push(
        ...(await this.db
          .selectFrom('check_rollups')
          .selectAll()
          .where('resolution', '=', resolution)
          .where('bucket', '>=', from)
          .where('bucket', '<', to)
          .where('check_id', 'in', batch)
          .execute()),
      );
    }
    return rows;
  }

  async latestRollupBucket(resolution: '1m' | '1h'): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('check_rollups')
      .select((eb) => eb.fn.max('bucket').as('bucket'))
      .where('resolution', '=', resolution)
      .executeTakeFirst();
    return row?.bucket == null ? undefined : Number(row.bucket);
  }

  /** Deletes data older than each tier's retention; returns rows removed. */
  async purge(before: { results: number; minuteRollups: number; hourRollups: number }): Promise<number> {
    const results = await this.db
      .deleteFrom('check_results')
      .where('started_at', '<', before.results)
      .executeTakeFirst();
    const minutes = await this.db
      .deleteFrom('check_rollups')
      .where('resolution', '=', '1m')
      .where('bucket', '<', before.minuteRollups)
      .executeTakeFirst();
    const hours = await this.db
      .deleteFrom('check_rollups')
      .where('resolution', '=', '1h')
      .where('bucket', '<', before.hourRollups)
      .executeTakeFirst();
    return [results, minutes, hours].reduce((sum, r) => sum + Number(r.numDeletedRows), 0);
  }
}
