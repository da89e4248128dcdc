// Inverted index from label name and value to series, so a selector touches only the series it can
// match instead of scanning every series.
import type { Labels } from './series.js';
import { matchesAll, type CompiledMatcher } from './labels.js';

export interface Indexed {
  id: number;
  labels: Labels;
}

export class SeriesIndex<S extends Indexed> {
  private readonly postings = new Map<string, Map<string, Set<S>>>();
  private readonly all = new Set<S>();

  get size(): number {
    return this.all.size;
  }

  add(series: S): void {
    this.all.add(series);
    for (const [name, value] of Object.entries(series.labels)) {
      let values = this.postings.get(name);
      if (!values) this.postings.set(name, (values = new Map()));
      let set = values.get(value);
      if (!set) values.set(value, (set = new Set()));
      set.add(series);
    }
  }

  remove(series: S): void {
    if (!this.all.delete(series)) return;
    for (const [name, value] of Object.entries(series.labels)) {
      const values = this.postings.get(name);
      const set = values?.get(value);
      if (!values || !set) continue;
      set.delete(series);
      if (set.size === 0) values.delete(value);
      if (values.size === 0) this.postings.delete(name);
    }
  }

  /** Series matching every matcher, in ascending id order. */
  select(matchers: readonly CompiledMatcher[]): S[] {
    const candidates = this.candidates(matchers);
    const out: S[] = [];
    for (const series of candidates) if (matchesAll(matchers, series.labels)) out.push(series);
    return out;
  }

  /** The smallest posting list the matchers allow: an equality's, else a regex's union, else all. */
  private candidates(matchers: readonly CompiledMatcher[]): Iterable<S> {
    let best: Set<S> | undefined;
    for (const m of matchers) {
      if (m.op !== '=' || m.matchesEmpty) continue;
      const set = this.postings.get(m.name)?.get(m.value);
      if (!set) return [];
      if (!best || set.size < best.size) best = set;
    }
    if (best) return best;
    // A matcher that rejects the empty string needs the label: union the values it accepts.
    const narrowing = matchers.find((m) => !m.matchesEmpty);
    if (!narrowing) return this.all;
    const values = this.postings.get(narrowing.name);
    if (!values) return [];
    const union: S[] = [];
    for (const [value, set] of values) if (narrowing.test(value)) for (const s of set) union.push(s);
    return union.sort((a, b) => a.id - b.id);
  }
}
