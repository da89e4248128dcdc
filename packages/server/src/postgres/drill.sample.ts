// Sample checksums: the one check of restored rows that is not circular.
//
// Comparing the restored database with the dump proves nothing (pg_restore wrote what it read), and
// comparing with the live source fails as soon as the source changes after the snapshot. So the backup
// computes the checksum inside the same snapshot pg_dump reads (ManifestTable.sampleChecksum), and the
// drill computes it again in the restored database: equal digests mean those rows survived dump,
// storage, copy and restore byte for byte, in their text form.
//
// Which rows: the N rows with the smallest md5 of their text, a pseudo-random sample spread over the
// whole table that needs no primary key and picks the same rows wherever the data is identical. Ties
// (identical rows) have identical text, so the digest is still deterministic. The cost is one
// sequential scan with a top-N sort per table, the same order of work as the exact row count.
import { quoteIdent } from './sql-text.js';

/** Names the sampling method in the manifest, so a future method is never compared with this one. */
export const SAMPLE_KEYS = 'md5(row::text)';

/**
 * Text output of dates, floats, bytea and money depends on session settings; pin them before sampling
 * (run on the connection that samples, inside the snapshot's transaction for a backup).
 */
export const SAMPLE_SESSION_SQL = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 1',
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
].join('; ');

export interface SampleChecksum {
  keys: string;
  rows: number;
  md5: string;
}

/**
 * One row, `rows` (int) and `md5` (text), over the sample of at most `n` rows of the table.
 * COLLATE "C" keeps the order the same on servers with different default collations.
 */
export function sampleChecksumSql(table: { schema: string; name: string }, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sample size must be a positive integer, not ${n}`);
  const relation = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  return (
    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(r, E'\\n' ORDER BY h, r), '')) AS md5 ` +
    `FROM (SELECT t::text COLLATE "C" AS r, md5(t::text) COLLATE "C" AS h FROM ${relation} AS t ` +
    `ORDER BY h, r LIMIT ${n}) AS sample`
  );
}

interface Queryable {
  query<R>(text: string): Promise<{ rows: R[] }>;
}

/** Computes the sample checksum of one table; call SAMPLE_SESSION_SQL on the connection first. */
export async function computeSampleChecksum(
  client: Queryable,
  table: { schema: string; name: string },
  n: number,
): Promise<SampleChecksum> {
  const { rows } = await client.query<{ rows: number; md5: string }>(sampleChecksumSql(table, n));
  return { keys: SAMPLE_KEYS, rows: Number(rows[0]!.rows), md5: rows[0]!.md5 };
}
