import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function deploymentsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('url', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('by', 'text')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      // Newest first, overall and per service (the overview and the service page).
      await db.schema
        .createIndex('deployments_started_idx')
        .on('deployments')
        .columns(['started_at', 'id'])
        .execute();
      await db.schema
        .createIndex('deployments_service_idx')
        .on('deployments')
        .columns(['service', 'started_at', 'id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('deployments').execute();
    },
  };
}
