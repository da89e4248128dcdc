import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

export function incidentsMigration(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('seq', t.bigint, (c) => c.notNull().unique())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('services', 'text', (c) => c.notNull())
        .addColumn('alert_group', 'text')
        .addColumn('commander', 'text')
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('stage_history', 'text', (c) => c.notNull())
        .addColumn('created_at', t.bigint, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('acknowledged_at', t.bigint)
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', t.bigint)
        .addColumn('closed_at', t.bigint)
        .addColumn('response_due_at', t.bigint, (c) => c.notNull())
        .addColumn('response_breached_at', t.bigint)
        .addColumn('resolution_due_at', t.bigint)
        .addColumn('resolution_breached_at', t.bigint)
        .addColumn('alerts_resolved_at', t.bigint)
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incidents_stage_idx')
        .on('incidents')
        .columns(['stage', 'created_at'])
        .execute();

      await db.schema
        .createTable('incident_timeline')
        .addColumn('id', t.serial, (c) =>
          t.serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('at', t.bigint, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incident_timeline_incident_idx')
        .on('incident_timeline')
        .columns(['incident_id', 'at'])
        .execute();

      await db.schema
        .createTable('incident_alerts')
        .addColumn('incident_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('alertname', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('first_firing_at', t.bigint, (c) => c.notNull())
        .addColumn('resolved_at', t.bigint)
        .addPrimaryKeyConstraint('incident_alerts_pk', ['incident_id', 'fingerprint'])
        .execute();
      await db.schema
        .createIndex('incident_alerts_fp_idx')
        .on('incident_alerts')
        .columns(['fingerprint'])
        .execute();
    },
  };
}
