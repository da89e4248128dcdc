import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

/** Maintenance runs of configured PostgreSQL databases, and the audit of cancel/terminate requests. */
export function postgresMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('db_maintenance_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('database_id', 'text', (c) => c.notNull())
        .addColumn('task', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('duration_ms', t.bigint)
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('output', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('db_maintenance_runs_task_idx')
        .on('db_maintenance_runs')
        .columns(['database_id', 'task', 'started_at'])
        .execute();

      await db.schema
        .createTable('db_backend_audit')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('database_id', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('query', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('db_backend_audit_database_idx')
        .on('db_backend_audit')
        .columns(['database_id', 'at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('db_backend_audit').execute();
      await db.schema.dropTable('db_maintenance_runs').execute();
    },
  };
}
