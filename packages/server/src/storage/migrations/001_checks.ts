import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function checksMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('services')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('checks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('timing', 'text', (c) => c.notNull())
        .addColumn('spec_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('checks_service_idx').on('checks').columns(['service_id', 'id']).execute();

      await db.schema
        .createTable('check_status')
        .addColumn('check_id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('since', t.bigint, (c) => c.notNull())
        .addColumn('consecutive_successes', 'integer', (c) => c.notNull())
        .addColumn('consecutive_failures', 'integer', (c) => c.notNull())
        .addColumn('started', 'integer', (c) => c.notNull())
        .addColumn('last_run_at', t.bigint)
        .addColumn('last_status', 'text')
        .addColumn('last_latency_ms', t.double)
        .addColumn('last_message', 'text')
        .execute();
      await db.schema.createIndex('check_status_status_idx').on('check_status').columns(['status']).execute();

      await db.schema
        .createTable('check_results')
        .addColumn('id', t.serial, (c) => c.primaryKey())
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('latency_ms', t.double, (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('check_results_check_idx')
        .on('check_results')
        .columns(['check_id', 'started_at'])
        .execute();
      await db.schema
        .createIndex('check_results_time_idx')
        .on('check_results')
        .columns(['started_at'])
        .execute();

      await db.schema
        .createTable('check_rollups')
        .addColumn('check_id', 'text', (c) => c.notNull())
        .addColumn('resolution', 'text', (c) => c.notNull())
        .addColumn('bucket', t.bigint, (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('latency_sum', t.double, (c) => c.notNull())
        .addColumn('sketch', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('check_rollups_pk', ['check_id', 'resolution', 'bucket'])
        .execute();
      await db.schema
        .createIndex('check_rollups_time_idx')
        .on('check_rollups')
        .columns(['resolution', 'bucket'])
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('service_id', 'text')
        .addColumn('check_id', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_at_idx').on('events').columns(['at']).execute();
      await db.schema.createIndex('events_check_idx').on('events').columns(['check_id', 'at']).execute();
    },
  };
}
