// The Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
// A malformed line is reported with its number and skipped; every good line is kept (Prometheus would
// drop the whole scrape, but one bad line from an exporter should not blind every rule).
import type { Labels } from './series.js';
import { isLabelName, isMetricName } from './labels.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ParsedSample {
  name: string;
  /** Without __name__; empty values are kept as written. */
  labels: Labels;
  value: number;
  /** Epoch milliseconds, when the line carries one. */
  timestamp?: number;
}

export interface ParseProblem {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface MetricFamily {
  type: MetricType;
  help?: string;
}

export interface Exposition {
  samples: ParsedSample[];
  errors: ParseProblem[];
  /** TYPE and HELP per metric family name. */
  families: Map<string, MetricFamily>;
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

class LineError extends Error {}

/** Parses a float as Go's strconv.ParseFloat does for exposition values: decimals, NaN and ±Inf. */
export function parseFloatValue(text: string): number | undefined {
  if (NUMBER.test(text)) return Number(text);
  switch (text.toLowerCase()) {
    case 'nan':
    case '+nan':
    case '-nan':
      return NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    default:
      return undefined;
  }
}

const isBlank = (c: string | undefined) => c === ' ' || c === '\t';
const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;

/** [a-zA-Z0-9_], plus : in metric names; by char code, since this runs for every character. */
function isNameCode(c: number, colon: boolean): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || (colon && c === 58)
  );
}

function skipBlanks(line: string, i: number): number {
  let c = line.charCodeAt(i);
  while (c === SPACE || c === TAB) c = line.charCodeAt(++i);
  return i;
}

interface State {
  families: Map<string, MetricFamily>;
  /** Families with a TYPE line, with samples, with a HELP line. */
  typed: Set<string>;
  sampled: Set<string>;
  helped: Set<string>;
}

export function parseExposition(text: string): Exposition {
  const samples: ParsedSample[] = [];
  const errors: ParseProblem[] = [];
  const state: State = { families: new Map(), typed: new Set(), sampled: new Set(), helped: new Set() };
  const lines = text.split('\n');
  // A trailing newline ends the last line rather than starting an empty one.
  if (lines.at(-1) === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    try {
      let i = 0;
      while (isBlank(line[i])) i++;
      if (i === line.length) continue;
      if (line[i] === '#') {
        comment(line.slice(i + 1), state);
        continue;
      }
      const sample = sampleLine(line, i);
      const family = checkFamily(sample, state.families);
      state.sampled.add(family);
      samples.push(sample);
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      errors.push({ line: n + 1, message: error.message });
    }
  }
  return { samples, errors, families: state.families };
}

function comment(rest: string, state: State): void {
  const match = /^[ \t]*(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(rest);
  // Anything else after # is a comment, as is a HELP or TYPE line with nothing after the keyword.
  if (!match) return;
  const keyword = match[1]!;
  const name = match[2]!;
  const argument = match[3] ?? '';
  if (!isMetricName(name)) throw new LineError(`${keyword} names an invalid metric name "${name}"`);
  const family = state.families.get(name) ?? { type: 'untyped' };
  if (keyword === 'HELP') {
    if (state.helped.has(name)) throw new LineError(`second HELP line for metric "${name}"`);
    state.helped.add(name);
    family.help = unescapeHelp(argument);
  } else {
    const type = argument.trim().toLowerCase() as MetricType;
    if (!TYPES.has(type)) throw new LineError(`unknown metric type "${argument.trim()}" for "${name}"`);
    if (state.typed.has(name)) throw new LineError(`second TYPE line for metric "${name}"`);
    if (state.sampled.has(name)) throw new LineError(`TYPE line for "${name}" after its samples`);
    state.typed.add(name);
    family.type = type;
  }
  state.families.set(name, family);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

function sampleLine(line: string, start: number): ParsedSample {
  let i = start;
  while (i < line.length && isNameCode(line.charCodeAt(i), true)) i++;
  const name = line.slice(start, i);
  if (!name) throw new LineError(`expected a metric name, found "${line[i]}"`);
  const first = name.charCodeAt(0);
  if (first >= 48 && first <= 57) throw new LineError(`invalid metric name "${name}"`);
  const afterName = i;
  i = skipBlanks(line, i);
  const labels: Labels = {};
  if (line.charCodeAt(i) === 123 /* { */) {
    i = readLabels(line, i + 1, labels);
    i = skipBlanks(line, i);
  } else if (i === afterName && i < line.length) {
    throw new LineError(`unexpected "${line[i]}" after metric name "${name}"`);
  }
  const valueStart = i;
  while (i < line.length && line.charCodeAt(i) !== SPACE && line.charCodeAt(i) !== TAB) i++;
  if (i === valueStart) throw new LineError(`missing value for "${name}"`);
  const valueText = line.slice(valueStart, i);
  const value = parseFloatValue(valueText);
  if (value === undefined) throw new LineError(`invalid value "${valueText}" for "${name}"`);
  const sample: ParsedSample = { name, labels, value };
  i = skipBlanks(line, i);
  if (i < line.length) {
    const tsStart = i;
    while (i < line.length && line.charCodeAt(i) !== SPACE && line.charCodeAt(i) !== TAB) i++;
    const ts = line.slice(tsStart, i);
    if (!INTEGER.test(ts)) throw new LineError(`invalid timestamp "${ts}" (epoch milliseconds)`);
    sample.timestamp = Number(ts);
    i = skipBlanks(line, i);
    if (i < line.length) throw new LineError(`unexpected "${line.slice(i)}" after the timestamp`);
  }
  return sample;
}

/** Reads `name="value", ...}` from just after the brace; returns the index after the closing brace. */
function readLabels(line: string, from: number, labels: Labels): number {
  let i = from;
  for (;;) {
    i = skipBlanks(line, i);
    if (line.charCodeAt(i) === 125 /* } */) return i + 1;
    const nameStart = i;
    while (i < line.length && isNameCode(line.charCodeAt(i), false)) i++;
    const label = line.slice(nameStart, i);
    if (!label) throw new LineError(`expected a label name or "}" at column ${i + 1}`);
    if (!isLabelName(label)) throw new LineError(`invalid label name "${label}"`);
    if (label === '__name__') throw new LineError('label name "__name__" is reserved');
    if (Object.hasOwn(labels, label)) throw new LineError(`duplicate label "${label}"`);
    i = skipBlanks(line, i);
    if (line[i] !== '=') throw new LineError(`expected "=" after label "${label}" at column ${i + 1}`);
    i = skipBlanks(line, i + 1);
    if (line.charCodeAt(i) !== QUOTE) throw new LineError(`expected a quoted value for label "${label}"`);
    i++;
    let value = '';
    for (;;) {
      const quote = line.indexOf('"', i);
      const backslash = line.indexOf('\\', i);
      if (quote < 0) throw new LineError(`unterminated value for label "${label}"`);
      if (backslash < 0 || backslash > quote) {
        value += line.slice(i, quote);
        i = quote + 1;
        break;
      }
      value += line.slice(i, backslash);
      const next = line.charCodeAt(backslash + 1);
      if (next === BACKSLASH || next === QUOTE) value += String.fromCharCode(next);
      else if (next === 110 /* n */) value += '\n';
      else
        throw new LineError(`invalid escape sequence "\\${line[backslash + 1] ?? ''}" in label "${label}"`);
      i = backslash + 2;
    }
    labels[label] = value;
    i = skipBlanks(line, i);
    const c = line.charCodeAt(i);
    if (c === 44 /* , */) i++;
    else if (c !== 125) throw new LineError(`expected "," or "}" after label "${label}"`);
  }
}

/** The family a sample belongs to: x for x_bucket/x_sum/x_count of a histogram or summary x. */
function familyOf(name: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

/** Checks what a histogram or summary sample needs; returns the sample's family name. */
function checkFamily(sample: ParsedSample, families: Map<string, MetricFamily>): string {
  const base = familyOf(sample.name, families);
  const type = families.get(base)?.type;
  const suffix = sample.name.slice(base.length);
  if (type === 'histogram') {
    if (suffix === '') throw new LineError(`histogram "${base}" sample must be _bucket, _sum or _count`);
    if (suffix === '_bucket') {
      const le = sample.labels.le;
      if (le === undefined) throw new LineError(`histogram bucket "${sample.name}" has no "le" label`);
      if (parseFloatValue(le) === undefined)
        throw new LineError(`histogram bucket "${sample.name}" has a non-numeric le="${le}"`);
    }
  } else if (type === 'summary' && suffix === '') {
    const quantile = sample.labels.quantile;
    if (quantile === undefined) throw new LineError(`summary "${base}" sample has no "quantile" label`);
    if (parseFloatValue(quantile) === undefined)
      throw new LineError(`summary "${base}" has a non-numeric quantile="${quantile}"`);
  }
  return base;
}
