// Gatus-style conditions ("[STATUS] == 200", "[BODY].status == UP", "[RESPONSE_TIME] < 300").
// Parsed once when the config loads, so a typo is a config error with its line, not a failing probe.
import { parseDuration } from '../config/duration.js';

const PLACEHOLDERS = [
  'STATUS',
  'BODY',
  'RESPONSE_TIME',
  'CONNECTED',
  'CERTIFICATE_EXPIRATION',
  'DNS_RCODE',
  'IP',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=';

type Operand =
  | { type: 'placeholder'; name: Placeholder; path: (string | number)[]; fn?: 'len' | 'has' }
  | { type: 'literal'; value: string }
  | { type: 'pattern'; pattern: RegExp; text: string }
  | { type: 'any'; values: string[] };

export interface Condition {
  text: string;
  left: Operand;
  operator: Operator;
  right: Operand;
}

/** What a probe observed; each probe fills the fields it knows. */
export interface ConditionContext {
  status?: number;
  body?: string;
  responseTimeMs: number;
  connected: boolean;
  certificateExpirationMs?: number;
  dnsRcode?: string;
  ip?: string;
}

export interface ConditionResult {
  ok: boolean;
  /** The condition with the observed value, e.g. "[STATUS] (503) == 200". */
  description: string;
}

const EXPRESSION = /^(.+?)\s+(==|!=|<=|>=|<|>)\s+(.+)$/;

export function parseCondition(text: string): Condition {
  const match = EXPRESSION.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a condition; write e.g. "[STATUS] == 200"`);
  const left = parseOperand(match[1]!.trim(), text);
  const right = parseOperand(match[3]!.trim(), text);
  if (left.type !== 'placeholder' && right.type !== 'placeholder')
    throw new Error(`"${text}" compares no placeholder; one side must be one of ${listPlaceholders()}`);
  return { text, left, operator: match[2] as Operator, right };
}

function listPlaceholders(): string {
  return PLACEHOLDERS.map((p) => `[${p}]`).join(', ');
}

function parseOperand(raw: string, text: string): Operand {
  const fn = /^(len|has|pat|any)\((.*)\)$/.exec(raw);
  if (fn) {
    const [, name, inner] = fn as unknown as [string, 'len' | 'has' | 'pat' | 'any', string];
    if (name === 'pat') return { type: 'pattern', pattern: globToRegExp(inner), text: inner };
    if (name === 'any') return { type: 'any', values: inner.split(',').map((v) => v.trim()) };
    const target = parseOperand(inner.trim(), text);
    if (target.type !== 'placeholder') throw new Error(`in "${text}", ${name}() takes a placeholder`);
    return { ...target, fn: name };
  }
  if (raw.startsWith('[')) {
    const end = raw.indexOf(']');
    const token = end < 0 ? raw : raw.slice(0, end + 1);
    const name = token.slice(1, -1) as Placeholder;
    if (end < 0 || !PLACEHOLDERS.includes(name))
      throw new Error(`in "${text}", unknown placeholder ${token}; use ${listPlaceholders()}`);
    return { type: 'placeholder', name, path: parsePath(raw.slice(end + 1), text) };
  }
  return { type: 'literal', value: raw.replace(/^"(.*)"$/, '$1') };
}

function parsePath(rest: string, text: string): (string | number)[] {
  const path: (string | number)[] = [];
  const segment = /\.([^.[\]]+)|\[(\d+)\]/y;
  let index = 0;
  while (index < rest.length) {
    segment.lastIndex = index;
    const match = segment.exec(rest);
    if (!match)
      throw new Error(`in "${text}", cannot read the path "${rest}"; write e.g. [BODY].data.items[0].id`);
    path.push(match[1] ?? Number(match[2]));
    index = segment.lastIndex;
  }
  return path;
}

function globToRegExp(glob: string): RegExp {
  // As in Gatus (Go's filepath.Match): * is any run of characters, ? is one character.
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 's');
}

/** The placeholders a condition reads, to check them against what a probe kind can observe. */
export function placeholdersOf(condition: Condition): Placeholder[] {
  return [condition.left, condition.right].flatMap((o) => (o.type === 'placeholder' ? [o.name] : []));
}

/** Evaluates conditions; JSON bodies are parsed once per probe, not once per condition. */
export function evaluateConditions(conditions: Condition[], context: ConditionContext): ConditionResult[] {
  let parsed: { value: unknown } | undefined;
  const json = (): unknown => {
    if (!parsed) {
      try {
        parsed = { value: JSON.parse(context.body ?? '') };
      } catch {
        parsed = { value: undefined };
      }
    }
    return parsed.value;
  };
  return conditions.map((condition) => evaluate(condition, context, json));
}

function evaluate(condition: Condition, context: ConditionContext, json: () => unknown): ConditionResult {
  const left = resolve(condition.left, context, json);
  const right = resolve(condition.right, context, json);
  const ok = compare(left, condition.operator, right, condition);
  const shown = condition.left.type === 'placeholder' ? ` (${format(left)})` : '';
  const [lhs, ...rest] = condition.text.split(/\s+(==|!=|<=|>=|<|>)\s+/);
  return { ok, description: `${lhs}${shown} ${rest.join(' ')}` };
}

type Value = string | number | boolean | undefined | RegExp | string[];

function resolve(operand: Operand, context: ConditionContext, json: () => unknown): Value {
  switch (operand.type) {
    case 'literal':
      return operand.value;
    case 'pattern':
      return operand.pattern;
    case 'any':
      return operand.values;
    case 'placeholder': {
      const raw = placeholderValue(operand, context, json);
      if (operand.fn === 'has') return raw !== undefined;
      if (operand.fn === 'len') {
        if (Array.isArray(raw) || typeof raw === 'string') return raw.length;
        if (raw && typeof raw === 'object') return Object.keys(raw).length;
        return 0;
      }
      if (raw === undefined || raw === null) return undefined;
      return typeof raw === 'object' ? JSON.stringify(raw) : (raw as string | number | boolean);
    }
  }
}

function placeholderValue(
  operand: Extract<Operand, { type: 'placeholder' }>,
  context: ConditionContext,
  json: () => unknown,
): unknown {
  switch (operand.name) {
    case 'STATUS':
      return context.status;
    case 'RESPONSE_TIME':
      return Math.round(context.responseTimeMs);
    case 'CONNECTED':
      return context.connected;
    case 'CERTIFICATE_EXPIRATION':
      return context.certificateExpirationMs;
    case 'DNS_RCODE':
      return context.dnsRcode;
    case 'IP':
      return context.ip;
    case 'BODY': {
      // len([BODY]) and has([BODY]) measure the JSON when there is some, else the text.
      if (operand.path.length === 0) return operand.fn ? (json() ?? context.body) : context.body;
      let value: unknown = json();
      for (const key of operand.path) {
        if (value === null || typeof value !== 'object') return undefined;
        value = (value as Record<string | number, unknown>)[key];
      }
      return value;
    }
  }
}

function asNumber(value: Value, condition: Condition): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  // "[CERTIFICATE_EXPIRATION] > 48h": durations compare in milliseconds.
  const usesDuration = [condition.left, condition.right].some(
    (o) => o.type === 'placeholder' && (o.name === 'CERTIFICATE_EXPIRATION' || o.name === 'RESPONSE_TIME'),
  );
  return usesDuration ? parseDuration(value) : undefined;
}

function compare(left: Value, operator: Operator, right: Value, condition: Condition): boolean {
  if (operator === '==' || operator === '!=') {
    const equal = equals(left, right, condition);
    return operator === '==' ? equal : !equal;
  }
  const a = asNumber(left, condition);
  const b = asNumber(right, condition);
  if (a === undefined || b === undefined) return false;
  switch (operator) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

function equals(left: Value, right: Value, condition: Condition): boolean {
  if (right instanceof RegExp) return left !== undefined && right.test(String(left));
  if (left instanceof RegExp) return right !== undefined && left.test(String(right));
  if (Array.isArray(right)) return right.some((candidate) => equals(left, candidate, condition));
  if (Array.isArray(left)) return left.some((candidate) => equals(candidate, right, condition));
  if (left === undefined || right === undefined) return left === right;
  const a = asNumber(left, condition);
  const b = asNumber(right, condition);
  if (a !== undefined && b !== undefined) return a === b;
  return String(left) === String(right);
}

function format(value: Value): string {
  if (value === undefined) return 'missing';
  if (value instanceof RegExp) return value.source;
  const text = Array.isArray(value) ? value.join(', ') : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
