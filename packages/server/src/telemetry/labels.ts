// Metric and label names, series identity, and label matchers (Prometheus semantics).
import type { LabelMatcher, Labels, MatchOp } from './series.js';

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
export const NAME_LABEL = '__name__';

export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/**
 * The series' label set with __name__ first and the rest sorted; labels with empty values are
 * dropped, since Prometheus treats an empty value as an absent label.
 */
export function seriesLabels(name: string, labels: Labels): Labels {
  const out: Labels = { [NAME_LABEL]: name };
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key];
    if (value !== undefined && value !== '' && key !== NAME_LABEL) out[key] = value;
  }
  return out;
}

/**
 * The identity of a series regardless of label order, as `name{a="x",b="y"}`: label names cannot
 * hold `=` or `,` and values are JSON-quoted, so distinct label sets never share a key. Built without
 * the label object, since ingest computes it for every sample.
 */
export function seriesKey(name: string, labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = `${name}{`;
  let first = true;
  for (const label of names) {
    const value = labels[label];
    if (value === undefined || value === '' || label === NAME_LABEL) continue;
    key += `${first ? '' : ','}${label}=${JSON.stringify(value)}`;
    first = false;
  }
  return `${key}}`;
}

/** seriesKey of a label set that carries its name in __name__. */
export function labelsKey(labels: Labels): string {
  return seriesKey(labels[NAME_LABEL] ?? '', labels);
}

export interface CompiledMatcher extends LabelMatcher {
  /** True when the matcher accepts a missing label (the empty string). */
  matchesEmpty: boolean;
  test(value: string): boolean;
}

const regexCache = new Map<string, RegExp>();

function anchored(pattern: string): RegExp {
  let regex = regexCache.get(pattern);
  if (!regex) {
    // Anchored on both ends, as in Prometheus.
    regex = new RegExp(`^(?:${pattern})$`);
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(pattern, regex);
  }
  return regex;
}

/** Throws an Error naming the matcher when its regular expression does not compile. */
export function compileMatcher(matcher: LabelMatcher): CompiledMatcher {
  let test: (value: string) => boolean;
  switch (matcher.op) {
    case '=':
      test = (v) => v === matcher.value;
      break;
    case '!=':
      test = (v) => v !== matcher.value;
      break;
    case '=~':
    case '!~': {
      let regex: RegExp;
      try {
        regex = anchored(matcher.value);
      } catch (error) {
        throw new Error(
          `${formatMatcher(matcher)} has an invalid regular expression: ${(error as Error).message}`,
        );
      }
      test = matcher.op === '=~' ? (v) => regex.test(v) : (v) => !regex.test(v);
      break;
    }
  }
  return { ...matcher, test, matchesEmpty: test('') };
}

/** A missing label matches as the empty string, as in Prometheus. */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) if (!m.test(labels[m.name] ?? '')) return false;
  return true;
}

export function formatMatcher(m: LabelMatcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

const OPS: MatchOp[] = ['=~', '!~', '!=', '='];

/**
 * Parses one matcher (`job="api"`, `code=~"5.."`) or a series selector (`up`, `up{job="api"}`,
 * `{__name__=~"http_.*"}`) into matchers. Throws an Error saying what is wrong.
 */
export function parseSelector(text: string): LabelMatcher[] {
  const input = text.trim();
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`"${text}" is not a matcher or series selector: ${why} at position ${i + 1}`);
  };
  const skipSpace = () => {
    while (i < input.length && (input[i] === ' ' || input[i] === '\t')) i++;
  };
  const readName = (pattern: RegExp): string => {
    const start = i;
    while (i < input.length && pattern.test(input[i]!)) i++;
    return input.slice(start, i);
  };
  const readOp = (): MatchOp => {
    for (const op of OPS) {
      if (input.startsWith(op, i)) {
        i += op.length;
        return op;
      }
    }
    return fail('expected =, !=, =~ or !~');
  };
  const readQuoted = (): string => {
    const quote = input[i];
    if (quote !== '"' && quote !== "'") return fail('expected a quoted value');
    i++;
    let out = '';
    while (i < input.length && input[i] !== quote) {
      if (input[i] === '\\') {
        const next = input[i + 1];
        if (next === undefined) break;
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
        i += 2;
      } else out += input[i++];
    }
    if (input[i] !== quote) return fail('unterminated string');
    i++;
    return out;
  };
  const matchers: LabelMatcher[] = [];
  const name = readName(/[a-zA-Z0-9_:]/);
  skipSpace();
  if (name && i < input.length && input[i] !== '{') {
    // A single matcher: name op value (the value may be unquoted when it has no spaces).
    if (!isLabelName(name)) fail(`"${name}" is not a label name`);
    const op = readOp();
    skipSpace();
    const value = input[i] === '"' || input[i] === "'" ? readQuoted() : readName(/[^\s"']/);
    skipSpace();
    if (i < input.length) fail('unexpected text');
    matchers.push({ name, op, value });
  } else {
    if (name) {
      if (!isMetricName(name)) fail(`"${name}" is not a metric name`);
      matchers.push({ name: NAME_LABEL, op: '=', value: name });
    }
    if (input[i] === '{') {
      i++;
      for (;;) {
        skipSpace();
        if (input[i] === '}') break;
        const label = readName(/[a-zA-Z0-9_]/);
        if (!isLabelName(label)) fail('expected a label name');
        skipSpace();
        const op = readOp();
        skipSpace();
        matchers.push({ name: label, op, value: readQuoted() });
        skipSpace();
        if (input[i] === ',') i++;
        else if (input[i] !== '}') fail('expected , or }');
      }
      i++;
      skipSpace();
    }
    if (i < input.length) fail('unexpected text');
    if (matchers.length === 0) fail('empty selector');
  }
  for (const m of matchers) compileMatcher(m);
  return matchers;
}
