// A PromQL subset: lexer, parser, AST and static type checks. Expressions are parsed once (at config
// load or per API request) and evaluated many times by engine.ts.
import type { LabelMatcher, MatchOp } from '../series.js';

/** A syntax or type error; `position` is the 0-based character offset the problem was found at. */
export class PromqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'PromqlSyntaxError';
  }
}

// ---------------------------------------------------------------------------------------------
// AST

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export const AGGREGATIONS = [
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
] as const;
export type AggregateOp = (typeof AGGREGATIONS)[number];

interface FunctionSpec {
  /** Argument types; with `variadic` the last one repeats. */
  args: readonly ValueType[];
  /** How many trailing arguments may be left out. */
  optional?: number;
  variadic?: boolean;
  returns: ValueType;
}

const RANGE: FunctionSpec = { args: ['matrix'], returns: 'vector' };
const MATH: FunctionSpec = { args: ['vector'], returns: 'vector' };
const DATE: FunctionSpec = { args: ['vector'], optional: 1, returns: 'vector' };

/** The supported functions, in the order error messages list them. */
export const FUNCTIONS = {
  rate: RANGE,
  increase: RANGE,
  irate: RANGE,
  delta: RANGE,
  idelta: RANGE,
  deriv: RANGE,
  predict_linear: { args: ['matrix', 'scalar'], returns: 'vector' },
  changes: RANGE,
  resets: RANGE,
  avg_over_time: RANGE,
  min_over_time: RANGE,
  max_over_time: RANGE,
  sum_over_time: RANGE,
  count_over_time: RANGE,
  last_over_time: RANGE,
  present_over_time: RANGE,
  stddev_over_time: RANGE,
  stdvar_over_time: RANGE,
  quantile_over_time: { args: ['scalar', 'matrix'], returns: 'vector' },
  absent_over_time: RANGE,
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector' },
  abs: MATH,
  ceil: MATH,
  floor: MATH,
  round: { args: ['vector', 'scalar'], optional: 1, returns: 'vector' },
  sqrt: MATH,
  exp: MATH,
  ln: MATH,
  log2: MATH,
  log10: MATH,
  sgn: MATH,
  clamp: { args: ['vector', 'scalar', 'scalar'], returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], returns: 'vector' },
  absent: MATH,
  scalar: { args: ['vector'], returns: 'scalar' },
  vector: { args: ['scalar'], returns: 'vector' },
  time: { args: [], returns: 'scalar' },
  timestamp: MATH,
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector' },
  label_join: {
    args: ['vector', 'string', 'string', 'string'],
    optional: 1,
    variadic: true,
    returns: 'vector',
  },
  sort: MATH,
  sort_desc: MATH,
  minute: DATE,
  hour: DATE,
  day_of_week: DATE,
  day_of_month: DATE,
  day_of_year: DATE,
  days_in_month: DATE,
  month: DATE,
  year: DATE,
} satisfies Record<string, FunctionSpec>;
export type FunctionName = keyof typeof FUNCTIONS;

export interface NumberLiteral {
  type: 'number';
  value: number;
  pos: number;
}

export interface StringLiteral {
  type: 'string';
  value: string;
  pos: number;
}

export interface VectorSelector {
  type: 'vectorSelector';
  /** The metric name when the selector fixes it (`metric{...}` or `{__name__="metric"}`). */
  name: string | undefined;
  /** All matchers, including `__name__="metric"` (first) for `metric{...}`. */
  matchers: LabelMatcher[];
  /** `offset 5m`: read data this much earlier (negative: later). */
  offsetMs: number;
  pos: number;
}

export interface MatrixSelector {
  type: 'matrixSelector';
  selector: VectorSelector;
  rangeMs: number;
  pos: number;
}

export interface UnaryExpr {
  type: 'unary';
  op: '-';
  expr: Expr;
  pos: number;
}

export interface VectorMatching {
  /** one-to-one by default, many-to-one for group_left, one-to-many for group_right, many-to-many for and/or/unless. */
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** on(labels) when true, ignoring(labels) when false (plain `a + b` is ignoring()). */
  on: boolean;
  labels: string[];
  /** Labels group_left/group_right copy from the "one" side. */
  include: string[];
}

export interface BinaryExpr {
  type: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** The `bool` modifier of comparisons: return 0/1 instead of filtering. */
  returnBool: boolean;
  /** Set when both sides are instant vectors. */
  matching: VectorMatching | undefined;
  /** Where the operator is. */
  pos: number;
}

export interface AggregateExpr {
  type: 'aggregate';
  op: AggregateOp;
  /** k of topk/bottomk, φ of quantile, the label of count_values. */
  param: Expr | undefined;
  expr: Expr;
  grouping: string[];
  without: boolean;
  pos: number;
}

export interface Call {
  type: 'call';
  func: FunctionName;
  args: Expr[];
  pos: number;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | UnaryExpr
  | BinaryExpr
  | AggregateExpr
  | Call;

const typeCache = new WeakMap<Expr, ValueType>();

/** The static type of an expression (what it evaluates to). */
export function typeOf(expr: Expr): ValueType {
  switch (expr.type) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vectorSelector':
      return 'vector';
    case 'matrixSelector':
      return 'matrix';
    case 'unary':
      return typeOf(expr.expr);
    case 'aggregate':
      return 'vector';
    case 'call':
      return FUNCTIONS[expr.func].returns;
    case 'binary': {
      let type = typeCache.get(expr);
      if (!type) {
        type = typeOf(expr.lhs) === 'scalar' && typeOf(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
        typeCache.set(expr, type);
      }
      return type;
    }
  }
}

export function isComparisonOp(op: BinaryOp): op is ComparisonOp {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

export function isSetOp(op: BinaryOp): op is SetOp {
  return op === 'and' || op === 'or' || op === 'unless';
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokenKind = 'number' | 'duration' | 'string' | 'ident' | 'punct' | 'bad' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
  /** The value of a number, or a duration in milliseconds. */
  num: number;
  /** The value of a string. */
  str: string;
}

const SPACE = /(?:\s+|#[^\n]*)+/y;
const HEX = /0[xX][0-9a-fA-F]+/y;
const DURATION_TOKEN = /(?:\d+(?:ms|[smhdwy]))+/y;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD_RUN = /[0-9a-zA-Z_.]+/y;
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const PUNCT = ['==', '!=', '=~', '!~', '>=', '<=', '=', '>', '<', '+', '-', '*', '/', '%', '^'];
const SINGLE = '(){}[],@';

const UNIT_MS: Record<string, number> = {
  y: 365 * 86_400_000,
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

function stickyMatch(regex: RegExp, text: string, pos: number): string | undefined {
  regex.lastIndex = pos;
  return regex.exec(text)?.[0];
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[0-9a-zA-Z_.]/.test(c);
}

/** Parses a duration like 5m or 1h30m into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  DURATION_TOKEN.lastIndex = 0;
  const whole = DURATION_TOKEN.exec(text);
  if (!whole || whole[0].length !== text.length) return undefined;
  let ms = 0;
  let last = -1;
  for (const part of text.matchAll(/(\d+)(ms|[smhdwy])/g)) {
    const order = UNIT_ORDER.indexOf(part[2]!);
    if (order <= last) return undefined;
    last = order;
    ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return ms;
}

/** Formats milliseconds as a PromQL duration (1h30m, 250ms). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  const push = (kind: TokenKind, tokenText: string, pos: number, num = 0, str = '') =>
    tokens.push({ kind, text: tokenText, pos, num, str });
  let pos = 0;
  while (pos < text.length) {
    const space = stickyMatch(SPACE, text, pos);
    if (space) {
      pos += space.length;
      continue;
    }
    const c = text[pos]!;
    if ((c >= '0' && c <= '9') || (c === '.' && text[pos + 1]! >= '0' && text[pos + 1]! <= '9')) {
      const hex = stickyMatch(HEX, text, pos);
      if (hex && !isWordChar(text[pos + hex.length])) {
        push('number', hex, pos, Number(hex));
        pos += hex.length;
        continue;
      }
      const duration = stickyMatch(DURATION_TOKEN, text, pos);
      if (duration && !isWordChar(text[pos + duration.length])) {
        const ms = parseDuration(duration);
        if (ms === undefined)
          throw new PromqlSyntaxError(
            `bad duration "${duration}": units go from largest to smallest, each once, like 1h30m`,
            pos,
          );
        push('duration', duration, pos, ms);
        pos += duration.length;
        continue;
      }
      const number = stickyMatch(NUMBER, text, pos)!;
      if (isWordChar(text[pos + number.length])) {
        const run = stickyMatch(WORD_RUN, text, pos)!;
        push('bad', run, pos);
        pos += run.length;
        continue;
      }
      push('number', number, pos, Number(number));
      pos += number.length;
      continue;
    }
    const ident = stickyMatch(IDENT, text, pos);
    if (ident) {
      const lower = ident.toLowerCase();
      if (lower === 'inf') push('number', ident, pos, Infinity);
      else if (lower === 'nan') push('number', ident, pos, NaN);
      else push('ident', ident, pos);
      pos += ident.length;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const [value, end] = lexString(text, pos);
      push('string', text.slice(pos, end), pos, 0, value);
      pos = end;
      continue;
    }
    const punct = PUNCT.find((p) => text.startsWith(p, pos)) ?? (SINGLE.includes(c) ? c : undefined);
    if (punct) {
      push('punct', punct, pos);
      pos += punct.length;
      continue;
    }
    if (c === '$')
      throw new PromqlSyntaxError(
        'unexpected character "$": only $window is replaced, and only in alert rule expressions',
        pos,
      );
    throw new PromqlSyntaxError(`unexpected character ${JSON.stringify(c)}`, pos);
  }
  push('eof', '', text.length);
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Lexes a string starting at `start` (Go-style escapes; backticks are raw). Returns the value and end offset. */
function lexString(text: string, start: number): [string, number] {
  const quote = text[start]!;
  let pos = start + 1;
  if (quote === '`') {
    const end = text.indexOf('`', pos);
    if (end < 0) throw new PromqlSyntaxError('unterminated string', start);
    return [text.slice(pos, end), end + 1];
  }
  let out = '';
  for (;;) {
    const c = text[pos];
    if (c === undefined || c === '\n') throw new PromqlSyntaxError('unterminated string', start);
    if (c === quote) return [out, pos + 1];
    if (c !== '\\') {
      out += c;
      pos++;
      continue;
    }
    const e = text[pos + 1];
    if (e === undefined) throw new PromqlSyntaxError('unterminated string', start);
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined && (e !== '"' || quote === '"') && (e !== "'" || quote === "'")) {
      out += simple;
      pos += 2;
      continue;
    }
    const digits = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : /[0-7]/.test(e) ? 3 : 0;
    const body = e === 'x' || e === 'u' || e === 'U' ? text.slice(pos + 2, pos + 2 + digits) : '';
    if (digits && body.length === digits && /^[0-9a-fA-F]+$/.test(body)) {
      out += String.fromCodePoint(parseInt(body, 16));
      pos += 2 + digits;
      continue;
    }
    const octal = text.slice(pos + 1, pos + 4);
    if (digits === 3 && /^[0-7]{3}$/.test(octal)) {
      out += String.fromCharCode(parseInt(octal, 8));
      pos += 4;
      continue;
    }
    throw new PromqlSyntaxError(
      `unknown escape sequence "\\${e}" in a string; write "\\\\${e}" or use a \`backtick\` string`,
      pos,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

const PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
]);
const AGGREGATION_SET: ReadonlySet<string> = new Set(AGGREGATIONS);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const TYPE_NAMES: Record<ValueType, string> = {
  scalar: 'a scalar',
  vector: 'an instant vector',
  matrix: 'a range vector',
  string: 'a string',
};
const SIGNATURE_NAMES: Record<ValueType, string> = {
  scalar: 'scalar',
  vector: 'instant vector',
  matrix: 'range vector',
  string: 'string',
};

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of expression';
    case 'string':
      return `string ${token.text}`;
    case 'number':
    case 'duration':
    case 'bad':
    case 'ident':
    case 'punct':
      return JSON.stringify(token.text);
  }
}

function isFunctionName(name: string): name is FunctionName {
  return Object.hasOwn(FUNCTIONS, name);
}

/** Compiles a matcher or label_replace regex the way the metric store does: anchored on both ends. */
function compileRegex(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private isPunct(text: string): boolean {
    const token = this.peek();
    return token.kind === 'punct' && token.text === text;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'ident' && token.text.toLowerCase() === word;
  }

  private fail(message: string, position: number): never {
    throw new PromqlSyntaxError(message, position);
  }

  private unexpected(token: Token, expected: string): never {
    return this.fail(`unexpected ${describe(token)}; expected ${expected}`, token.pos);
  }

  /** Closing `)` of a group that `open` started. */
  private close(open: Token, what: string, expected = '")"'): void {
    if (this.isPunct(')')) {
      this.next();
      return;
    }
    const token = this.peek();
    if (token.kind === 'eof')
      this.fail(`unclosed "("${what ? ` of ${what}` : ''}: expected ")" before the end`, open.pos);
    this.unexpected(token, expected);
  }

  parseBinary(minPrecedence: number): Expr {
    let lhs = this.parseUnary();
    for (;;) {
      const token = this.peek();
      const op = binaryOpOf(token);
      if (!op) {
        if (token.kind === 'punct' && token.text === '=')
          this.fail('unexpected "="; to compare, write ==', token.pos);
        return lhs;
      }
      const precedence = PRECEDENCE[op];
      if (precedence < minPrecedence) return lhs;
      this.next();

      let returnBool = false;
      if (this.isKeyword('bool')) {
        if (!isComparisonOp(op))
          this.fail(
            `bool only applies to comparison operators (==, !=, >, <, >=, <=), not "${op}"`,
            this.peek().pos,
          );
        this.next();
        returnBool = true;
      }
      let matching: VectorMatching | undefined;
      let matchingPos = -1;
      if (this.isKeyword('on') || this.isKeyword('ignoring')) {
        const keyword = this.next();
        matchingPos = keyword.pos;
        const on = keyword.text.toLowerCase() === 'on';
        const labels = this.parseLabelList(on ? 'on' : 'ignoring');
        matching = { card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on, labels, include: [] };
      }
      if (this.isKeyword('group_left') || this.isKeyword('group_right')) {
        const keyword = this.next();
        const word = keyword.text.toLowerCase();
        if (!matching)
          this.fail(
            `${word} must follow on(...) or ignoring(...), like "* on (instance) ${word} (role)"`,
            keyword.pos,
          );
        if (isSetOp(op)) this.fail(`${word} does not apply to "${op}"`, keyword.pos);
        const include = this.isPunct('(') ? this.parseLabelList(word) : [];
        for (const label of include)
          if (matching.on && matching.labels.includes(label))
            this.fail(`label "${label}" must not be in both on(...) and ${word}(...)`, keyword.pos);
        matching.card = word === 'group_left' ? 'many-to-one' : 'one-to-many';
        matching.include = include;
      }

      const rhs = op === '^' ? this.parseBinary(precedence) : this.parseBinary(precedence + 1);
      lhs = this.makeBinary(op, token.pos, lhs, rhs, returnBool, matching, matchingPos);
    }
  }

  private makeBinary(
    op: BinaryOp,
    pos: number,
    lhs: Expr,
    rhs: Expr,
    returnBool: boolean,
    matching: VectorMatching | undefined,
    matchingPos: number,
  ): BinaryExpr {
    const lt = typeOf(lhs);
    const rt = typeOf(rhs);
    for (const [side, type, expr] of [
      ['left', lt, lhs],
      ['right', rt, rhs],
    ] as const) {
      if (type === 'matrix')
        this.fail(
          `"${op}" needs a scalar or an instant vector on the ${side}, got a range vector; ` +
            'apply a function like rate() or avg_over_time() to it',
          expr.pos,
        );
      if (type === 'string')
        this.fail(`"${op}" needs a scalar or an instant vector on the ${side}, got a string`, expr.pos);
    }
    if (isSetOp(op) && (lt !== 'vector' || rt !== 'vector'))
      this.fail(`"${op}" needs instant vectors on both sides`, pos);
    if (isComparisonOp(op) && !returnBool && lt === 'scalar' && rt === 'scalar')
      this.fail(`comparisons between scalars must use bool, like 1 ${op} bool 2`, pos);
    if (matching && (lt !== 'vector' || rt !== 'vector'))
      this.fail(
        'on(...), ignoring(...) and group_left/group_right need instant vectors on both sides',
        matchingPos,
      );
    if (!matching && lt === 'vector' && rt === 'vector')
      matching = { card: isSetOp(op) ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
    return { type: 'binary', op, lhs, rhs, returnBool, matching, pos };
  }

  private parseUnary(): Expr {
    const token = this.peek();
    if (token.kind === 'punct' && (token.text === '-' || token.text === '+')) {
      this.next();
      // Unary minus binds looser than ^ (-2^2 is -4) and tighter than everything else.
      const operand = this.parseBinary(PRECEDENCE['^']);
      const type = typeOf(operand);
      if (type !== 'scalar' && type !== 'vector')
        this.fail(
          `unary "${token.text}" needs a scalar or an instant vector, got ${TYPE_NAMES[type]}`,
          operand.pos,
        );
      if (token.text === '+') return operand;
      if (operand.type === 'number') return { type: 'number', value: -operand.value, pos: token.pos };
      return { type: 'unary', op: '-', expr: operand, pos: token.pos };
    }
    return this.parsePostfix();
  }

  /** A primary expression with its range ([5m]) and offset modifiers. */
  private parsePostfix(): Expr {
    const first = this.peek();
    const parenthesized = first.kind === 'punct' && first.text === '(';
    let expr = this.parsePrimary();
    let offsetSeen = false;
    for (;;) {
      const token = this.peek();
      if (token.kind === 'punct' && token.text === '[') {
        if (expr.type !== 'vectorSelector' || parenthesized)
          this.fail(
            'a range like [5m] must follow a metric selector, like http_requests_total[5m] (subqueries are not supported)',
            token.pos,
          );
        if (offsetSeen) this.fail('write the range before offset, like metric[5m] offset 1h', token.pos);
        this.next();
        const duration = this.peek();
        if (duration.kind !== 'duration') this.fail('expected a duration like 5m in [...]', duration.pos);
        this.next();
        if (duration.num <= 0) this.fail('a range must be longer than 0s', duration.pos);
        const end = this.peek();
        if ((end.kind === 'ident' && end.text.startsWith(':')) || (end.kind === 'punct' && end.text === ':'))
          this.fail('subqueries like [5m:1m] are not supported', end.pos);
        if (!this.isPunct(']')) {
          if (end.kind === 'eof') this.fail('unclosed "[": expected "]" before the end', token.pos);
          this.unexpected(end, '"]" after the duration');
        }
        this.next();
        expr = { type: 'matrixSelector', selector: expr, rangeMs: duration.num, pos: expr.pos };
        continue;
      }
      if (token.kind === 'ident' && token.text.toLowerCase() === 'offset') {
        if ((expr.type !== 'vectorSelector' && expr.type !== 'matrixSelector') || parenthesized)
          this.fail(
            'offset must follow a metric selector, like metric offset 5m or metric[5m] offset 5m',
            token.pos,
          );
        if (offsetSeen) this.fail('offset is given twice', token.pos);
        this.next();
        let sign = 1;
        if (this.isPunct('-') || this.isPunct('+')) sign = this.next().text === '-' ? -1 : 1;
        const duration = this.peek();
        if (duration.kind !== 'duration') this.fail('expected a duration like 5m after offset', duration.pos);
        this.next();
        (expr.type === 'matrixSelector' ? expr.selector : expr).offsetMs = sign * duration.num;
        offsetSeen = true;
        continue;
      }
      if (token.kind === 'punct' && token.text === '@')
        this.fail('the @ modifier is not supported', token.pos);
      return expr;
    }
  }

  private parsePrimary(): Expr {
    const token = this.peek();
    switch (token.kind) {
      case 'number':
        this.next();
        return { type: 'number', value: token.num, pos: token.pos };
      case 'string':
        this.next();
        return { type: 'string', value: token.str, pos: token.pos };
      case 'duration':
        return this.fail(
          `unexpected duration "${token.text}"; durations belong in a range like [5m] or after offset`,
          token.pos,
        );
      case 'bad':
        return this.fail(`bad number or duration "${token.text}"`, token.pos);
      case 'eof':
        return this.fail(
          'unexpected end of expression; expected a number, a metric or a function',
          token.pos,
        );
      case 'ident':
        return this.parseIdentifier();
      case 'punct':
        if (token.text === '(') {
          this.next();
          const inner = this.parseBinary(0);
          this.close(token, '', '")" or an operator');
          return inner;
        }
        if (token.text === '{') return this.parseSelector(undefined, token.pos);
        return this.fail(`unexpected ${describe(token)}`, token.pos);
    }
  }

  private parseIdentifier(): Expr {
    const token = this.next();
    const lower = token.text.toLowerCase();
    const following = this.peek();
    const callLike = following.kind === 'punct' && following.text === '(';
    if (AGGREGATION_SET.has(lower) && (callLike || this.isKeyword('by') || this.isKeyword('without')))
      return this.parseAggregate(lower as AggregateOp, token);
    if (callLike) {
      if (isFunctionName(token.text)) return this.parseCall(token.text, token);
      this.fail(
        `unknown function "${token.text}"; known: ${Object.keys(FUNCTIONS).join(', ')}; ` +
          `aggregations: ${AGGREGATIONS.join(', ')}`,
        token.pos,
      );
    }
    if (KEYWORDS.has(lower))
      this.fail(`unexpected "${token.text}"; expected a number, a metric or a function`, token.pos);
    if (AGGREGATION_SET.has(lower))
      this.fail(
        `${lower} needs an argument list, like ${lower}(metric) or ${lower} by (label) (metric)`,
        token.pos,
      );
    return this.parseSelector(token.text, token.pos);
  }

  private parseSelector(name: string | undefined, pos: number): VectorSelector {
    const matchers: LabelMatcher[] = [];
    let metric = name;
    let nameFromIdentifier = name !== undefined;
    if (name !== undefined) matchers.push({ name: '__name__', op: '=', value: name });
    if (this.isPunct('{')) {
      const open = this.next();
      for (;;) {
        if (this.isPunct('}')) {
          this.next();
          break;
        }
        const labelToken = this.next();
        let label: string;
        if (labelToken.kind === 'string') {
          label = labelToken.str;
          if (this.isPunct(',') || this.isPunct('}')) {
            // A quoted metric name: {"my.metric", job="x"}.
            if (metric !== undefined && nameFromIdentifier)
              this.fail(`metric name must not be set twice: "${metric}" and "${label}"`, labelToken.pos);
            metric = label;
            nameFromIdentifier = true;
            matchers.unshift({ name: '__name__', op: '=', value: label });
            if (this.isPunct(',')) this.next();
            continue;
          }
        } else if (
          labelToken.kind === 'ident' ||
          (labelToken.kind === 'number' && LABEL_NAME.test(labelToken.text))
        ) {
          label = labelToken.text;
          if (!LABEL_NAME.test(label)) this.fail(`invalid label name "${label}"`, labelToken.pos);
        } else if (labelToken.kind === 'eof') {
          return this.fail('unclosed "{": expected "}" before the end', open.pos);
        } else {
          return this.unexpected(labelToken, 'a label name');
        }
        const opToken = this.next();
        if (opToken.kind !== 'punct' || !['=', '!=', '=~', '!~'].includes(opToken.text))
          this.fail(`expected =, !=, =~ or !~ after label "${label}"`, opToken.pos);
        const op = opToken.text as MatchOp;
        const valueToken = this.next();
        if (valueToken.kind !== 'string')
          this.fail(`expected a quoted value after ${label}${op}, like ${label}${op}"value"`, valueToken.pos);
        const value = valueToken.str;
        if (label === '__name__' && nameFromIdentifier)
          this.fail(
            `metric name must not be set twice: "${metric}" and ${label}${op}"${value}"`,
            labelToken.pos,
          );
        if (op === '=~' || op === '!~') {
          try {
            compileRegex(value);
          } catch {
            const error = regexError(value);
            this.fail(
              `invalid regular expression in ${label}${op}${valueToken.text}: ${(error as Error).message}`,
              valueToken.pos,
            );
          }
        }
        if (label === '__name__' && op === '=' && metric === undefined) metric = value;
        matchers.push({ name: label, op, value });
        if (this.isPunct(',')) {
          this.next();
          continue;
        }
        if (this.isPunct('}')) continue;
        const token = this.peek();
        if (token.kind === 'eof') this.fail('unclosed "{": expected "}" before the end', open.pos);
        this.unexpected(token, '"," or "}"');
      }
    }
    if (!matchers.some((m) => !matchesEmpty(m)))
      this.fail(
        'a selector needs a metric name or a matcher that rejects the empty string, like {job="api"}',
        pos,
      );
    return { type: 'vectorSelector', name: metric, matchers, offsetMs: 0, pos };
  }

  /** `(label, label, ...)` after by, without, on, ignoring, group_left or group_right. */
  private parseLabelList(keyword: string): string[] {
    const open = this.peek();
    if (!this.isPunct('(')) this.fail(`expected "(" after ${keyword}, like ${keyword} (service)`, open.pos);
    this.next();
    const labels: string[] = [];
    for (;;) {
      if (this.isPunct(')')) {
        this.next();
        return labels;
      }
      const token = this.next();
      // Inf and NaN lex as numbers but are fine label names.
      if ((token.kind === 'ident' || token.kind === 'number') && LABEL_NAME.test(token.text))
        labels.push(token.text);
      else if (token.kind === 'string') labels.push(token.str);
      else if (token.kind === 'eof')
        this.fail(`unclosed "(" of ${keyword}: expected ")" before the end`, open.pos);
      else this.unexpected(token, `a label name in ${keyword} (...)`);
      if (this.isPunct(',')) this.next();
      else if (!this.isPunct(')')) {
        const after = this.peek();
        if (after.kind === 'eof')
          this.fail(`unclosed "(" of ${keyword}: expected ")" before the end`, open.pos);
        this.unexpected(after, '"," or ")"');
      }
    }
  }

  private parseArgs(open: Token, what: string): Expr[] {
    const args: Expr[] = [];
    if (this.isPunct(')')) {
      this.next();
      return args;
    }
    for (;;) {
      args.push(this.parseBinary(0));
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      this.close(open, what, '"," or ")"');
      return args;
    }
  }

  private parseAggregate(op: AggregateOp, nameToken: Token): AggregateExpr {
    let grouping: string[] = [];
    let without = false;
    let groupingSeen = false;
    if (this.isKeyword('by') || this.isKeyword('without')) {
      without = this.next().text.toLowerCase() === 'without';
      grouping = this.parseLabelList(without ? 'without' : 'by');
      groupingSeen = true;
    }
    const open = this.peek();
    if (!this.isPunct('(')) this.unexpected(open, `"(" after ${op} ${without ? 'without' : 'by'} (...)`);
    this.next();
    const args = this.parseArgs(open, `${op}()`);
    if (this.isKeyword('by') || this.isKeyword('without')) {
      const keyword = this.next();
      if (groupingSeen) this.fail(`${op} has by/without twice`, keyword.pos);
      without = keyword.text.toLowerCase() === 'without';
      grouping = this.parseLabelList(without ? 'without' : 'by');
    }
    const paramType: ValueType | undefined =
      op === 'count_values'
        ? 'string'
        : op === 'topk' || op === 'bottomk' || op === 'quantile'
          ? 'scalar'
          : undefined;
    const usage =
      op === 'count_values'
        ? 'count_values("value", metric)'
        : op === 'quantile'
          ? 'quantile(0.9, metric)'
          : `${op}(5, metric)`;
    if (paramType && args.length !== 2)
      this.fail(`${op}() needs 2 arguments, like ${usage}; got ${args.length}`, nameToken.pos);
    if (!paramType && args.length !== 1)
      this.fail(`${op}() takes 1 argument (an instant vector), got ${args.length}`, nameToken.pos);
    const param = paramType ? args[0] : undefined;
    const expr = args[args.length - 1]!;
    if (param && paramType && typeOf(param) !== paramType)
      this.fail(
        `${op}() needs ${TYPE_NAMES[paramType]} as its first argument, like ${usage}; got ${TYPE_NAMES[typeOf(param)]}`,
        param.pos,
      );
    if (param?.type === 'string' && !param.value)
      this.fail('count_values() needs a label name as its first argument', param.pos);
    const exprType = typeOf(expr);
    if (exprType !== 'vector')
      this.fail(
        `${op}() needs an instant vector, got ${TYPE_NAMES[exprType]}` +
          (exprType === 'matrix' ? `; apply a function first, like ${op}(rate(metric[5m]))` : ''),
        expr.pos,
      );
    return { type: 'aggregate', op, param, expr, grouping, without, pos: nameToken.pos };
  }

  private parseCall(func: FunctionName, nameToken: Token): Call {
    const open = this.next();
    const args = this.parseArgs(open, `${func}()`);
    const spec: FunctionSpec = FUNCTIONS[func];
    const max = spec.variadic ? Infinity : spec.args.length;
    const min = spec.args.length - (spec.optional ?? 0);
    if (args.length < min || args.length > max) {
      if (spec.args.length === 1 && spec.args[0] === 'matrix' && args.length === 0)
        this.fail(`${func}() needs a range vector like metric[5m]`, nameToken.pos);
      const signature = `${func}(${spec.args.map((t) => SIGNATURE_NAMES[t]).join(', ')}${spec.variadic ? ', ...' : ''})`;
      const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
      this.fail(
        `${func}() takes ${count} argument${count === '1' ? '' : 's'} (${signature}), got ${args.length}`,
        nameToken.pos,
      );
    }
    args.forEach((arg, i) => {
      const expected = spec.args[Math.min(i, spec.args.length - 1)]!;
      const actual = typeOf(arg);
      if (actual === expected) return;
      if (expected === 'matrix') this.fail(`${func}() needs a range vector like metric[5m]`, arg.pos);
      const where = spec.args.length === 1 ? '' : ` as argument ${i + 1}`;
      const hint =
        actual === 'matrix' && expected === 'vector'
          ? '; apply a function like rate() or avg_over_time() to it first'
          : expected === 'string'
            ? ', a quoted string'
            : '';
      this.fail(`${func}() needs ${TYPE_NAMES[expected]}${where}, got ${TYPE_NAMES[actual]}${hint}`, arg.pos);
    });
    if (func === 'label_replace' || func === 'label_join') {
      const dst = args[1] as StringLiteral;
      if (!dst.value) this.fail(`${func}() needs a destination label name`, dst.pos);
    }
    if (func === 'label_replace') {
      const regex = args[4] as StringLiteral;
      try {
        compileLabelReplaceRegex(regex.value);
      } catch (error) {
        this.fail(`invalid regular expression in label_replace(): ${(error as Error).message}`, regex.pos);
      }
    }
    return { type: 'call', func, args, pos: nameToken.pos };
  }
}

/** label_replace() regexes: anchored, `.` matches newlines, and Go's (?P<name>...) groups work. */
export function compileLabelReplaceRegex(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern.replaceAll('(?P<', '(?<')})$`, 's');
}

function binaryOpOf(token: Token): BinaryOp | undefined {
  if (token.kind === 'punct') {
    switch (token.text) {
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
      case '^':
      case '==':
      case '!=':
      case '>':
      case '<':
      case '>=':
      case '<=':
        return token.text;
      default:
        return undefined;
    }
  }
  if (token.kind === 'ident') {
    const word = token.text.toLowerCase();
    if (word === 'and' || word === 'or' || word === 'unless' || word === 'atan2') return word;
  }
  return undefined;
}

/** Why a regex does not compile, in terms of the pattern as written (not its anchored form). */
function regexError(pattern: string): Error {
  try {
    new RegExp(pattern);
    compileRegex(pattern);
    return new Error('invalid pattern');
  } catch (error) {
    return error as Error;
  }
}

function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compileRegex(m.value).test('');
    case '!~':
      return !compileRegex(m.value).test('');
  }
}

/**
 * Parses a PromQL expression and type-checks it. The result must be a scalar or an instant vector
 * (what an alert rule or an instant query returns). Throws PromqlSyntaxError.
 */
export function parseExpr(text: string): Expr {
  const tokens = lex(text);
  if (tokens.length === 1) throw new PromqlSyntaxError('empty expression', 0);
  const parser = new Parser(tokens);
  const expr = parser.parseBinary(0);
  const rest = parser.peek();
  if (rest.kind !== 'eof') {
    if (rest.kind === 'punct' && rest.text === ')') throw new PromqlSyntaxError('unexpected ")"', rest.pos);
    throw new PromqlSyntaxError(
      `unexpected ${describe(rest)}; expected an operator or the end of the expression`,
      rest.pos,
    );
  }
  const type = typeOf(expr);
  if (type === 'matrix')
    throw new PromqlSyntaxError(
      'the expression is a range vector; apply a function to it, like rate(metric[5m]) or avg_over_time(metric[5m])',
      expr.pos,
    );
  if (type === 'string')
    throw new PromqlSyntaxError(
      'the expression is a string; expected a number or an instant vector',
      expr.pos,
    );
  return expr;
}

// ---------------------------------------------------------------------------------------------
// Printing

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabelName(name: string): string {
  return LABEL_NAME.test(name) ? name : JSON.stringify(name);
}

function formatSelector(s: VectorSelector): string {
  const first = s.matchers[0];
  const named =
    s.name !== undefined &&
    METRIC_NAME.test(s.name) &&
    first?.name === '__name__' &&
    first.op === '=' &&
    !s.matchers.some((m, i) => i > 0 && m.name === '__name__');
  const rest = named ? s.matchers.slice(1) : s.matchers;
  const body = rest.map((m) => `${formatLabelName(m.name)}${m.op}${JSON.stringify(m.value)}`).join(', ');
  return named ? `${s.name}${rest.length ? `{${body}}` : ''}` : `{${body}}`;
}

function formatOffset(s: VectorSelector): string {
  if (s.offsetMs === 0) return '';
  return ` offset ${s.offsetMs < 0 ? '-' : ''}${formatDuration(Math.abs(s.offsetMs))}`;
}

function formatOperand(expr: Expr, parentPrecedence: number, rightSide: boolean, parentOp: BinaryOp): string {
  const text = formatExpr(expr);
  if (expr.type === 'binary') {
    const p = PRECEDENCE[expr.op];
    const rightAssoc = parentOp === '^';
    const needs = p < parentPrecedence || (p === parentPrecedence && (rightAssoc ? !rightSide : rightSide));
    return needs ? `(${text})` : text;
  }
  if ((expr.type === 'unary' || (expr.type === 'number' && expr.value < 0)) && parentOp === '^' && !rightSide)
    return `(${text})`;
  return text;
}

/** Prints an expression as PromQL that parses back to the same tree. */
export function formatExpr(expr: Expr): string {
  switch (expr.type) {
    case 'number':
      return formatNumber(expr.value);
    case 'string':
      return JSON.stringify(expr.value);
    case 'vectorSelector':
      return formatSelector(expr) + formatOffset(expr);
    case 'matrixSelector':
      return `${formatSelector(expr.selector)}[${formatDuration(expr.rangeMs)}]${formatOffset(expr.selector)}`;
    case 'unary': {
      const inner = formatExpr(expr.expr);
      return expr.expr.type === 'binary' && PRECEDENCE[expr.expr.op] < PRECEDENCE['^']
        ? `-(${inner})`
        : `-${inner}`;
    }
    case 'binary': {
      const p = PRECEDENCE[expr.op];
      let op: string = expr.op;
      if (expr.returnBool) op += ' bool';
      const m = expr.matching;
      if (m && (m.on || m.labels.length > 0)) op += ` ${m.on ? 'on' : 'ignoring'} (${m.labels.join(', ')})`;
      if (m && (m.card === 'many-to-one' || m.card === 'one-to-many'))
        op += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'}${m.include.length ? ` (${m.include.join(', ')})` : ''}`;
      return `${formatOperand(expr.lhs, p, false, expr.op)} ${op} ${formatOperand(expr.rhs, p, true, expr.op)}`;
    }
    case 'aggregate': {
      const grouping =
        expr.grouping.length || expr.without
          ? ` ${expr.without ? 'without' : 'by'} (${expr.grouping.join(', ')})`
          : '';
      const args = expr.param ? `${formatExpr(expr.param)}, ${formatExpr(expr.expr)}` : formatExpr(expr.expr);
      return `${expr.op}${grouping} (${args})`;
    }
    case 'call':
      return `${expr.func}(${expr.args.map(formatExpr).join(', ')})`;
  }
}
