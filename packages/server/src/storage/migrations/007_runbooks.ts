import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function runbooksMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('runbook_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('runbook_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .execute();
      await db.schema.createIndex('runbook_runs_status_idx').on('runbook_runs').columns(['status']).execute();

      await db.schema
        .createTable('runbook_steps')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('destructive', 'integer', (c) => c.notNull())
        .addColumn('started_at', t.bigint)
        .addColumn('finished_at', t.bigint)
        .addColumn('deadline', t.bigint)
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addPrimaryKeyConstraint('runbook_steps_pk', ['run_id', 'step_id'])
        .execute();

      await db.schema
        .createTable('runbook_audit')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('runbook_audit_run_idx')
        .on('runbook_audit')
        .columns(['run_id', 'at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('runbook_audit').execute();
      await db.schema.dropTable('runbook_steps').execute();
      await db.schema.dropTable('runbook_runs').execute();
    },
  };
}
