// Why an alert's notifications are held back: silences, maintenance windows, and inhibition by a
// firing alert (by default a critical one mutes the warnings of the same service).
import { Cron } from 'croner';
import type { LabelMatcher, Labels } from '../telemetry/series.js';
import type { AlertSnapshot } from './alert.types.js';
import { matchesAll, parseMatcher } from './matchers.js';
import type { ActiveAlert } from './rule-state.js';
import { InhibitionIndex } from './inhibition-index.js';

export interface Silence {
  id: string;
  matchers: LabelMatcher[];
  startsAt: number;
  endsAt: number | null;
  /** Ends when every alert it matched at creation has resolved (Alertmanager #3825). */
  untilResolved: boolean;
  boundFingerprints: string[];
  createdBy: string;
  comment: string;
  createdAt: number;
  expiredAt: number | null;
}

export interface MaintenanceWindow {
  id: string;
  name: string;
  source: 'config' | 'api';
  services: string[];
  matchers: LabelMatcher[];
  startsAt: number | null;
  endsAt: number | null;
  schedule: string | null;
  durationMs: number | null;
  timezone: string;
  comment: string;
  createdBy: string;
  createdAt: number;
  expiredAt: number | null;
}

export interface InhibitRule {
  source: LabelMatcher[];
  target: LabelMatcher[];
  equal: string[];
}

export function compileInhibitRules(
  rules: { sourceMatchers: string[]; targetMatchers: string[]; equal: string[] }[],
): InhibitRule[] {
  return rules.map((r) => ({
    source: r.sourceMatchers.map(parseMatcher),
    target: r.targetMatchers.map(parseMatcher),
    equal: r.equal,
  }));
}

export function silenceActive(silence: Silence, now: number): boolean {
  return (
    silence.expiredAt === null && silence.startsAt <= now && (silence.endsAt === null || now < silence.endsAt)
  );
}

const crons = new Map<string, Cron>();

function cronFor(schedule: string, timezone: string): Cron {
  const key = `${timezone} ${schedule}`;
  let cron = crons.get(key);
  if (!cron) {
    cron = new Cron(schedule, { timezone, paused: true });
    crons.set(key, cron);
  }
  return cron;
}

/** A recurring window is active when an occurrence started within the last `duration`. */
export function windowActive(window: MaintenanceWindow, now: number): boolean {
  if (window.expiredAt !== null && window.expiredAt <= now) return false;
  if (window.schedule && window.durationMs) {
    const next = cronFor(window.schedule, window.timezone).nextRun(new Date(now - window.durationMs));
    return next !== null && next.getTime() <= now;
  }
  return window.startsAt !== null && window.endsAt !== null && window.startsAt <= now && now < window.endsAt;
}

/** The next start of a window at or after `now` (for listings); null when it will not start again. */
export function nextWindowStart(window: MaintenanceWindow, now: number): number | null {
  if (window.schedule)
    return cronFor(window.schedule, window.timezone).nextRun(new Date(now))?.getTime() ?? null;
  return window.startsAt !== null && window.startsAt > now ? window.startsAt : null;
}

export function windowMatches(window: MaintenanceWindow, labels: Labels): boolean {
  if (window.services.length > 0 && window.services.includes(labels.service ?? '')) return true;
  return window.matchers.length > 0 && matchesAll(window.matchers, labels);
}

/** Why one alert is muted, given the silences and windows active now and the inhibition index. */
export function suppressionFor(
  alert: ActiveAlert,
  activeSilences: Silence[],
  activeWindows: MaintenanceWindow[],
  inhibition: InhibitionIndex,
): AlertSnapshot['suppressedBy'] {
  const silences: string[] = [];
  for (const s of activeSilences) if (matchesAll(s.matchers, alert.labels)) silences.push(s.id);
  const maintenance: string[] = [];
  for (const w of activeWindows) if (windowMatches(w, alert.labels)) maintenance.push(w.name);
  return { silences, inhibitedBy: inhibition.inhibitors(alert.fingerprint), maintenance };
}

/** Suppression of every alert at once (builds its own index; the service keeps one incrementally). */
export function computeSuppression(
  alerts: ActiveAlert[],
  silences: Silence[],
  windows: MaintenanceWindow[],
  inhibitRules: InhibitRule[],
  now: number,
): Map<string, AlertSnapshot['suppressedBy']> {
  const activeSilences = silences.filter((s) => silenceActive(s, now));
  const activeWindows = windows.filter((w) => windowActive(w, now));
  const index = new InhibitionIndex(inhibitRules);
  for (const alert of alerts) index.set(alert);
  return new Map(alerts.map((a) => [a.fingerprint, suppressionFor(a, activeSilences, activeWindows, index)]));
}

export function sameSuppression(a: AlertSnapshot['suppressedBy'], b: AlertSnapshot['suppressedBy']): boolean {
  return (
    sameList(a.silences, b.silences) &&
    sameList(a.inhibitedBy, b.inhibitedBy) &&
    sameList(a.maintenance, b.maintenance)
  );
}

// At module level: it runs for every alert a commit looks at, and a closure per call showed in profiles.
function sameList(x: string[], y: string[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
