import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function oncallMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oncall_overrides')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('schedule_id', 'text', (c) => c.notNull())
        .addColumn('person', 'text', (c) => c.notNull())
        .addColumn('start_at', t.bigint, (c) => c.notNull())
        .addColumn('end_at', t.bigint, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('deleted_at', t.bigint)
        .addColumn('deleted_by', 'text')
        .execute();
      await db.schema
        .createIndex('oncall_overrides_schedule_idx')
        .on('oncall_overrides')
        .columns(['schedule_id', 'end_at'])
        .execute();

      await db.schema
        .createTable('escalations')
        .addColumn('incident_id', 'text', (c) => c.primaryKey())
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('loop', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('next_at', t.bigint)
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('escalations_status_idx').on('escalations').columns(['status']).execute();

      await db.schema
        .createTable('escalation_pages')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('loop', 'integer', (c) => c.notNull())
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('person', 'text')
        .addColumn('via', 'text', (c) => c.notNull())
        .addColumn('receivers', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createIndex('escalation_pages_incident_idx')
        .on('escalation_pages')
        .columns(['incident_id', 'id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('escalation_pages').execute();
      await db.schema.dropTable('escalations').execute();
      await db.schema.dropTable('oncall_overrides').execute();
    },
  };
}
