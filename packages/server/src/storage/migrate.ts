import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { Engine, Store } from './db.js';
import { checksMigration } from './migrations/001_checks.js';
import { metricsMigration } from './migrations/002_metrics.js';
import { alertsMigration } from './migrations/003_alerts.js';
import { outboxMigration } from './migrations/004_outbox.js';
import { dispatchMigration } from './migrations/005_dispatch.js';
import { incidentsMigration } from './migrations/006_incidents.js';
import { runbooksMigration } from './migrations/007_runbooks.js';
import { oncallMigration } from './migrations/008_oncall.js';
import { postmortemsMigration } from './migrations/009_postmortems.js';
import { postgresMigration } from './migrations/010_postgres.js';
import { backupsMigration } from './migrations/011_backups.js';
import { drillsMigration } from './migrations/012_drills.js';
import { pitrMigration } from './migrations/013_pitr.js';
import { authMigration } from './migrations/014_auth.js';
import { deploymentsMigration } from './migrations/015_deployments.js';

export type ColumnTypes = ReturnType<typeof columnTypes>;

/** The few types that differ between the engines; everything else is portable. */
export function columnTypes(engine: Engine) {
  return {
    /** Epoch milliseconds and other large integers. */
    bigint: engine === 'postgres' ? ('bigint' as const) : ('integer' as const),
    double: engine === 'postgres' ? ('double precision' as const) : ('real' as const),
    serial: engine === 'postgres' ? ('bigserial' as const) : ('integer' as const),
  };
}

function migrations(engine: Engine): Record<string, Migration> {
  const types = columnTypes(engine);
  return {
    '001_checks': checksMigration(types),
    '002_metrics': metricsMigration(types),
    '003_alerts': alertsMigration(types),
    '004_outbox': outboxMigration(types),
    '005_dispatch': dispatchMigration(types),
    '006_incidents': incidentsMigration(types),
    '007_runbooks': runbooksMigration(types),
    '008_oncall': oncallMigration(types),
    '009_postmortems': postmortemsMigration(types),
    '010_postgres': postgresMigration(types),
    '011_backups': backupsMigration(types),
    '012_drills': drillsMigration(types),
    '013_pitr': pitrMigration(types),
    '014_auth': authMigration(types),
    '015_deployments': deploymentsMigration(types),
  };
}

/** Runs every pending migration; throws with the failing migration's name. */
export async function migrate(store: Store): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(store.engine) };
  const migrator = new Migrator({ db: store.db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
