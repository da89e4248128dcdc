// Inhibition without the quadratic scan: per rule, firing source alerts and target alerts are kept in
// maps keyed by their `equal` label values, updated as alerts change. Alertmanager keeps a similar cache.
import type { Labels } from '../telemetry/series.js';
import { matchesAll } from './matchers.js';
import type { ActiveAlert } from './rule-state.js';
import type { InhibitRule } from './suppression.js';

type KeyMap = Map<string, Set<string>>;

export class InhibitionIndex {
  private readonly sources: KeyMap[];
  private readonly targets: KeyMap[];
  /** Per alert: its key in each rule's source and target maps, or null when it is not one. */
  private readonly keys = new Map<string, { source: (string | null)[]; target: (string | null)[] }>();

  constructor(private readonly rules: InhibitRule[]) {
    this.sources = rules.map(() => new Map());
    this.targets = rules.map(() => new Map());
  }

  /** Adds or updates an alert; returns the targets whose inhibition may have changed. */
  set(alert: ActiveAlert): string[] {
    const before = this.keys.get(alert.fingerprint);
    // Plain loops: this runs for every alert received, and closures per call showed in profiles.
    const source: (string | null)[] = [];
    const target: (string | null)[] = [];
    for (const rule of this.rules) {
      source.push(
        alert.state === 'firing' && matchesAll(rule.source, alert.labels)
          ? equalKey(rule, alert.labels)
          : null,
      );
      target.push(matchesAll(rule.target, alert.labels) ? equalKey(rule, alert.labels) : null);
    }
    this.keys.set(alert.fingerprint, { source, target });
    return this.move(alert.fingerprint, before, { source, target });
  }

  delete(fingerprint: string): string[] {
    const before = this.keys.get(fingerprint);
    this.keys.delete(fingerprint);
    return this.move(fingerprint, before, undefined);
  }

  /** Fingerprints of firing alerts that inhibit this one. */
  inhibitors(fingerprint: string): string[] {
    const entry = this.keys.get(fingerprint);
    if (!entry) return [];
    let found: Set<string> | undefined;
    for (let i = 0; i < entry.target.length; i++) {
      const key = entry.target[i];
      if (key === null || key === undefined) continue;
      const sources = this.sources[i]!.get(key);
      if (!sources) continue;
      for (const fp of sources) if (fp !== fingerprint) (found ??= new Set()).add(fp);
    }
    return found ? [...found] : [];
  }

  private move(
    fingerprint: string,
    before: { source: (string | null)[]; target: (string | null)[] } | undefined,
    after: { source: (string | null)[]; target: (string | null)[] } | undefined,
  ): string[] {
    const affected: string[] = [];
    for (let i = 0; i < this.rules.length; i++) {
      const oldSource = before?.source[i] ?? null;
      const newSource = after?.source[i] ?? null;
      if (oldSource !== newSource) {
        if (oldSource !== null) remove(this.sources[i]!, oldSource, fingerprint);
        if (newSource !== null) add(this.sources[i]!, newSource, fingerprint);
        for (const key of [oldSource, newSource])
          if (key !== null) affected.push(...(this.targets[i]!.get(key) ?? []));
      }
      const oldTarget = before?.target[i] ?? null;
      const newTarget = after?.target[i] ?? null;
      if (oldTarget !== newTarget) {
        if (oldTarget !== null) remove(this.targets[i]!, oldTarget, fingerprint);
        if (newTarget !== null) add(this.targets[i]!, newTarget, fingerprint);
      }
    }
    return affected;
  }
}

function equalKey(rule: InhibitRule, labels: Labels): string {
  let key = '';
  for (let i = 0; i < rule.equal.length; i++)
    key += (i === 0 ? '' : '\u0000') + (labels[rule.equal[i]!] ?? '');
  return key;
}

function add(map: KeyMap, key: string, fp: string): void {
  const set = map.get(key);
  if (set) set.add(fp);
  else map.set(key, new Set([fp]));
}

function remove(map: KeyMap, key: string, fp: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(fp);
  if (set.size === 0) map.delete(key);
}
