import { describe, expect, it } from 'vitest';
import {
  formatExpr,
  parseDuration,
  parseExpr,
  PromqlSyntaxError,
  typeOf,
  type BinaryExpr,
  type Expr,
  type MatrixSelector,
  type VectorSelector,
} from './parser.js';

/** The tree as nested arrays of operators and leaves, which makes precedence visible. */
function shape(expr: Expr): unknown {
  switch (expr.type) {
    case 'number':
      return expr.value;
    case 'string':
      return JSON.stringify(expr.value);
    case 'vectorSelector':
      return expr.name ?? '{}';
    case 'matrixSelector':
      return `${String(shape(expr.selector))}[${expr.rangeMs}]`;
    case 'unary':
      return ['neg', shape(expr.expr)];
    case 'binary':
      return [expr.op, shape(expr.lhs), shape(expr.rhs)];
    case 'aggregate':
      return [expr.op, ...(expr.param ? [shape(expr.param)] : []), shape(expr.expr)];
    case 'call':
      return [expr.func, ...expr.args.map(shape)];
  }
}

function syntaxError(text: string): PromqlSyntaxError {
  try {
    parseExpr(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PromqlSyntaxError);
    return error as PromqlSyntaxError;
  }
  throw new Error(`"${text}" parsed, expected a syntax error`);
}

/** Drops positions, so trees parsed from different texts compare equal. */
function withoutPositions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPositions);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'pos')
        .map(([key, v]) => [key, withoutPositions(v)]),
    );
  return value;
}

describe('literals', () => {
  it('parses numbers, including scientific notation, hex, Inf and NaN', () => {
    expect(shape(parseExpr('42'))).toBe(42);
    expect(shape(parseExpr('1.5e3'))).toBe(1500);
    expect(shape(parseExpr('.5'))).toBe(0.5);
    expect(shape(parseExpr('2E-2'))).toBe(0.02);
    expect(shape(parseExpr('0x1f'))).toBe(31);
    expect(shape(parseExpr('Inf'))).toBe(Infinity);
    expect(shape(parseExpr('-inf'))).toBe(-Infinity);
    expect(shape(parseExpr('NaN'))).toBeNaN();
  });

  it('reads Go-style escapes in strings, and backtick strings raw', () => {
    const call = parseExpr(String.raw`label_replace(up, "dst", "a\tb\u00e9\"", "src", ` + '`\\d+`)');
    expect(call.type === 'call' && call.args.map((a) => (a.type === 'string' ? a.value : ''))).toEqual([
      '',
      'dst',
      'a\tbé"',
      'src',
      '\\d+',
    ]);
    expect(syntaxError(String.raw`up{job=~"\d+"}`).message).toContain('unknown escape sequence "\\d"');
  });

  it('parses durations with every unit and compound durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('30m1h')).toBeUndefined();
    const m = parseExpr('rate(x[1h30m])');
    expect(m.type === 'call' && (m.args[0] as MatrixSelector).rangeMs).toBe(5_400_000);
  });
});

describe('selectors', () => {
  it('turns the metric name and each matcher into label matchers', () => {
    const s = parseExpr('http_requests_total{job="api", code!="200", path=~"/v1/.*", method!~"GET|HEAD",}');
    expect(s).toMatchObject({
      type: 'vectorSelector',
      name: 'http_requests_total',
      offsetMs: 0,
      matchers: [
        { name: '__name__', op: '=', value: 'http_requests_total' },
        { name: 'job', op: '=', value: 'api' },
        { name: 'code', op: '!=', value: '200' },
        { name: 'path', op: '=~', value: '/v1/.*' },
        { name: 'method', op: '!~', value: 'GET|HEAD' },
      ],
    });
  });

  it('accepts {__name__="x"}, quoted metric names and metric names with colons', () => {
    expect(parseExpr('{__name__="up", job="api"}')).toMatchObject({ name: 'up' });
    expect(parseExpr('{"my.metric", job="api"}')).toMatchObject({
      name: 'my.metric',
      matchers: [{ name: '__name__', value: 'my.metric' }, { name: 'job' }],
    });
    expect(parseExpr('job:http_requests:rate5m')).toMatchObject({ name: 'job:http_requests:rate5m' });
  });

  it('parses ranges and offsets (also negative) on selectors', () => {
    const m = parseExpr('rate(x{a="b"}[5m] offset 1h)');
    const arg = (m as { args: Expr[] }).args[0] as MatrixSelector;
    expect(arg.rangeMs).toBe(300_000);
    expect(arg.selector.offsetMs).toBe(3_600_000);
    expect((parseExpr('x offset -5m') as VectorSelector).offsetMs).toBe(-300_000);
  });

  it('rejects selectors that match everything and names set twice', () => {
    const empty = syntaxError('{job=~".*"}');
    expect(empty.message).toContain(
      'a selector needs a metric name or a matcher that rejects the empty string',
    );
    expect(empty.position).toBe(0);
    expect(syntaxError('up{__name__="x"}').message).toContain('metric name must not be set twice');
  });
});

describe('precedence and associativity', () => {
  it.each([
    ['1 + 2 * 3', ['+', 1, ['*', 2, 3]]],
    ['1 * 2 + 3', ['+', ['*', 1, 2], 3]],
    ['a - b - c', ['-', ['-', 'a', 'b'], 'c']],
    ['2 ^ 3 ^ 2', ['^', 2, ['^', 3, 2]]],
    ['a * b ^ c', ['*', 'a', ['^', 'b', 'c']]],
    ['-a ^ 2', ['neg', ['^', 'a', 2]]],
    ['-a * b', ['*', ['neg', 'a'], 'b']],
    ['2 ^ -a', ['^', 2, ['neg', 'a']]],
    ['a + b > c * d', ['>', ['+', 'a', 'b'], ['*', 'c', 'd']]],
    ['a > b and c < d', ['and', ['>', 'a', 'b'], ['<', 'c', 'd']]],
    ['a or b and c', ['or', 'a', ['and', 'b', 'c']]],
    ['a and b or c unless d', ['or', ['and', 'a', 'b'], ['unless', 'c', 'd']]],
    ['a % b / c', ['/', ['%', 'a', 'b'], 'c']],
    ['(1 + 2) * 3', ['*', ['+', 1, 2], 3]],
    ['a > 2 <= 5', ['<=', ['>', 'a', 2], 5]],
    ['a atan2 b + c', ['+', ['atan2', 'a', 'b'], 'c']],
  ])('%s', (text, expected) => {
    expect(shape(parseExpr(text))).toEqual(expected);
  });

  it('prints expressions that parse back to the same tree', () => {
    for (const text of [
      '-(a + b) * c ^ -2',
      '(-2) ^ 2',
      'sum without (instance) (rate(x{job=~"a|b"}[1h30m] offset 5m)) / on (job) group_left (team) info',
      'a > bool 1 or b unless on () c',
      'histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))',
      'topk(3, x) + count_values("v", y)',
      '(a - b) - (c - d)',
    ]) {
      const tree = parseExpr(text);
      expect(withoutPositions(parseExpr(formatExpr(tree)))).toEqual(withoutPositions(tree));
    }
  });
});

describe('operators and modifiers', () => {
  it('parses bool and vector matching modifiers', () => {
    const e = parseExpr('a / on(service, instance) group_left(team) b') as BinaryExpr;
    expect(e.matching).toEqual({
      card: 'many-to-one',
      on: true,
      labels: ['service', 'instance'],
      include: ['team'],
    });
    const g = parseExpr('a - ignoring(code) group_right b') as BinaryExpr;
    expect(g.matching).toEqual({ card: 'one-to-many', on: false, labels: ['code'], include: [] });
    const c = parseExpr('a >= bool b') as BinaryExpr;
    expect(c.returnBool).toBe(true);
    expect(c.matching?.card).toBe('one-to-one');
    expect((parseExpr('a and b') as BinaryExpr).matching?.card).toBe('many-to-many');
    expect((parseExpr('a * 2') as BinaryExpr).matching).toBeUndefined();
  });

  it('parses aggregations with by/without before or after the arguments', () => {
    const before = parseExpr('sum by (service, le) (x)');
    const after = parseExpr('sum(x) by (service, le)');
    expect(withoutPositions(before)).toEqual(withoutPositions(after));
    expect(before).toMatchObject({
      type: 'aggregate',
      op: 'sum',
      grouping: ['service', 'le'],
      without: false,
    });
    expect(parseExpr('topk without (instance) (3, x)')).toMatchObject({
      op: 'topk',
      param: { type: 'number', value: 3 },
      without: true,
      grouping: ['instance'],
    });
    expect(parseExpr('SUM BY (a) (x)')).toMatchObject({ op: 'sum', grouping: ['a'] });
    // Keywords and Inf/NaN are fine as label names.
    expect(parseExpr('sum by (on, bool, nan) (x{offset="1", inf="2"})')).toMatchObject({
      grouping: ['on', 'bool', 'nan'],
      expr: { matchers: [{ name: '__name__' }, { name: 'offset' }, { name: 'inf' }] },
    });
  });

  it('types expressions', () => {
    expect(typeOf(parseExpr('1 + 2 * time()'))).toBe('scalar');
    expect(typeOf(parseExpr('scalar(x) * 2'))).toBe('scalar');
    expect(typeOf(parseExpr('x * 2'))).toBe('vector');
    expect(typeOf(parseExpr('-vector(1)'))).toBe('vector');
  });
});

describe('errors', () => {
  it.each([
    // [text, message (part), position]
    ['rte(x[5m])', 'unknown function "rte"; known: rate, increase, ', 0],
    ['sum(rate(x[5m])) + summ(x)', 'unknown function "summ"', 19],
    ['rate(x[5x])', 'expected a duration like 5m in [...]', 7],
    ['rate(x[5])', 'expected a duration like 5m in [...]', 7],
    ['rate(x[])', 'expected a duration like 5m in [...]', 7],
    ['x[1m30s1h]', 'bad duration "1m30s1h"', 2],
    ['x offset five', 'expected a duration like 5m after offset', 9],
    ['(a + b', 'unclosed "(": expected ")" before the end', 0],
    ['a + b)', 'unexpected ")"', 5],
    ['sum(rate(x[5m])', 'unclosed "(" of sum()', 3],
    ['x{job="a"', 'unclosed "{"', 1],
    ['rate(x[5m)', 'unexpected ")"; expected "]" after the duration', 9],
    ['rate(x)', 'rate() needs a range vector like metric[5m]', 5],
    ['increase(sum(x))', 'increase() needs a range vector like metric[5m]', 9],
    ['rate()', 'rate() needs a range vector like metric[5m]', 0],
    ['abs(x[5m])', 'abs() needs an instant vector, got a range vector', 4],
    [
      'histogram_quantile(x, y)',
      'histogram_quantile() needs a scalar as argument 1, got an instant vector',
      19,
    ],
    ['clamp(x, 1)', 'clamp() takes 3 arguments (clamp(instant vector, scalar, scalar)), got 2', 0],
    ['sum(x[5m])', 'sum() needs an instant vector, got a range vector', 4],
    ['topk(x)', 'topk() needs 2 arguments', 0],
    ['quantile(y, x)', 'quantile() needs a scalar as its first argument', 9],
    ['x[5m]', 'the expression is a range vector', 0],
    ['x[5m] + 1', '"+" needs a scalar or an instant vector on the left, got a range vector', 0],
    ['"a"', 'the expression is a string', 0],
    ['1 > 2', 'comparisons between scalars must use bool', 2],
    ['x and 1', '"and" needs instant vectors on both sides', 2],
    ['x + bool y', 'bool only applies to comparison operators', 4],
    ['x * on(a) 2', 'need instant vectors on both sides', 4],
    ['a / group_left b', 'group_left must follow on(...) or ignoring(...)', 4],
    ['a or on(x) group_left b', 'group_left does not apply to "or"', 11],
    ['a + on(x) group_left(x) b', 'label "x" must not be in both on(...) and group_left(...)', 10],
    ['x{job=~"("}', 'invalid regular expression in job=~"("', 7],
    ['x{job=api}', 'expected a quoted value after job=, like job="value"', 6],
    ['x{job<"a"}', 'expected =, !=, =~ or !~ after label "job"', 5],
    ['x{job~"a"}', 'unexpected character "~"', 5],
    ['(sum(x))[5m]', 'subqueries are not supported', 8],
    ['x[5m:1m]', 'subqueries like [5m:1m] are not supported', 4],
    ['x @ 100', 'the @ modifier is not supported', 2],
    ['x offset 5m [5m]', 'write the range before offset', 12],
    ['sum(x) offset 5m', 'offset must follow a metric selector', 7],
    ['x y', 'unexpected "y"; expected an operator or the end of the expression', 2],
    ['x = 1', 'unexpected "="; to compare, write ==', 2],
    ['5m', 'unexpected duration "5m"', 0],
    ['1 +', 'unexpected end of expression', 3],
    ['rate(x[$window])', 'only $window is replaced', 7],
    ['"abc', 'unterminated string', 0],
    ['', 'empty expression', 0],
    ['sum', 'sum needs an argument list', 0],
    ['label_replace(x, "", "$1", "a", "(.*)")', 'label_replace() needs a destination label name', 17],
  ])('%s', (text, message, position) => {
    const error = syntaxError(text);
    expect(error.message).toContain(message);
    expect(error.position).toBe(position);
  });

  it('lists every known function for an unknown one', () => {
    const message = syntaxError('rte(x[5m])').message;
    for (const name of [
      'rate',
      'irate',
      'histogram_quantile',
      'absent_over_time',
      'label_replace',
      'sort_desc',
    ])
      expect(message).toContain(name);
  });
});
