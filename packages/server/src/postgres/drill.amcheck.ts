// amcheck on the restored database: every btree index (bt_index_check with heapallindexed, so each heap
// tuple must be found in the index) and, on PostgreSQL 14+, every table's heap pages (verify_heapam).
// Where the extension cannot be installed the drill says so as a warning instead of a pass.
import type pg from 'pg';
import type { DrillAmcheck, DrillHeapCheck, DrillIndexCheck } from '@opsbook/contracts';

const INDEXES = `
  SELECT n.nspname AS schema, t.relname AS "table", c.relname AS index, c.oid::int8::text AS oid
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_am am ON am.oid = c.relam
  WHERE am.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid AND i.indisready
    AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  ORDER BY 1, 2, 3`;

const TABLES = `
  SELECT n.nspname AS schema, c.relname AS "table", c.oid::int8::text AS oid
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  ORDER BY 1, 2`;

/** Heap corruption rows reported per table at most; the first few say enough. */
const HEAP_ROWS = 5;

// XX001 data_corrupted, XX002 index_corrupted: what amcheck raises on a real inconsistency.
const CORRUPTION = new Set(['XX001', 'XX002']);

export interface AmcheckResult {
  amcheck: DrillAmcheck;
  problems: string[];
  warnings: string[];
}

export async function runAmcheck(client: pg.ClientBase, signal?: AbortSignal): Promise<AmcheckResult> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  } catch (error) {
    const message = `amcheck is not available on the scratch server (${(error as Error).message}); install postgresql-contrib and restore as a role that may create it`;
    return {
      amcheck: { available: false, message, indexes: [], heap: [] },
      problems: [],
      warnings: [message],
    };
  }
  const problems: string[] = [];
  const indexes: DrillIndexCheck[] = [];
  const { rows: indexRows } = await client.query<{
    schema: string;
    table: string;
    index: string;
    oid: string;
  }>(INDEXES);
  for (const row of indexRows) {
    signal?.throwIfAborted();
    const base = { schema: row.schema, table: row.table, index: row.index };
    try {
      await client.query('SELECT bt_index_check($1::oid::regclass, true)', [row.oid]);
      indexes.push({ ...base, status: 'ok', message: '' });
    } catch (error) {
      const corrupt = CORRUPTION.has((error as { code?: string }).code ?? '');
      const message = (error as Error).message;
      indexes.push({ ...base, status: corrupt ? 'corrupt' : 'error', message });
      problems.push(
        `${corrupt ? 'index corrupt' : 'index check failed'}: ${row.schema}.${row.index} on ${row.table}: ${message}`,
      );
    }
  }

  const heap: DrillHeapCheck[] = [];
  const warnings: string[] = [];
  const { rows: hasHeapCheck } = await client.query<{ present: boolean }>(
    `SELECT to_regproc('verify_heapam') IS NOT NULL AS present`,
  );
  if (hasHeapCheck[0]?.present) {
    const { rows: tableRows } = await client.query<{ schema: string; table: string; oid: string }>(TABLES);
    for (const row of tableRows) {
      signal?.throwIfAborted();
      const base = { schema: row.schema, table: row.table };
      try {
        const { rows } = await client.query<{ blkno: string; offnum: number | null; msg: string }>(
          `SELECT blkno, offnum, msg FROM verify_heapam($1::oid::regclass) LIMIT ${HEAP_ROWS}`,
          [row.oid],
        );
        if (rows.length === 0) heap.push({ ...base, status: 'ok', message: '' });
        else {
          const message = rows
            .map((r) => `block ${r.blkno}${r.offnum ? `/${r.offnum}` : ''}: ${r.msg}`)
            .join('; ');
          heap.push({ ...base, status: 'corrupt', message });
          problems.push(`heap corrupt: ${row.schema}.${row.table}: ${message}`);
        }
      } catch (error) {
        const message = (error as Error).message;
        heap.push({ ...base, status: 'error', message });
        problems.push(`heap check failed: ${row.schema}.${row.table}: ${message}`);
      }
    }
  } else {
    warnings.push(
      'verify_heapam is not available (PostgreSQL before 14): heap pages were not checked by amcheck',
    );
  }
  const bad = indexes.filter((i) => i.status !== 'ok').length + heap.filter((h) => h.status !== 'ok').length;
  return {
    amcheck: {
      available: true,
      message:
        bad === 0
          ? `${indexes.length} btree indexes and ${heap.length} tables verified`
          : `${bad} of ${indexes.length + heap.length} checks found problems`,
      indexes,
      heap,
    },
    problems,
    warnings,
  };
}
