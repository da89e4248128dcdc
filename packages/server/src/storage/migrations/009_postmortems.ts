import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function postmortemsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('postmortems')
        .addColumn('incident_id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('impact', 'text', (c) => c.notNull())
        .addColumn('root_cause', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('resolution', 'text', (c) => c.notNull())
        .addColumn('went_well', 'text', (c) => c.notNull())
        .addColumn('went_wrong', 'text', (c) => c.notNull())
        .addColumn('got_lucky', 'text', (c) => c.notNull())
        .addColumn('author', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('published_at', t.bigint)
        .addColumn('published_by', 'text')
        .execute();

      await db.schema
        .createTable('action_items')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('seq', t.bigint, (c) => c.notNull().unique())
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('due_at', t.bigint)
        .addColumn('priority', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('link', 'text')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addColumn('done_at', t.bigint)
        .addColumn('done_by', 'text')
        .execute();
      await db.schema
        .createIndex('action_items_incident_idx')
        .on('action_items')
        .columns(['incident_id'])
        .execute();
      // The cross-incident listing asks for open items, often by owner or by due date.
      await db.schema
        .createIndex('action_items_status_due_idx')
        .on('action_items')
        .columns(['status', 'due_at'])
        .execute();
    },
  };
}
