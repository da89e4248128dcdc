// Loads runbook YAML files (built-ins and configured folders) with file:line:column diagnostics,
// the same way config/load.ts reports opsbook.yaml problems.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { formatPath, type Diagnostic } from '../config/load.js';
import { runbookSchema, type Runbook } from './runbook.schema.js';

export const BUILTIN_RUNBOOK_DIR = fileURLToPath(new URL('./builtin/', import.meta.url));

export type RunbookLoadResult = { ok: true; runbook: Runbook } | { ok: false; diagnostics: Diagnostic[] };

export function loadRunbookText(text: string, file: string): RunbookLoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number | undefined, path: string, message: string): void => {
    const pos = lineCounter.linePos(offset ?? 0);
    diagnostics.push({ file, line: pos.line, column: pos.col, path, message });
  };
  for (const error of [...doc.errors, ...doc.warnings]) at(error.pos[0], '', error.message.split('\n')[0]!);
  if (doc.errors.length > 0) return { ok: false, diagnostics };

  const parsed = runbookSchema.safeParse(doc.toJS() ?? {}, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      at(nearestNode(doc, issue.path)?.range?.[0], formatPath(issue.path), issueMessage(issue));
    diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, diagnostics };
  }
  return { ok: true, runbook: parsed.data };
}

export function loadRunbookFile(file: string): RunbookLoadResult {
  try {
    return loadRunbookText(readFileSync(file, 'utf8'), file);
  } catch (error) {
    return {
      ok: false,
      diagnostics: [
        { file, line: 0, column: 0, path: '', message: `cannot read: ${(error as Error).message}` },
      ],
    };
  }
}

export interface RunbookSet {
  runbooks: Map<string, Runbook>;
  diagnostics: Diagnostic[];
}

/** Every *.yaml / *.yml runbook in the folders (built-ins first); a later file may not reuse an id. */
export function loadRunbooks(options: { dirs?: string[]; builtin?: boolean } = {}): RunbookSet {
  const dirs = [...(options.builtin !== false ? [BUILTIN_RUNBOOK_DIR] : []), ...(options.dirs ?? [])];
  const runbooks = new Map<string, Runbook>();
  const files = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => /\.ya?ml$/.test(n))
        .sort();
    } catch (error) {
      diagnostics.push({ file: dir, line: 0, column: 0, path: '', message: (error as Error).message });
      continue;
    }
    for (const name of names) {
      const file = join(dir, name);
      const result = loadRunbookFile(file);
      if (!result.ok) {
        diagnostics.push(...result.diagnostics);
        continue;
      }
      const previous = files.get(result.runbook.id);
      if (previous) {
        diagnostics.push({
          file,
          line: 1,
          column: 1,
          path: 'id',
          message: `runbook id ${result.runbook.id} is already defined in ${previous}`,
        });
        continue;
      }
      files.set(result.runbook.id, file);
      runbooks.set(result.runbook.id, result.runbook);
    }
  }
  return { runbooks, diagnostics };
}

function nearestNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length) as (string | number)[], true) as Node | undefined;
    if (node && (isScalar(node) || isMap(node) || isSeq(node))) return node;
  }
  return doc.contents ?? undefined;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && issue.input === undefined)
    return `required (expected ${issue.expected})`;
  return issue.message;
}
