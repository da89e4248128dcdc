// Series, raw samples and 1m/1h rollups of the metric store. NaN is stored as NULL on both engines:
// SQLite cannot hold a NaN REAL, and one representation keeps the two engines' rows identical.
import type { Kysely } from 'kysely';
import type { DB, SeriesTable } from './db.types.js';
import { chunks } from './chunks.js';

export type SeriesRow = SeriesTable;

export interface SampleRow {
  series_id: number;
  t: number;
  /** May be NaN or ±Infinity. */
  v: number;
}

export type RollupResolution = '1m' | '1h';

export interface MetricRollupRow {
  series_id: number;
  resolution: RollupResolution;
  bucket: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
}

export interface MetricBatch {
  series: SeriesRow[];
  samples: SampleRow[];
  rollups: MetricRollupRow[];
}

export interface MetricPurgeCutoffs {
  samples: number;
  minuteRollups: number;
  hourRollups: number;
}

// Parameters per statement stay far below SQLite's 32,766 and PostgreSQL's 65,535.
const SERIES_CHUNK = 500;
const SAMPLE_CHUNK = 2000;
const ROLLUP_CHUNK = 1000;
const ID_CHUNK = 500;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

const toDb = (v: number): number | null => (Number.isNaN(v) ? null : v);
const fromDb = (v: number | null): number => (v === null ? NaN : Number(v));

export class MetricRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** New series, samples and closed rollups in one transaction; replays of a batch are harmless. */
  async write(batch: MetricBatch): Promise<void> {
    if (batch.series.length + batch.samples.length + batch.rollups.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const rows of chunks(batch.series, SERIES_CHUNK))
        await trx
          .insertInto('series')
          .values(rows)
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      for (const rows of chunks(batch.samples, SAMPLE_CHUNK))
        await trx
          .insertInto('samples')
          .values(rows.map((r) => ({ series_id: r.series_id, t: r.t, v: toDb(r.v) })))
          .onConflict((oc) => oc.columns(['series_id', 't']).doNothing())
          .execute();
      await this.upsertRollups(batch.rollups, trx);
    });
  }

  /** A bucket's row carries the whole bucket, so a later write of the same bucket replaces it. */
  async upsertRollups(rows: MetricRollupRow[], db: Kysely<DB> = this.db): Promise<void> {
    for (const batch of chunks(rows, ROLLUP_CHUNK))
      await db
        .insertInto('sample_rollups')
        .values(
          batch.map((r) => ({
            series_id: r.series_id,
            resolution: r.resolution,
            bucket: r.bucket,
            count: r.count,
            sum: toDb(r.sum),
            min: toDb(r.min),
            max: toDb(r.max),
            last: toDb(r.last),
          })),
        )
        .onConflict((oc) =>
          oc.columns(['series_id', 'resolution', 'bucket']).doUpdateSet((eb) => ({
            count: eb.ref('excluded.count'),
            sum: eb.ref('excluded.sum'),
            min: eb.ref('excluded.min'),
            max: eb.ref('excluded.max'),
            last: eb.ref('excluded.last'),
          })),
        )
        .execute();
  }

  async loadSeries(): Promise<SeriesRow[]> {
    const rows = await this.db.selectFrom('series').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), created_at: Number(r.created_at) }));
  }

  /** Raw samples of these series with t in [from, to], ordered by series then time. */
  async samples(ids: readonly number[], from: number, to = MAX_TIME): Promise<SampleRow[]> {
    const out: SampleRow[] = [];
    for (const batch of chunks(
      [...ids].sort((a, b) => a - b),
      ID_CHUNK,
    )) {
      const rows = await this.db
        .selectFrom('samples')
        .select(['series_id', 't', 'v'])
        .where('series_id', 'in', batch)
        .where('t', '>=', from)
        .where('t', '<=', to)
        .orderBy('series_id')
        .orderBy('t')
        .execute();
      for (const r of rows) out.push({ series_id: Number(r.series_id), t: Number(r.t), v: fromDb(r.v) });
    }
    return out;
  }

  /** Rollups of these series with bucket start in [fromBucket, toBucket], ordered by series then time. */
  async rollups(
    resolution: RollupResolution,
    ids: readonly number[],
    fromBucket: number,
    toBucket: number,
  ): Promise<MetricRollupRow[]> {
    const out: MetricRollupRow[] = [];
    for (const batch of chunks(
      [...ids].sort((a, b) => a - b),
      ID_CHUNK,
    )) {
      const rows = await this.db
        .selectFrom('sample_rollups')
        .selectAll()
        .where('resolution', '=', resolution)
        .where('series_id', 'in', batch)
        .where('bucket', '>=', fromBucket)
        .where('bucket', '<=', toBucket)
        .orderBy('series_id')
        .orderBy('bucket')
        .execute();
      for (const r of rows)
        out.push({
          series_id: Number(r.series_id),
          resolution,
          bucket: Number(r.bucket),
          count: Number(r.count),
          sum: fromDb(r.sum),
          min: fromDb(r.min),
          max: fromDb(r.max),
          last: fromDb(r.last),
        });
    }
    return out;
  }

  async latestRollupBucket(resolution: RollupResolution): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('sample_rollups')
      .select((eb) => eb.fn.max('bucket').as('bucket'))
      .where('resolution', '=', resolution)
      .executeTakeFirst();
    return row?.bucket == null ? undefined : Number(row.bucket);
  }

  /** Deletes each tier's rows older than its cutoff; returns the rows removed per tier. */
  async purge(before: MetricPurgeCutoffs): Promise<{ samples: number; minutes: number; hours: number }> {
    const samples = await this.db.deleteFrom('samples').where('t', '<', before.samples).executeTakeFirst();
    const minutes = await this.db
      .deleteFrom('sample_rollups')
      .where('resolution', '=', '1m')
      .where('bucket', '<', before.minuteRollups)
      .executeTakeFirst();
    const hours = await this.db
      .deleteFrom('sample_rollups')
      .where('resolution', '=', '1h')
      .where('bucket', '<', before.hourRollups)
      .executeTakeFirst();
    return {
      samples: Number(samples.numDeletedRows),
      minutes: Number(minutes.numDeletedRows),
      hours: Number(hours.numDeletedRows),
    };
  }

  /** Series with no data left in any tier. */
  async emptySeries(): Promise<number[]> {
    const rows = await this.db
      .selectFrom('series')
      .select('id')
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('samples').select('t').whereRef('samples.series_id', '=', 'series.id'))),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('sample_rollups')
              .select('bucket')
              .whereRef('sample_rollups.series_id', '=', 'series.id'),
          ),
        ),
      )
      .execute();
    return rows.map((r) => Number(r.id));
  }

  async deleteSeries(ids: readonly number[]): Promise<void> {
    for (const batch of chunks(ids, ID_CHUNK))
      await this.db.deleteFrom('series').where('id', 'in', batch).execute();
  }
}
