// Verification of a restored database against its backup manifest: exact row counts and sample checksums.
// Both read every row of every table, which also proves each heap block is readable (the
// "pg_dump to /dev/null" pass of pgbackrest_auto).
import type pg from 'pg';
import type { DrillSampleCheck, DrillTableCount } from '@opsbook/contracts';
import type { BackupManifest } from './backup.types.js';
import { SAMPLE_KEYS, SAMPLE_SESSION_SQL, computeSampleChecksum } from './drill.sample.js';
import { quoteIdent } from './sql-text.js';

export interface CountResult {
  tables: DrillTableCount[];
  problems: string[];
  warnings: string[];
}

// The tables a backup lists (as the backup lists them: ordinary tables, partitions included, not
// extension members), to spot restored tables the manifest does not cover.
const USER_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1, 2`;

/** Counts every manifest table exactly; each difference is a problem, a table the manifest lacks a warning. */
export async function verifyRowCounts(
  client: pg.ClientBase,
  manifest: BackupManifest,
  signal?: AbortSignal,
): Promise<CountResult> {
  const tables: DrillTableCount[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const table of manifest.tables) {
    signal?.throwIfAborted();
    const label = `${table.schema}.${table.name}`;
    try {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`,
      );
      const actual = Number(rows[0]!.n);
      const ok = actual === table.rows;
      tables.push({ schema: table.schema, name: table.name, expected: table.rows, actual, ok });
      if (!ok)
        problems.push(`row count of ${label}: ${actual} restored, ${table.rows} in the backup manifest`);
    } catch (error) {
      tables.push({ schema: table.schema, name: table.name, expected: table.rows, actual: null, ok: false });
      problems.push(
        (error as { code?: string }).code === '42P01'
          ? `table ${label} is in the backup manifest but missing from the restored database`
          : `table ${label} could not be read: ${(error as Error).message}`,
      );
    }
  }
  const listed = new Set(manifest.tables.map((t) => `${t.schema}.${t.name}`));
  const { rows } = await client.query<{ schema: string; name: string }>(USER_TABLES);
  const extra = rows.map((r) => `${r.schema}.${r.name}`).filter((name) => !listed.has(name));
  if (extra.length > 0)
    warnings.push(
      `restored tables not in the backup manifest (not counted): ${extra.slice(0, 10).join(', ')}${extra.length > 10 ? ` and ${extra.length - 10} more` : ''}`,
    );
  return { tables, problems, warnings };
}

export interface SampleResult {
  samples: DrillSampleCheck[];
  problems: string[];
  warnings: string[];
}

/** Recomputes each manifest table's sample checksum; tables without one are reported as not available. */
export async function verifySamples(
  client: pg.ClientBase,
  manifest: BackupManifest,
  signal?: AbortSignal,
): Promise<SampleResult> {
  const samples: DrillSampleCheck[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const missing: string[] = [];
  await client.query(SAMPLE_SESSION_SQL);
  for (const table of manifest.tables) {
    signal?.throwIfAborted();
    const label = `${table.schema}.${table.name}`;
    const expected = table.sampleChecksum;
    const base = { schema: table.schema, name: table.name };
    if (!expected || expected.keys !== SAMPLE_KEYS) {
      samples.push({ ...base, status: 'unavailable', rows: null, expected: null, actual: null });
      if (expected)
        warnings.push(`sample checksum of ${label} uses "${expected.keys}", which drills cannot check`);
      else missing.push(label);
      continue;
    }
    if (expected.rows === 0) {
      samples.push({ ...base, status: 'match', rows: 0, expected: expected.md5, actual: expected.md5 });
      continue;
    }
    try {
      const actual = await computeSampleChecksum(client, table, expected.rows);
      const match = actual.md5 === expected.md5 && actual.rows === expected.rows;
      samples.push({
        ...base,
        status: match ? 'match' : 'mismatch',
        rows: actual.rows,
        expected: expected.md5,
        actual: actual.md5,
      });
      if (!match)
        problems.push(
          `sample checksum of ${label} differs: ${actual.md5} over ${actual.rows} restored rows, ${expected.md5} over ${expected.rows} in the backup`,
        );
    } catch (error) {
      samples.push({ ...base, status: 'error', rows: null, expected: expected.md5, actual: null });
      problems.push(`sample checksum of ${label} could not be computed: ${(error as Error).message}`);
    }
  }
  if (missing.length > 0)
    warnings.push(
      missing.length === manifest.tables.length
        ? 'sample checksum: not available in this backup (its manifest has no sampleChecksum)'
        : `sample checksum: not available in this backup for ${missing.join(', ')}`,
    );
  return { samples, problems, warnings };
}
