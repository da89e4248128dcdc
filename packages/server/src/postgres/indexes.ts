// Index analysis from pg_index rows: unused, duplicate (pghero's rule) and invalid indexes.
import type { DuplicateIndex, IndexRow } from '@opsbook/contracts';

/** An index with what is needed to compare it with its table's other indexes. */
export interface IndexDefinition extends IndexRow {
  tableOid: string;
  /** pg_index.indkey: column numbers, 0 for an expression. */
  columns: string[];
  opclasses: string[];
  method: string;
  predicate: string;
  expressions: string;
}

const startsWith = (long: string[], short: string[]) =>
  short.length <= long.length && short.every((value, i) => long[i] === value);

/**
 * `a` is redundant when another index of the same table, method, predicate and expressions starts
 * with a's columns (same operator classes): every lookup a serves, the other serves too. A unique index
 * is only redundant next to an identical unique one, since it enforces something the longer one does not.
 */
function covers(b: IndexDefinition, a: IndexDefinition): boolean {
  if (a === b || a.tableOid !== b.tableOid || !a.valid || !b.valid) return false;
  if (a.method !== b.method || a.predicate !== b.predicate || a.expressions !== b.expressions) return false;
  if (!startsWith(b.columns, a.columns) || !startsWith(b.opclasses, a.opclasses)) return false;
  if (a.primary) return false;
  if (a.unique && !(b.unique && b.columns.length === a.columns.length)) return false;
  if (a.columns.length === b.columns.length) {
    // Identical pair: report only one, keeping the one that backs a constraint, else the first by name.
    const keepA = rank(a) > rank(b) || (rank(a) === rank(b) && a.name < b.name);
    return !keepA;
  }
  return true;
}

const rank = (index: IndexDefinition) => (index.primary ? 3 : index.constraint ? 2 : index.unique ? 1 : 0);

export function duplicateIndexes(indexes: IndexDefinition[]): DuplicateIndex[] {
  const byTable = new Map<string, IndexDefinition[]>();
  for (const index of indexes) byTable.set(index.tableOid, [...(byTable.get(index.tableOid) ?? []), index]);
  const out: DuplicateIndex[] = [];
  for (const list of byTable.values())
    for (const a of list) {
      const b = list.find((candidate) => covers(candidate, a));
      if (b) out.push({ index: plain(a), coveredBy: plain(b) });
    }
  return out;
}

/** pghero: never scanned, not enforcing anything, and big enough to matter. */
export function unusedIndexes(indexes: IndexDefinition[], minBytes: number): IndexRow[] {
  return indexes
    .filter(
      (i) => i.valid && i.scans === 0 && !i.unique && !i.primary && !i.constraint && i.sizeBytes >= minBytes,
    )
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .map(plain);
}

export function invalidIndexes(indexes: IndexDefinition[]): IndexRow[] {
  return indexes.filter((i) => !i.valid).map(plain);
}

function plain(index: IndexDefinition): IndexRow {
  return {
    schema: index.schema,
    table: index.table,
    name: index.name,
    definition: index.definition,
    sizeBytes: index.sizeBytes,
    scans: index.scans,
    unique: index.unique,
    primary: index.primary,
    valid: index.valid,
    constraint: index.constraint,
  };
}
