import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function backupsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('backups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('database', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('size_bytes', t.bigint)
        .addColumn('error', 'text')
        .addColumn('manifest', 'text')
        .execute();
      await db.schema
        .createIndex('backups_database_idx')
        .on('backups')
        .columns(['database', 'started_at'])
        .execute();

      await db.schema
        .createTable('backup_copies')
        .addColumn('backup_id', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('at', t.bigint)
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('backup_copies_pk', ['backup_id', 'target'])
        .execute();

      await db.schema
        .createTable('backup_watch')
        .addColumn('database', 'text', (c) => c.primaryKey())
        .addColumn('first_seen_at', t.bigint, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('backup_watch').execute();
      await db.schema.dropTable('backup_copies').execute();
      await db.schema.dropTable('backups').execute();
    },
  };
}
