import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function drillsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('drills')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('database', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('backup_id', 'text')
        .addColumn('started_at', t.bigint, (c) => c.notNull())
        .addColumn('finished_at', t.bigint)
        .addColumn('rto_ms', t.bigint)
        .addColumn('rpo_ms', t.bigint)
        .addColumn('problems', 'integer', (c) => c.notNull())
        .addColumn('phase', 'text')
        .addColumn('report', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('drills_database_started_idx')
        .on('drills')
        .columns(['database', 'started_at'])
        .execute();
      await db.schema.createIndex('drills_started_idx').on('drills').columns(['started_at']).execute();

      await db.schema
        .createTable('drill_watch')
        .addColumn('database', 'text', (c) => c.primaryKey())
        .addColumn('since', t.bigint, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('drill_watch').execute();
      await db.schema.dropTable('drills').execute();
    },
  };
}
