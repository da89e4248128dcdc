// Loads opsbook.yaml: YAML with positions, ${ENV} and ${file:PATH} interpolation, one zod parse.
// Every problem is collected with its file:line:column and key path, never just the first.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import type { z } from 'zod';
import { configSchema, type OpsbookConfig } from './schema.js';

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  /** The key path, e.g. services[0].checks[1].http.url */
  path: string;
  message: string;
}

export type LoadResult =
  | { ok: true; config: OpsbookConfig; baseDir: string; file: string; diagnostics: [] }
  | { ok: false; diagnostics: Diagnostic[] };

/** Keys whose values are secrets: they must come from ${ENV} or a file, never be written in the YAML. */
const SECRET_KEYS = new Set([
  'password',
  'token',
  'secret',
  'apikey',
  'routingkey',
  'authorization',
  'clientsecret',
  // An Azure storage connection string carries the account key.
  'connectionstring',
]);
/** Keys that name a file which must exist (relative to the config file). */
const FILE_KEYS = new Set(['passwordFile', 'ca', 'tokenFile', 'secretFile', 'clientSecretFile']);

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return {
      ok: false,
      diagnostics: [
        {
          file,
          line: 0,
          column: 0,
          path: '',
          message: `cannot read the config file: ${(error as Error).message}`,
        },
      ],
    };
  }
  return loadConfigText(text, file, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const baseDir = dirname(resolve(file));
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number | undefined, path: string, message: string): void => {
    const pos = lineCounter.linePos(offset ?? 0);
    diagnostics.push({ file, line: pos.line, column: pos.col, path, message });
  };

  for (const error of [...doc.errors, ...doc.warnings]) at(error.pos[0], '', error.message.split('\n')[0]!);
  if (doc.errors.length > 0) return { ok: false, diagnostics };

  interpolate(doc, env, baseDir, at);
  // A value that failed to interpolate is already reported; its schema error would only repeat it.
  const reported = new Set(diagnostics.map((d) => d.path));

  const parsed = configSchema.safeParse(doc.toJS() ?? {}, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (reported.has(formatPath(issue.path))) continue;
      const node = nearestNode(doc, issue.path);
      at(node?.range?.[0], formatPath(issue.path), issueMessage(issue));
    }
  }
  if (diagnostics.length > 0 || !parsed.success) {
    diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, diagnostics };
  }
  return { ok: true, config: parsed.data, baseDir, file, diagnostics: [] };
}

function interpolate(
  doc: Document,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  at: (offset: number | undefined, path: string, message: string) => void,
): void {
  // Secrets stay strings even when they are all digits.
  const keepString = new WeakSet<object>();
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== 'string') return;
      const key = String(pair.key.value);
      const raw = pair.value.value;
      const path = formatPath([...pathOf(ancestors), key]);
      const secret = SECRET_KEYS.has(key.toLowerCase());
      if (secret) keepString.add(pair.value);
      if (secret && !/^\$\{[^}]+\}$/.test(raw.trim()))
        at(
          pair.value.range?.[0],
          path,
          `a secret must be exactly one \${ENV_VAR} or \${file:PATH} reference, not be written in the config`,
        );
      if (/^[a-z][a-z0-9+.-]*:\/\/[^/@:]+:([^@/]*)@/i.test(raw) && !/:\/\/[^/@:]+:\$\{[^}]+\}@/.test(raw))
        at(
          pair.value.range?.[0],
          path,
          'a password in a URL must be a ${ENV_VAR} reference (or use password/passwordFile)',
        );
    },
    Scalar(_, node, ancestors) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const path = formatPath(pathOf(ancestors));
      const value = node.value.replace(REFERENCE, (match, ref: string | undefined) => {
        if (match === '$${') return '${';
        return resolveReference(ref ?? '', env, baseDir, (message) => at(node.range?.[0], path, message));
      });
      // An unquoted `port: ${PORT}` means a number, as if the value had been written there.
      node.value = node.type === 'PLAIN' && !keepString.has(node) ? plainValue(value) : value;
    },
  });
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || !FILE_KEYS.has(String(pair.key.value))) return;
      if (!isScalar(pair.value) || typeof pair.value.value !== 'string') return;
      if (!existsSync(resolve(baseDir, pair.value.value)))
        at(
          pair.value.range?.[0],
          formatPath([...pathOf(ancestors), String(pair.key.value)]),
          `file not found: ${resolve(baseDir, pair.value.value)}`,
        );
    },
  });
}

function resolveReference(
  ref: string,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  fail: (message: string) => void,
): string {
  if (ref.startsWith('file:')) {
    const path = resolve(baseDir, ref.slice(5));
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (error) {
      fail(`cannot read \${${ref}}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      return '';
    }
  }
  const [name, fallback] = splitDefault(ref);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    fail(`\${${ref}} is not a valid reference; write \${NAME}, \${NAME:-default} or \${file:PATH}`);
    return '';
  }
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  fail(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
  return '';
}

function plainValue(value: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

function splitDefault(ref: string): [string, string | undefined] {
  const index = ref.indexOf(':-');
  return index < 0 ? [ref, undefined] : [ref.slice(0, index), ref.slice(index + 2)];
}

/** The key path of a node from the visitor's ancestors. */
function pathOf(ancestors: readonly unknown[]): (string | number)[] {
  const path: (string | number)[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const node = ancestors[i];
    const child = ancestors[i + 1];
    if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value));
    if (isSeq(node) && child !== undefined) path.push(node.items.indexOf(child as never));
  }
  return path;
}

function nearestNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = doc.getIn(path.slice(0, length) as (string | number)[], true) as Node | undefined;
    if (node && (isScalar(node) || isMap(node) || isSeq(node))) {
      // For a missing key, point at the map that should hold it.
      return node;
    }
  }
  return doc.contents ?? undefined;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) =>
      typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`,
    )
    .join('');
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && issue.input === undefined)
    return `required (expected ${issue.expected})`;
  return issue.message;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}  ${d.path ? `${d.path}: ` : ''}${d.message}`;
}
