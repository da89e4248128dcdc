// Evaluates parsed PromQL (parser.ts) against a SeriesSource with Prometheus semantics. Data is
// fetched once per selector for the whole query; each evaluation step then works in memory.
import type { LabelMatcher, Labels, Sample, Series, SeriesSource } from '../series.js';
import {
  compileLabelReplaceRegex,
  isComparisonOp,
  typeOf,
  type AggregateExpr,
  type BinaryExpr,
  type ArithmeticOp,
  type ComparisonOp,
  type Call,
  type Expr,
  type MatrixSelector,
  type VectorMatching,
  type VectorSelector,
} from './parser.js';

/** A failure while evaluating (e.g. many-to-many matching); the expression itself is valid. */
export class PromqlEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromqlEvalError';
  }
}

export interface VectorSample {
  labels: Labels;
  value: number;
}

export type InstantResult = { type: 'vector'; samples: VectorSample[] } | { type: 'scalar'; value: number };

export interface RangeSeries {
  labels: Labels;
  points: Sample[];
}

export interface EvaluateOptions {
  /** How far back an instant selector looks for the latest sample (default 5m, as in Prometheus). */
  lookbackMs?: number;
}

export const DEFAULT_LOOKBACK_MS = 5 * 60_000;
/** Prometheus's limit on the points of one range query. */
export const MAX_RANGE_POINTS = 11_000;

export interface SelectorInfo {
  matchers: LabelMatcher[];
  /** The range of a range selector (metric[5m]); 0 for an instant selector, which reads the lookback window. */
  rangeMs: number;
  offsetMs: number;
}

/** The selectors an expression reads, so callers can prefetch: data in [t - offset - (range or lookback), t - offset]. */
export function selectorsOf(expr: Expr): SelectorInfo[] {
  return selectorNodes(expr).map(({ selector, rangeMs }) => ({
    matchers: selector.matchers,
    rangeMs,
    offsetMs: selector.offsetMs,
  }));
}

interface SelectorNode {
  selector: VectorSelector;
  rangeMs: number;
}

function selectorNodes(expr: Expr, out: SelectorNode[] = []): SelectorNode[] {
  switch (expr.type) {
    case 'number':
    case 'string':
      break;
    case 'vectorSelector':
      out.push({ selector: expr, rangeMs: 0 });
      break;
    case 'matrixSelector':
      out.push({ selector: expr.selector, rangeMs: expr.rangeMs });
      break;
    case 'unary':
      selectorNodes(expr.expr, out);
      break;
    case 'binary':
      selectorNodes(expr.lhs, out);
      selectorNodes(expr.rhs, out);
      break;
    case 'aggregate':
      if (expr.param) selectorNodes(expr.param, out);
      selectorNodes(expr.expr, out);
      break;
    case 'call':
      for (const arg of expr.args) selectorNodes(arg, out);
      break;
  }
  return out;
}

/** Evaluates `expr` at `at` (epoch ms). */
export async function evaluateInstant(
  expr: Expr,
  at: number,
  source: SeriesSource,
  options: EvaluateOptions = {},
): Promise<InstantResult> {
  const evaluator = new Evaluator(options.lookbackMs ?? DEFAULT_LOOKBACK_MS);
  await evaluator.load(expr, at, at, source);
  if (typeOf(expr) === 'scalar') return { type: 'scalar', value: evaluator.scalar(expr, at) };
  const samples = evaluator.vector(expr, at);
  // Results come sorted by labels, unless the expression's own order matters (sort, topk, ...).
  if (!keepsOrder(expr)) samples.sort(compareByLabels);
  // Label sets may be the store's own objects: hand out copies.
  return { type: 'vector', samples: samples.map((s) => ({ labels: { ...s.labels }, value: s.value })) };
}

/** Evaluates `expr` at start, start + step, ... up to end; one series per label set, sorted by labels. */
export async function evaluateRange(
  expr: Expr,
  start: number,
  end: number,
  stepMs: number,
  source: SeriesSource,
  options: EvaluateOptions = {},
): Promise<RangeSeries[]> {
  if (!(stepMs > 0)) throw new PromqlEvalError('the step must be positive');
  if (end < start) throw new PromqlEvalError('the end must not be before the start');
  if ((end - start) / stepMs > MAX_RANGE_POINTS)
    throw new PromqlEvalError(`too many points (over ${MAX_RANGE_POINTS}); use a larger step`);
  const evaluator = new Evaluator(options.lookbackMs ?? DEFAULT_LOOKBACK_MS);
  await evaluator.load(expr, start, end, source);
  if (typeOf(expr) === 'scalar') {
    const points: Sample[] = [];
    for (let t = start; t <= end; t += stepMs) points.push({ t, v: evaluator.scalar(expr, t) });
    return [{ labels: {}, points }];
  }
  const series = new Map<string, RangeSeries>();
  for (let t = start; t <= end; t += stepMs) {
    for (const sample of evaluator.vector(expr, t)) {
      const key = labelsKey(sample.labels);
      let entry = series.get(key);
      if (!entry) series.set(key, (entry = { labels: { ...sample.labels }, points: [] }));
      entry.points.push({ t, v: sample.value });
    }
  }
  return [...series.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
}

function keepsOrder(expr: Expr): boolean {
  return (
    (expr.type === 'call' && (expr.func === 'sort' || expr.func === 'sort_desc')) ||
    (expr.type === 'aggregate' && (expr.op === 'topk' || expr.op === 'bottomk'))
  );
}

// ---------------------------------------------------------------------------------------------
// Label sets

const NAME = '__name__';
const EMPTY_LABELS: Labels = Object.freeze({});

const namesCache = new WeakMap<Labels, string[]>();
const keyCache = new WeakMap<Labels, string>();
const keyWithoutNameCache = new WeakMap<Labels, string>();
const dropNameCache = new WeakMap<Labels, Labels>();

function sortedNames(labels: Labels): string[] {
  let names = namesCache.get(labels);
  if (!names) namesCache.set(labels, (names = Object.keys(labels).sort()));
  return names;
}

/**
 * Identifies a label set: sorted name/value pairs with control-character separators, which also
 * orders label sets the way Prometheus does.
 */
export function labelsKey(labels: Labels): string {
  let key = keyCache.get(labels);
  if (key === undefined) {
    key = '';
    for (const name of sortedNames(labels)) key += `${name}\x00${labels[name]}\x01`;
    keyCache.set(labels, key);
  }
  return key;
}

function keyWithoutName(labels: Labels): string {
  let key = keyWithoutNameCache.get(labels);
  if (key === undefined) {
    key = '';
    for (const name of sortedNames(labels)) if (name !== NAME) key += `${name}\x00${labels[name]}\x01`;
    keyWithoutNameCache.set(labels, key);
  }
  return key;
}

/** The key of the labels except `excluded` (and __name__ when `excluded` has it). */
function keyWithout(labels: Labels, excluded: ReadonlySet<string>): string {
  let key = '';
  for (const name of sortedNames(labels)) if (!excluded.has(name)) key += `${name}\x00${labels[name]}\x01`;
  return key;
}

/** The key of just the listed labels (a missing label counts as ""). */
function keyOf(labels: Labels, names: readonly string[]): string {
  if (names.length === 1) return labels[names[0]!] ?? '';
  let key = '';
  for (const name of names) key += `${labels[name] ?? ''}\x01`;
  return key;
}

function dropName(labels: Labels): Labels {
  if (labels[NAME] === undefined) return labels;
  let out = dropNameCache.get(labels);
  if (!out) {
    out = {};
    for (const name of Object.keys(labels)) if (name !== NAME) out[name] = labels[name]!;
    dropNameCache.set(labels, out);
  }
  return out;
}

function compareByLabels(a: VectorSample, b: VectorSample): number {
  const ka = labelsKey(a.labels);
  const kb = labelsKey(b.labels);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** True when the elements carry more than one metric name, so dropping names may collide. */
function mixedNames(items: readonly { labels: Labels }[]): boolean {
  let first: string | undefined;
  for (const item of items) {
    const name = item.labels[NAME];
    if (name === undefined) continue;
    if (first === undefined) first = name;
    else if (name !== first) return true;
  }
  return false;
}

function assertUnique(vector: readonly VectorSample[]): void {
  const seen = new Set<string>();
  for (const sample of vector) {
    const key = labelsKey(sample.labels);
    if (seen.has(key))
      throw new PromqlEvalError(
        `vector cannot contain metrics with the same labelset (${formatLabels(sample.labels)}); ` +
          'aggregate or use label_replace() to tell them apart',
      );
    seen.add(key);
  }
}

function formatLabels(labels: Labels): string {
  return `{${sortedNames(labels)
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(', ')}}`;
}

const setCache = new WeakMap<readonly string[], ReadonlySet<string>>();
const setWithNameCache = new WeakMap<readonly string[], ReadonlySet<string>>();

/** The names as a set (plus __name__ when `withName`), cached per AST list. */
function setOf(names: readonly string[], withName: boolean): ReadonlySet<string> {
  const cache = withName ? setWithNameCache : setCache;
  let set = cache.get(names);
  if (!set) cache.set(names, (set = new Set(withName ? [...names, NAME] : names)));
  return set;
}

// ---------------------------------------------------------------------------------------------
// Samples

/** The index of the first sample later than t (samples are oldest first). */
function firstAfter(samples: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = samples.length;
  if (hi > 0 && samples[hi - 1]!.t <= t) return hi;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (samples[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Neumaier-compensated summation, as Prometheus uses (kahanSumInc); returns via the two fields. */
class KahanSum {
  sum = 0;
  c = 0;

  add(value: number): void {
    const t = this.sum + value;
    if (!Number.isFinite(t)) this.c = 0;
    else if (Math.abs(this.sum) >= Math.abs(value)) this.c += this.sum - t + value;
    else this.c += value - t + this.sum;
    this.sum = t;
  }

  get value(): number {
    return this.sum + this.c;
  }

  reset(): void {
    this.sum = 0;
    this.c = 0;
  }
}

const scratchSum = new KahanSum();
let scratch = new Float64Array(64);

/** Prometheus's quantile over values[0..n) (sorts them in place; NaNs count as the smallest). */
function quantileOf(q: number, values: Float64Array, n: number): number {
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = values.subarray(0, n).sort(); // numeric; NaNs go last
  let nans = 0;
  while (nans < n && Number.isNaN(sorted[n - 1 - nans]!)) nans++;
  // Go's sort puts NaNs first: index i of that order is sorted[i - nans].
  const at = (i: number) => (i < nans ? NaN : sorted[i - nans]!);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return at(lower) * (1 - weight) + at(upper) * weight;
}

function ensureScratch(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Prometheus's extrapolatedRate: delta, increase and rate over samples[lo..hi) in (rangeStart, rangeEnd]. */
function extrapolatedRate(
  samples: readonly Sample[],
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  const count = hi - lo;
  if (count < 2) return undefined;
  const first = samples[lo]!;
  const last = samples[hi - 1]!;
  let result = last.v - first.v;
  if (isCounter) {
    let prev = first.v;
    for (let i = lo + 1; i < hi; i++) {
      const v = samples[i]!.v;
      if (v < prev) result += prev;
      prev = v;
    }
  }
  let durationToStart = (first.t - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - last.t) / 1000;
  const sampledInterval = (last.t - first.t) / 1000;
  const averageBetweenSamples = sampledInterval / (count - 1);
  const threshold = averageBetweenSamples * 1.1;
  if (durationToStart >= threshold) durationToStart = averageBetweenSamples / 2;
  if (isCounter && result > 0 && first.v >= 0) {
    // A counter does not go below zero: do not extrapolate past the point where it would be 0.
    const durationToZero = sampledInterval * (first.v / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageBetweenSamples / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeMs / 1000;
  return result * factor;
}

function instantValue(
  samples: readonly Sample[],
  lo: number,
  hi: number,
  isRate: boolean,
): number | undefined {
  if (hi - lo < 2) return undefined;
  const last = samples[hi - 1]!;
  const previous = samples[hi - 2]!;
  const value = isRate && last.v < previous.v ? last.v : last.v - previous.v;
  const interval = last.t - previous.t;
  if (interval === 0) return undefined;
  return isRate ? value / (interval / 1000) : value;
}

/** Least-squares fit over samples[lo..hi) with x in seconds relative to interceptTime. */
function linearRegression(
  samples: readonly Sample[],
  lo: number,
  hi: number,
  interceptTime: number,
): [slope: number, intercept: number] {
  const initY = samples[lo]!.v;
  let constY = true;
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumX2 = 0;
  for (let i = lo; i < hi; i++) {
    const s = samples[i]!;
    if (constY && i > lo && s.v !== initY) constY = false;
    n++;
    const x = (s.t - interceptTime) / 1000;
    sumX += x;
    sumY += s.v;
    sumXY += x * s.v;
    sumX2 += x * x;
  }
  if (constY) return Number.isFinite(initY) ? [0, initY] : [NaN, NaN];
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

type RangeFunction =
  | 'rate'
  | 'increase'
  | 'irate'
  | 'delta'
  | 'idelta'
  | 'deriv'
  | 'predict_linear'
  | 'changes'
  | 'resets'
  | 'avg_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'sum_over_time'
  | 'count_over_time'
  | 'last_over_time'
  | 'present_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time';

/** One range function over samples[lo..hi) (non-empty); undefined drops the series. */
function rangeValue(
  func: RangeFunction,
  samples: readonly Sample[],
  lo: number,
  hi: number,
  rangeStart: number,
  rangeEnd: number,
  rangeMs: number,
  param: number,
  t: number,
): number | undefined {
  const n = hi - lo;
  switch (func) {
    case 'rate':
      return extrapolatedRate(samples, lo, hi, rangeStart, rangeEnd, rangeMs, true, true);
    case 'increase':
      return extrapolatedRate(samples, lo, hi, rangeStart, rangeEnd, rangeMs, true, false);
    case 'delta':
      return extrapolatedRate(samples, lo, hi, rangeStart, rangeEnd, rangeMs, false, false);
    case 'irate':
      return instantValue(samples, lo, hi, true);
    case 'idelta':
      return instantValue(samples, lo, hi, false);
    case 'deriv':
      return n < 2 ? undefined : linearRegression(samples, lo, hi, samples[lo]!.t)[0];
    case 'predict_linear': {
      if (n < 2) return undefined;
      const [slope, intercept] = linearRegression(samples, lo, hi, t);
      return slope * param + intercept;
    }
    case 'changes':
    case 'resets': {
      let count = 0;
      let prev = samples[lo]!.v;
      for (let i = lo + 1; i < hi; i++) {
        const v = samples[i]!.v;
        if (func === 'resets' ? v < prev : v !== prev && !(Number.isNaN(v) && Number.isNaN(prev))) count++;
        prev = v;
      }
      return count;
    }
    case 'sum_over_time':
    case 'avg_over_time': {
      scratchSum.reset();
      for (let i = lo; i < hi; i++) scratchSum.add(samples[i]!.v);
      return func === 'sum_over_time' ? scratchSum.value : scratchSum.value / n;
    }
    case 'min_over_time':
    case 'max_over_time': {
      let value = samples[lo]!.v;
      for (let i = lo + 1; i < hi; i++) {
        const v = samples[i]!.v;
        if ((func === 'min_over_time' ? v < value : v > value) || Number.isNaN(value)) value = v;
      }
      return value;
    }
    case 'count_over_time':
      return n;
    case 'last_over_time':
      return samples[hi - 1]!.v;
    case 'present_over_time':
      return 1;
    case 'stddev_over_time':
    case 'stdvar_over_time': {
      let count = 0;
      let mean = 0;
      let m2 = 0;
      for (let i = lo; i < hi; i++) {
        const v = samples[i]!.v;
        count++;
        const delta = v - mean;
        mean += delta / count;
        m2 += delta * (v - mean);
      }
      return func === 'stdvar_over_time' ? m2 / count : Math.sqrt(m2 / count);
    }
    case 'quantile_over_time': {
      const values = ensureScratch(n);
      for (let i = lo; i < hi; i++) values[i - lo] = samples[i]!.v;
      return quantileOf(param, values, n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar operators

function arithmetic(op: ArithmeticOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return pow(a, b);
    case 'atan2':
      return Math.atan2(a, b);
  }
}

/** Go's math.Pow, which differs from ** for base 1 and -1. */
function pow(a: number, b: number): number {
  if (b === 0 || a === 1) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return a ** b;
}

function compare(op: ComparisonOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
  }
}

// ---------------------------------------------------------------------------------------------
// histogram_quantile

interface Bucket {
  upper: number;
  count: number;
}

/** Parses a bucket bound as Go's strconv.ParseFloat does (+Inf, NaN, decimals); undefined when malformed. */
function parseBound(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^[+-]?(?:inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text) || /^[+-]?0[xX][0-9a-fA-F]+$/.test(text))
    return Number(text);
  return undefined;
}

function almostEqual(a: number, b: number, epsilon: number): boolean {
  const minNormal = 2.2250738585072014e-308;
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < epsilon * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Prometheus's BucketQuantile for classic (le) buckets. */
export function bucketQuantile(q: number, input: Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  input.sort((a, b) => (a.upper < b.upper ? -1 : a.upper > b.upper ? 1 : 0));
  if (input[input.length - 1]?.upper !== Infinity) return NaN;
  // Merge buckets with the same bound.
  const buckets: Bucket[] = [];
  for (const b of input) {
    const last = buckets[buckets.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else buckets.push({ upper: b.upper, count: b.count });
  }
  // Force monotonic counts (tiny floating-point differences and decreases are ignored).
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const current = buckets[i]!.count;
    if (current === prev) continue;
    if (almostEqual(prev, current, 1e-12) || current < prev) buckets[i]!.count = prev;
    else prev = current;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && buckets[b]!.count < rank) b++;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upper;
  if (b === 0 && buckets[0]!.upper <= 0) return buckets[0]!.upper;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.upper;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.upper;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

// ---------------------------------------------------------------------------------------------
// Helpers for functions

/** Go's strconv.FormatFloat(v, 'f', -1, 64), which count_values uses for its label. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const text = String(v);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Go's regexp Expand: $1, ${1}, $name, ${name}, $$. */
function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$' || i === template.length - 1) {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      name = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^[a-zA-Z0-9_]+$/.test(name)) {
        out += c;
        continue;
      }
      end = close;
    } else {
      const word = /^[a-zA-Z0-9_]+/.exec(template.slice(i + 1));
      if (!word) {
        out += c;
        continue;
      }
      name = word[0];
      end = i + name.length;
    }
    out += (/^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name]) ?? '';
    i = end;
  }
  return out;
}

function withLabel(labels: Labels, name: string, value: string): Labels {
  const out: Labels = {};
  for (const key of Object.keys(labels)) if (key !== name) out[key] = labels[key]!;
  if (value !== '') out[name] = value;
  return out;
}

function absentLabels(expr: Expr): Labels {
  const selector =
    expr.type === 'vectorSelector' ? expr : expr.type === 'matrixSelector' ? expr.selector : undefined;
  if (!selector) return EMPTY_LABELS;
  const out: Labels = {};
  const seen = new Set<string>();
  for (const m of selector.matchers) {
    if (m.name === NAME) continue;
    if (m.op === '=' && !seen.has(m.name)) {
      out[m.name] = m.value;
      seen.add(m.name);
    } else {
      delete out[m.name];
    }
  }
  return out;
}

const MATH_FUNCTIONS: Partial<Record<Call['func'], (v: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  sqrt: Math.sqrt,
  exp: Math.exp,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
  minute: (v) => dateField(v, (d) => d.getUTCMinutes()),
  hour: (v) => dateField(v, (d) => d.getUTCHours()),
  day_of_week: (v) => dateField(v, (d) => d.getUTCDay()),
  day_of_month: (v) => dateField(v, (d) => d.getUTCDate()),
  day_of_year: (v) =>
    dateField(v, (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  days_in_month: (v) =>
    dateField(v, (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  month: (v) => dateField(v, (d) => d.getUTCMonth() + 1),
  year: (v) => dateField(v, (d) => d.getUTCFullYear()),
};

function dateField(seconds: number, field: (d: Date) => number): number {
  if (!Number.isFinite(seconds)) return NaN;
  return field(new Date(Math.floor(seconds) * 1000));
}

const labelReplaceRegexes = new Map<string, RegExp>();

function labelReplaceRegex(pattern: string): RegExp {
  let regex = labelReplaceRegexes.get(pattern);
  if (!regex) {
    if (labelReplaceRegexes.size >= 1000) labelReplaceRegexes.clear();
    labelReplaceRegexes.set(pattern, (regex = compileLabelReplaceRegex(pattern)));
  }
  return regex;
}

/** The string literal arguments of a call (label_replace, label_join). */
function stringArgs(call: Call): string[] {
  return call.args.flatMap((a) => (a.type === 'string' ? [a.value] : []));
}

function vectorSelectorOf(expr: Expr): VectorSelector | undefined {
  return expr.type === 'vectorSelector' ? expr : undefined;
}

function matrixArg(call: Call): MatrixSelector {
  const arg = call.args.find((a) => a.type === 'matrixSelector');
  if (!arg || arg.type !== 'matrixSelector') throw new Error(`internal: ${call.func} has no range argument`);
  return arg;
}

/** An aggregation group: the accumulators every operator needs, so groups stay one shape. */
class Group {
  count = 0;
  value = 0;
  readonly sum = new KahanSum();
  mean = 0;
  m2 = 0;
  values: number[] | undefined;
  samples: VectorSample[] | undefined;

  constructor(readonly labels: Labels) {}
}

// ---------------------------------------------------------------------------------------------
// The evaluator

class Evaluator {
  private readonly data = new Map<VectorSelector, Series[]>();
  /** Output label sets per node and group key, so they keep their identity (and cached keys) across steps. */
  private readonly interned = new Map<Expr, Map<string, Labels>>();

  constructor(private readonly lookbackMs: number) {}

  /** Fetches every selector's data for evaluation between start and end; identical selectors share one fetch. */
  async load(expr: Expr, start: number, end: number, source: SeriesSource): Promise<void> {
    const fetches = new Map<
      string,
      { matchers: LabelMatcher[]; from: number; to: number; nodes: VectorSelector[] }
    >();
    for (const { selector, rangeMs } of selectorNodes(expr)) {
      const from = start - selector.offsetMs - (rangeMs || this.lookbackMs);
      const to = end - selector.offsetMs;
      const key = JSON.stringify(selector.matchers);
      const fetch = fetches.get(key);
      if (!fetch) fetches.set(key, { matchers: selector.matchers, from, to, nodes: [selector] });
      else {
        fetch.from = Math.min(fetch.from, from);
        fetch.to = Math.max(fetch.to, to);
        fetch.nodes.push(selector);
      }
    }
    await Promise.all(
      [...fetches.values()].map(async (fetch) => {
        const series = await source.select(fetch.matchers, fetch.from, fetch.to);
        for (const node of fetch.nodes) this.data.set(node, series);
      }),
    );
  }

  private intern(node: Expr, key: string, build: () => Labels): Labels {
    let cache = this.interned.get(node);
    if (!cache) this.interned.set(node, (cache = new Map()));
    let labels = cache.get(key);
    if (!labels) cache.set(key, (labels = build()));
    return labels;
  }

  private series(selector: VectorSelector): Series[] {
    return this.data.get(selector) ?? [];
  }

  scalar(expr: Expr, t: number): number {
    switch (expr.type) {
      case 'number':
        return expr.value;
      case 'unary':
        return -this.scalar(expr.expr, t);
      case 'binary': {
        const a = this.scalar(expr.lhs, t);
        const b = this.scalar(expr.rhs, t);
        // Set operators never have scalar operands (the parser rejects them).
        return isComparisonOp(expr.op)
          ? compare(expr.op, a, b)
            ? 1
            : 0
          : arithmetic(expr.op as ArithmeticOp, a, b);
      }
      case 'call':
        if (expr.func === 'time') return t / 1000;
        if (expr.func === 'scalar') {
          const vector = this.vector(expr.args[0]!, t);
          return vector.length === 1 ? vector[0]!.value : NaN;
        }
        throw new Error(`internal: ${expr.func}() is not scalar`);
      case 'string':
      case 'vectorSelector':
      case 'matrixSelector':
      case 'aggregate':
        throw new Error(`internal: ${expr.type} is not scalar`);
    }
  }

  vector(expr: Expr, t: number): VectorSample[] {
    switch (expr.type) {
      case 'vectorSelector':
        return this.instantSelector(expr, t, false);
      case 'unary': {
        const input = this.vector(expr.expr, t);
        const out: VectorSample[] = new Array(input.length);
        for (let i = 0; i < input.length; i++)
          out[i] = { labels: dropName(input[i]!.labels), value: -input[i]!.value };
        if (mixedNames(input)) assertUnique(out);
        return out;
      }
      case 'binary':
        return this.binary(expr, t);
      case 'aggregate':
        return this.aggregate(expr, t);
      case 'call':
        return this.call(expr, t);
      case 'number':
      case 'string':
      case 'matrixSelector':
        throw new Error(`internal: ${expr.type} is not an instant vector`);
    }
  }

  /** The latest sample of each series in (t - offset - lookback, t - offset]. */
  private instantSelector(selector: VectorSelector, t: number, timestamps: boolean): VectorSample[] {
    const ref = t - selector.offsetMs;
    const min = ref - this.lookbackMs;
    const out: VectorSample[] = [];
    for (const series of this.series(selector)) {
      const samples = series.samples;
      const i = firstAfter(samples, ref) - 1;
      if (i < 0) continue;
      const sample = samples[i]!;
      if (sample.t <= min) continue;
      out.push({ labels: series.labels, value: timestamps ? sample.t / 1000 : sample.v });
    }
    return out;
  }

  // --- binary operators

  private binary(expr: BinaryExpr, t: number): VectorSample[] {
    const lt = typeOf(expr.lhs);
    if (lt === 'scalar')
      return this.vectorScalar(expr, this.vector(expr.rhs, t), this.scalar(expr.lhs, t), true);
    if (typeOf(expr.rhs) === 'scalar')
      return this.vectorScalar(expr, this.vector(expr.lhs, t), this.scalar(expr.rhs, t), false);
    const lhs = this.vector(expr.lhs, t);
    const rhs = this.vector(expr.rhs, t);
    const matching = expr.matching!;
    const op = expr.op;
    if (op === 'and' || op === 'unless') {
      if (lhs.length === 0 || rhs.length === 0) return op === 'and' ? [] : lhs;
      const right = new Set<string>();
      for (const s of rhs) right.add(matchKey(s.labels, matching));
      const keep = op === 'and';
      return lhs.filter((s) => right.has(matchKey(s.labels, matching)) === keep);
    }
    if (op === 'or') {
      if (lhs.length === 0) return rhs;
      if (rhs.length === 0) return lhs;
      const left = new Set<string>();
      for (const s of lhs) left.add(matchKey(s.labels, matching));
      const out = lhs.slice();
      for (const s of rhs) if (!left.has(matchKey(s.labels, matching))) out.push(s);
      return out;
    }
    return this.vectorVector(expr, lhs, rhs, matching);
  }

  private vectorScalar(
    expr: BinaryExpr,
    vector: VectorSample[],
    scalar: number,
    scalarLeft: boolean,
  ): VectorSample[] {
    const out: VectorSample[] = [];
    const op = expr.op;
    if (isComparisonOp(op)) {
      for (const s of vector) {
        const keep = scalarLeft ? compare(op, scalar, s.value) : compare(op, s.value, scalar);
        // A filter keeps the vector's value, whichever side it is on.
        if (expr.returnBool) out.push({ labels: dropName(s.labels), value: keep ? 1 : 0 });
        else if (keep) out.push(s);
      }
      if (expr.returnBool && mixedNames(vector)) assertUnique(out);
      return out;
    }
    for (const s of vector) {
      const value = scalarLeft
        ? arithmetic(op as ArithmeticOp, scalar, s.value)
        : arithmetic(op as ArithmeticOp, s.value, scalar);
      out.push({ labels: dropName(s.labels), value });
    }
    if (mixedNames(vector)) assertUnique(out);
    return out;
  }

  private vectorVector(
    expr: BinaryExpr,
    lhs: VectorSample[],
    rhs: VectorSample[],
    matching: VectorMatching,
  ): VectorSample[] {
    if (lhs.length === 0 || rhs.length === 0) return [];
    const oneToMany = matching.card === 'one-to-many';
    // The "many" side drives the loop; the "one" side is looked up by match key.
    const many = oneToMany ? rhs : lhs;
    const one = oneToMany ? lhs : rhs;
    const oneByKey = new Map<string, VectorSample>();
    for (const s of one) {
      const key = matchKey(s.labels, matching);
      const duplicate = oneByKey.get(key);
      if (duplicate)
        throw new PromqlEvalError(
          `found duplicate series for the match group on the ${oneToMany ? 'left' : 'right'} side of "${expr.op}": ` +
            `${formatLabels(s.labels)} and ${formatLabels(duplicate.labels)}; many-to-many matching is not allowed: ` +
            'the matching labels must be unique on one side (use on(...) or ignoring(...))',
        );
      oneByKey.set(key, s);
    }
    const op = expr.op;
    const comparison = isComparisonOp(op);
    const oneToOne = matching.card === 'one-to-one';
    const matched = oneToOne ? new Set<string>() : undefined;
    const matchedGroups = oneToOne ? undefined : new Map<string, Set<string>>();
    const out: VectorSample[] = [];
    for (const s of many) {
      const key = matchKey(s.labels, matching);
      const other = oneByKey.get(key);
      if (!other) continue;
      const l = oneToMany ? other.value : s.value;
      const r = oneToMany ? s.value : other.value;
      let value: number;
      if (comparison) {
        const keep = compare(op, l, r);
        if (expr.returnBool) value = keep ? 1 : 0;
        else if (keep) value = l;
        else continue;
      } else {
        value = arithmetic(op as ArithmeticOp, l, r);
      }
      let labels = this.resultLabels(expr, s.labels, other.labels, matching);
      if (expr.returnBool) labels = dropName(labels);
      if (matched) {
        if (matched.has(key))
          throw new PromqlEvalError(
            `multiple matches for labels ${formatLabels(s.labels)} in "${op}": many-to-one matching must be explicit (group_left/group_right)`,
          );
        matched.add(key);
      } else {
        let inserted = matchedGroups!.get(key);
        if (!inserted) matchedGroups!.set(key, (inserted = new Set()));
        const resultKey = labelsKey(labels);
        if (inserted.has(resultKey))
          throw new PromqlEvalError(
            `multiple matches for labels ${formatLabels(labels)} in "${op}": grouping labels must ensure unique matches`,
          );
        inserted.add(resultKey);
      }
      out.push({ labels, value });
    }
    return out;
  }

  /** Prometheus's resultMetric: the labels of the "many" side, reduced by the matching. */
  private resultLabels(expr: BinaryExpr, many: Labels, one: Labels, matching: VectorMatching): Labels {
    const drop = !isComparisonOp(expr.op);
    if (matching.card === 'one-to-one') {
      if (!matching.on && matching.labels.length === 0) return drop ? dropName(many) : many;
      const out: Labels = {};
      if (matching.on) {
        for (const name of matching.labels)
          if (many[name] !== undefined && !(drop && name === NAME)) out[name] = many[name];
      } else {
        const excluded = setOf(matching.labels, false);
        for (const name of Object.keys(many))
          if (!excluded.has(name) && !(drop && name === NAME)) out[name] = many[name]!;
      }
      return out;
    }
    const out: Labels = {};
    for (const name of Object.keys(many)) if (!(drop && name === NAME)) out[name] = many[name]!;
    for (const name of matching.include) {
      const value = one[name];
      if (value) out[name] = value;
      else delete out[name];
    }
    return out;
  }

  // --- aggregations

  private aggregate(expr: AggregateExpr, t: number): VectorSample[] {
    const input = this.vector(expr.expr, t);
    if (input.length === 0) return [];
    if (expr.op === 'count_values') return this.countValues(expr, input);
    const param = expr.param && expr.op !== 'quantile' ? this.scalar(expr.param, t) : NaN;
    let k = 0;
    if (expr.op === 'topk' || expr.op === 'bottomk') {
      if (Number.isNaN(param)) throw new PromqlEvalError(`${expr.op}(): k is NaN`);
      k = Math.trunc(Math.min(param, Number.MAX_SAFE_INTEGER));
      if (k < 1) return [];
    }
    const groups = new Map<string, Group>();
    const by = !expr.without;
    const excluded = expr.without ? setOf(expr.grouping, true) : undefined;
    for (const s of input) {
      const key = by ? keyOf(s.labels, expr.grouping) : keyWithout(s.labels, excluded!);
      let group = groups.get(key);
      if (!group) {
        group = new Group(this.intern(expr, key, () => groupLabels(s.labels, expr, excluded)));
        groups.set(key, group);
        group.value = s.value;
      }
      const v = s.value;
      group.count++;
      switch (expr.op) {
        case 'sum':
        case 'avg':
          group.sum.add(v);
          break;
        case 'min':
          if (v < group.value || Number.isNaN(group.value)) group.value = v;
          break;
        case 'max':
          if (v > group.value || Number.isNaN(group.value)) group.value = v;
          break;
        case 'stddev':
        case 'stdvar': {
          const delta = v - group.mean;
          group.mean += delta / group.count;
          group.m2 += delta * (v - group.mean);
          break;
        }
        case 'quantile':
          (group.values ??= []).push(v);
          break;
        case 'topk':
        case 'bottomk':
          (group.samples ??= []).push(s);
          break;
        case 'count':
        case 'group':
          break;
      }
    }
    const out: VectorSample[] = [];
    const q = expr.op === 'quantile' ? this.scalar(expr.param!, t) : NaN;
    for (const group of groups.values()) {
      switch (expr.op) {
        case 'sum':
          out.push({ labels: group.labels, value: group.sum.value });
          break;
        case 'avg':
          out.push({ labels: group.labels, value: group.sum.value / group.count });
          break;
        case 'count':
          out.push({ labels: group.labels, value: group.count });
          break;
        case 'group':
          out.push({ labels: group.labels, value: 1 });
          break;
        case 'min':
        case 'max':
          out.push({ labels: group.labels, value: group.value });
          break;
        case 'stddev':
          out.push({ labels: group.labels, value: Math.sqrt(group.m2 / group.count) });
          break;
        case 'stdvar':
          out.push({ labels: group.labels, value: group.m2 / group.count });
          break;
        case 'quantile': {
          const values = ensureScratch(group.values!.length);
          values.set(group.values!);
          out.push({ labels: group.labels, value: quantileOf(q, values, group.values!.length) });
          break;
        }
        case 'topk':
        case 'bottomk': {
          const top = expr.op === 'topk';
          // NaN ranks last either way.
          const ranked = group.samples!.sort((a, b) => {
            if (Number.isNaN(a.value)) return Number.isNaN(b.value) ? 0 : 1;
            if (Number.isNaN(b.value)) return -1;
            return top ? b.value - a.value : a.value - b.value;
          });
          for (let i = 0; i < ranked.length && i < k; i++) out.push(ranked[i]!);
          break;
        }
      }
    }
    return out;
  }

  private countValues(expr: AggregateExpr, input: VectorSample[]): VectorSample[] {
    const label = (expr.param as { value: string }).value;
    const excluded = expr.without ? setOf(expr.grouping, true) : undefined;
    const counts = new Map<string, VectorSample>();
    for (const s of input) {
      const value = formatValue(s.value);
      const groupKey = expr.without ? keyWithout(s.labels, excluded!) : keyOf(s.labels, expr.grouping);
      const key = `${groupKey}\x02${value}`;
      const entry = counts.get(key);
      if (entry) entry.value++;
      else
        counts.set(key, {
          labels: this.intern(expr, key, () =>
            withLabel(groupLabels(s.labels, expr, excluded), label, value),
          ),
          value: 1,
        });
    }
    return [...counts.values()];
  }

  // --- functions

  private call(expr: Call, t: number): VectorSample[] {
    const func = expr.func;
    const math = MATH_FUNCTIONS[func];
    if (math) {
      const input = expr.args.length
        ? this.vector(expr.args[0]!, t)
        : [{ labels: EMPTY_LABELS, value: t / 1000 }];
      const out: VectorSample[] = new Array(input.length);
      for (let i = 0; i < input.length; i++)
        out[i] = { labels: dropName(input[i]!.labels), value: math(input[i]!.value) };
      if (mixedNames(input)) assertUnique(out);
      return out;
    }
    switch (func) {
      case 'rate':
      case 'increase':
      case 'irate':
      case 'delta':
      case 'idelta':
      case 'deriv':
      case 'predict_linear':
      case 'changes':
      case 'resets':
      case 'avg_over_time':
      case 'min_over_time':
      case 'max_over_time':
      case 'sum_over_time':
      case 'count_over_time':
      case 'last_over_time':
      case 'present_over_time':
      case 'stddev_over_time':
      case 'stdvar_over_time':
      case 'quantile_over_time':
        return this.rangeFunction(expr, t);
      case 'absent_over_time': {
        const m = matrixArg(expr);
        const end = t - m.selector.offsetMs;
        const start = end - m.rangeMs;
        for (const series of this.series(m.selector))
          if (firstAfter(series.samples, end) > firstAfter(series.samples, start)) return [];
        return [{ labels: absentLabels(m), value: 1 }];
      }
      case 'absent':
        return this.vector(expr.args[0]!, t).length
          ? []
          : [{ labels: absentLabels(expr.args[0]!), value: 1 }];
      case 'histogram_quantile':
        return this.histogramQuantile(expr, t);
      case 'round': {
        const input = this.vector(expr.args[0]!, t);
        const toNearest = expr.args[1] ? this.scalar(expr.args[1], t) : 1;
        const inverse = 1 / toNearest;
        const out = input.map((s) => ({
          labels: dropName(s.labels),
          value: Math.floor(s.value * inverse + 0.5) / inverse,
        }));
        if (mixedNames(input)) assertUnique(out);
        return out;
      }
      case 'clamp':
      case 'clamp_min':
      case 'clamp_max': {
        const input = this.vector(expr.args[0]!, t);
        const min = func === 'clamp_max' ? -Infinity : this.scalar(expr.args[1]!, t);
        const max =
          func === 'clamp'
            ? this.scalar(expr.args[2]!, t)
            : func === 'clamp_max'
              ? this.scalar(expr.args[1]!, t)
              : Infinity;
        if (max < min) return [];
        const out = input.map((s) => ({
          labels: dropName(s.labels),
          value:
            func === 'clamp_min'
              ? Math.max(s.value, min)
              : func === 'clamp_max'
                ? Math.min(s.value, max)
                : Math.max(min, Math.min(max, s.value)),
        }));
        if (mixedNames(input)) assertUnique(out);
        return out;
      }
      case 'vector':
        return [{ labels: EMPTY_LABELS, value: this.scalar(expr.args[0]!, t) }];
      case 'timestamp': {
        const arg = expr.args[0]!;
        const selector = vectorSelectorOf(arg);
        // On a selector, timestamp() is the sample's time; on anything else, the evaluation time.
        const input = selector ? this.instantSelector(selector, t, true) : this.vector(arg, t);
        const out = input.map((s) => ({ labels: dropName(s.labels), value: selector ? s.value : t / 1000 }));
        if (mixedNames(input)) assertUnique(out);
        return out;
      }
      case 'sort':
      case 'sort_desc': {
        const asc = func === 'sort';
        return this.vector(expr.args[0]!, t)
          .slice()
          .sort((a, b) => {
            if (Number.isNaN(a.value)) return Number.isNaN(b.value) ? 0 : 1;
            if (Number.isNaN(b.value)) return -1;
            return asc ? a.value - b.value : b.value - a.value;
          });
      }
      case 'label_replace': {
        const [dst, replacement, src, pattern] = stringArgs(expr);
        const regex = labelReplaceRegex(pattern!);
        const out = this.vector(expr.args[0]!, t).map((s) => {
          const match = regex.exec(s.labels[src!] ?? '');
          if (!match) return s;
          return { labels: withLabel(s.labels, dst!, expandTemplate(replacement!, match)), value: s.value };
        });
        assertUnique(out);
        return out;
      }
      case 'label_join': {
        const [dst, separator, ...sources] = stringArgs(expr);
        const out = this.vector(expr.args[0]!, t).map((s) => ({
          labels: withLabel(s.labels, dst!, sources.map((name) => s.labels[name] ?? '').join(separator)),
          value: s.value,
        }));
        assertUnique(out);
        return out;
      }
      case 'time':
      case 'scalar':
      case 'abs':
      case 'ceil':
      case 'floor':
      case 'sqrt':
      case 'exp':
      case 'ln':
      case 'log2':
      case 'log10':
      case 'sgn':
      case 'minute':
      case 'hour':
      case 'day_of_week':
      case 'day_of_month':
      case 'day_of_year':
      case 'days_in_month':
      case 'month':
      case 'year':
        throw new Error(`internal: ${func}() is handled elsewhere`);
    }
  }

  private rangeFunction(expr: Call, t: number): VectorSample[] {
    const m = matrixArg(expr);
    const selector = m.selector;
    const rangeEnd = t - selector.offsetMs;
    const rangeStart = rangeEnd - m.rangeMs;
    const param =
      expr.func === 'quantile_over_time'
        ? this.scalar(expr.args[0]!, t)
        : expr.func === 'predict_linear'
          ? this.scalar(expr.args[1]!, t)
          : 0;
    const keepName = expr.func === 'last_over_time';
    const series = this.series(selector);
    const out: VectorSample[] = [];
    for (const s of series) {
      const samples = s.samples;
      const lo = firstAfter(samples, rangeStart);
      const hi = firstAfter(samples, rangeEnd);
      if (hi <= lo) continue;
      const value = rangeValue(
        expr.func as RangeFunction,
        samples,
        lo,
        hi,
        rangeStart,
        rangeEnd,
        m.rangeMs,
        param,
        t,
      );
      if (value === undefined) continue;
      out.push({ labels: keepName ? s.labels : dropName(s.labels), value });
    }
    if (!keepName && selector.name === undefined && mixedNames(series)) assertUnique(out);
    return out;
  }

  private histogramQuantile(expr: Call, t: number): VectorSample[] {
    const q = this.scalar(expr.args[0]!, t);
    const input = this.vector(expr.args[1]!, t);
    const excluded = LE_SET;
    const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
    for (const s of input) {
      const upper = parseBound(s.labels.le);
      if (upper === undefined) continue;
      const key = keyWithout(s.labels, excluded);
      let group = groups.get(key);
      if (!group) {
        const labels = this.intern(expr, key, () => {
          const out: Labels = {};
          for (const name of Object.keys(s.labels))
            if (name !== 'le' && name !== NAME) out[name] = s.labels[name]!;
          return out;
        });
        groups.set(key, (group = { labels, buckets: [] }));
      }
      group.buckets.push({ upper, count: s.value });
    }
    const out: VectorSample[] = [];
    for (const group of groups.values())
      out.push({ labels: group.labels, value: bucketQuantile(q, group.buckets) });
    return out;
  }
}

const LE_SET: ReadonlySet<string> = new Set(['le']);

/** The match key of a label set under on(...)/ignoring(...); plain matching ignores only __name__. */
function matchKey(labels: Labels, matching: VectorMatching): string {
  if (matching.on) return keyOf(labels, matching.labels);
  if (matching.labels.length === 0) return keyWithoutName(labels);
  return keyWithout(labels, setOf(matching.labels, true));
}

function groupLabels(labels: Labels, expr: AggregateExpr, excluded: ReadonlySet<string> | undefined): Labels {
  const out: Labels = {};
  if (excluded) {
    for (const name of Object.keys(labels)) if (!excluded.has(name)) out[name] = labels[name]!;
  } else {
    for (const name of expr.grouping) {
      const value = labels[name];
      if (value) out[name] = value;
    }
  }
  return out;
}
