// Alertmanager-style label matchers: name="value", name!="value", name=~"regex", name!~"regex".
import type { LabelMatcher, Labels, MatchOp } from '../telemetry/series.js';

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))\s*$/;

export function parseMatcher(text: string): LabelMatcher {
  const match = MATCHER.exec(text);
  if (!match)
    throw new Error(`"${text}" is not a matcher; write e.g. severity="critical" or service=~"api|web"`);
  const value = match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : (match[4] ?? '');
  const op = match[2] as MatchOp;
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new Error(`"${text}" has an invalid regular expression: ${(error as Error).message}`);
    }
  }
  return { name: match[1]!, op, value };
}

const regexCache = new Map<string, RegExp>();

function anchored(pattern: string): RegExp {
  let regex = regexCache.get(pattern);
  if (!regex) {
    // Anchored on both ends, as Prometheus and Alertmanager do.
    regex = new RegExp(`^(?:${pattern})$`);
    regexCache.set(pattern, regex);
  }
  return regex;
}

/** A missing label matches as the empty string, as in Prometheus. */
export function matches(matcher: LabelMatcher, labels: Labels): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return anchored(matcher.value).test(value);
    case '!~':
      return !anchored(matcher.value).test(value);
  }
}

export function matchesAll(matchers: LabelMatcher[], labels: Labels): boolean {
  // A loop, not every(): this runs per alert and rule on every intake.
  for (const matcher of matchers) if (!matches(matcher, labels)) return false;
  return true;
}

export function formatMatcher(m: LabelMatcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
