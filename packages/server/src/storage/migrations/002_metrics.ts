import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

// Metric series, raw samples and their 1m/1h rollups (telemetry/metric-store.ts).
export function metricsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('series')
        .addColumn('id', t.bigint, (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('labels_key', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .execute();

      // The primary key doubles as the (series, time) index every read uses.
      await db.schema
        .createTable('samples')
        .addColumn('series_id', t.bigint, (c) => c.notNull())
        .addColumn('t', t.bigint, (c) => c.notNull())
        .addColumn('v', t.double)
        .addPrimaryKeyConstraint('samples_pk', ['series_id', 't'])
        .execute();
      await db.schema.createIndex('samples_t_idx').on('samples').columns(['t']).execute();

      await db.schema
        .createTable('sample_rollups')
        .addColumn('series_id', t.bigint, (c) => c.notNull())
        .addColumn('resolution', 'text', (c) => c.notNull())
        .addColumn('bucket', t.bigint, (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('sum', t.double)
        .addColumn('min', t.double)
        .addColumn('max', t.double)
        .addColumn('last', t.double)
        .addPrimaryKeyConstraint('sample_rollups_pk', ['series_id', 'resolution', 'bucket'])
        .execute();
      await db.schema
        .createIndex('sample_rollups_time_idx')
        .on('sample_rollups')
        .columns(['resolution', 'bucket'])
        .execute();
    },
  };
}
