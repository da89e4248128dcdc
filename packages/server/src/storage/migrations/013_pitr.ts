import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function pitrMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pitr_backups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('database', 'text', (c) => c.notNull())
        .addColumn('stanza', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('label', 'text')
        .addColumn('progress', t.double, (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('duration_ms', t.bigint)
        .addColumn('size_bytes', t.bigint)
        .addColumn('repo_size_bytes', t.bigint)
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createIndex('pitr_backups_database_idx')
        .on('pitr_backups')
        .columns(['database', 'started_at'])
        .execute();

      await db.schema
        .createTable('pitr_restores')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('database', 'text', (c) => c.notNull())
        .addColumn('stanza', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('progress', t.double, (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('target_time', t.bigint, (c) => c.notNull())
        .addColumn('pg_data', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('bin_dir', 'text')
        .addColumn('pg_user', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('backup_label', 'text')
        .addColumn('connection_url', 'text')
        .addColumn('recovered_to', 'text')
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('duration_ms', t.bigint)
        .addColumn('error', 'text')
        .addColumn('phases', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('pitr_restores_database_idx')
        .on('pitr_restores')
        .columns(['database', 'started_at'])
        .execute();

      await db.schema
        .createTable('pitr_audit')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('database', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pitr_audit_at_idx').on('pitr_audit').columns(['database', 'at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('pitr_audit').execute();
      await db.schema.dropTable('pitr_restores').execute();
      await db.schema.dropTable('pitr_backups').execute();
    },
  };
}
