import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

// The notification outbox: one row per notification and receiver channel, written before sending,
// and every attempt to send it.
export function outboxMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notification_deliveries')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('lane', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('sequence', t.bigint, (c) => c.notNull())
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('notification_status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('alert_count', 'integer', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('last_status', 'integer')
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addColumn('next_attempt_at', t.bigint)
        .addColumn('delivered_at', t.bigint)
        .execute();
      // The worker's two questions: what is due, and is an earlier delivery of the lane still open.
      await db.schema
        .createIndex('notification_deliveries_due_idx')
        .on('notification_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('notification_deliveries_lane_idx')
        .on('notification_deliveries')
        .columns(['lane', 'sequence'])
        .execute();
      await db.schema
        .createIndex('notification_deliveries_group_idx')
        .on('notification_deliveries')
        .columns(['group_key', 'id'])
        .execute();

      await db.schema
        .createTable('notification_attempts')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('delivery_id', t.bigint, (c) =>
          c.notNull().references('notification_deliveries.id').onDelete('cascade'),
        )
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('duration_ms', t.double, (c) => c.notNull())
        .addColumn('ok', 'integer', (c) => c.notNull())
        .addColumn('retryable', 'integer', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('response', 'text')
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createIndex('notification_attempts_delivery_idx')
        .on('notification_attempts')
        .columns(['delivery_id', 'attempt'])
        .execute();
    },
  };
}
