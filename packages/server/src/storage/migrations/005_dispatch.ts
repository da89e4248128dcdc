import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

// The dispatcher's notification log: per alert group and receiver, what was last sent.
export function dispatchMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dispatch_log')
        // A hash of group key and receiver: group keys can outgrow PostgreSQL's btree entry limit.
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('route_id', 'text', (c) => c.notNull())
        .addColumn('group_labels', 'text', (c) => c.notNull())
        .addColumn('sequence', t.bigint, (c) => c.notNull())
        .addColumn('firing_hash', 'text', (c) => c.notNull())
        .addColumn('firing', 'text', (c) => c.notNull())
        .addColumn('resolved', 'text', (c) => c.notNull())
        .addColumn('pending', 'text', (c) => c.notNull())
        .addColumn('notified_at', t.bigint)
        .addColumn('next_flush_at', t.bigint)
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('dispatch_log_updated_idx')
        .on('dispatch_log')
        .columns(['updated_at'])
        .execute();
    },
  };
}
