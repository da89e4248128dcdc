import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function alertsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('alerts')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('rule', 'text')
        .addColumn('alertname', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('service', 'text')
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('annotations', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('active_at', t.bigint, (c) => c.notNull())
        .addColumn('fired_at', t.bigint)
        .addColumn('resolved_at', t.bigint)
        .addColumn('expires_at', t.bigint)
        .addColumn('last_seen_at', t.bigint, (c) => c.notNull())
        .addColumn('value', t.double)
        .addColumn('generator_url', 'text', (c) => c.notNull())
        .addColumn('suppressed_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alerts_state_idx').on('alerts').columns(['state', 'severity']).execute();

      await db.schema
        .createTable('alert_history')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('alertname', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('service', 'text')
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('value', t.double)
        .addColumn('summary', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alert_history_at_idx').on('alert_history').columns(['at']).execute();
      await db.schema
        .createIndex('alert_history_fp_idx')
        .on('alert_history')
        .columns(['fingerprint', 'at'])
        .execute();

      await db.schema
        .createTable('silences')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', t.bigint, (c) => c.notNull())
        .addColumn('ends_at', t.bigint)
        .addColumn('until_resolved', 'integer', (c) => c.notNull())
        .addColumn('bound_fingerprints', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('expired_at', t.bigint)
        .execute();

      await db.schema
        .createTable('maintenance_windows')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('services', 'text', (c) => c.notNull())
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', t.bigint)
        .addColumn('ends_at', t.bigint)
        .addColumn('schedule', 'text')
        .addColumn('duration_ms', t.bigint)
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('expired_at', t.bigint)
        .execute();
    },
  };
}
