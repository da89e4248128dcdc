import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { ColumnTypes } from '../migrate.js';

// Placeholder: the tables arrive with their domain.
export function outboxMigration(_t: ColumnTypes): Migration {
  return {
    async up(_db: Kysely<unknown>) {},
  };
}
