// The notification route tree, compiled once per config: Alertmanager's routing semantics.
import { formatMatcher, matchesAll, parseMatcher } from '../alerts/matchers.js';
import { ROUTE_DEFAULTS, type RouteConfig } from '../config/notifications.schema.js';
import type { LabelMatcher, Labels } from '../telemetry/series.js';

export interface CompiledRoute {
  /** Stable id: the path of matcher sets from the root, like Alertmanager's route key: `{}/{severity="critical"}`. */
  key: string;
  matchers: LabelMatcher[];
  receiver: string;
  /** Label names to group by, or 'all' for `groupBy: ['...']`. */
  groupBy: string[] | 'all';
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  sendResolvedWhenSilenced: boolean;
  continue: boolean;
  routes: CompiledRoute[];
}

export interface RouteTree {
  root: CompiledRoute;
  /** Every route by key. */
  byKey: Map<string, CompiledRoute>;
  /** The routes an alert with these labels goes to, in tree order (at least the root). */
  match(labels: Labels): CompiledRoute[];
  /** Problems worth a log line (the tree still works). */
  warnings: string[];
}

/** Labels as Alertmanager prints them in group keys: `{a="1",b="2"}`, sorted by name. */
export function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  return `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(',')}}`;
}

export function compileRoutes(config: RouteConfig): RouteTree {
  const byKey = new Map<string, CompiledRoute>();
  const warnings: string[] = [];
  if (config.matchers.length > 0)
    warnings.push('the root route matches every alert; its matchers are ignored (as in Alertmanager)');
  if (config.continue) warnings.push('the root route ignores continue');

  const compile = (input: RouteConfig, parent: CompiledRoute | undefined, siblingIndex: number) => {
    const matchers = parent ? input.matchers.map(parseMatcher) : [];
    const own = `{${matchers.map(formatMatcher).sort().join(',')}}`;
    let key = parent ? `${parent.key}/${own}` : own;
    // Siblings with identical matchers (reachable through continue) still need distinct groups.
    if (byKey.has(key)) key = `${key}#${siblingIndex}`;
    const groupBy = input.groupBy
      ? input.groupBy.includes('...')
        ? ('all' as const)
        : [...new Set(input.groupBy)]
      : (parent?.groupBy ?? ROUTE_DEFAULTS.groupBy);
    const route: CompiledRoute = {
      key,
      matchers,
      receiver: input.receiver ?? parent?.receiver ?? '',
      groupBy,
      groupWait: input.groupWait ?? parent?.groupWait ?? ROUTE_DEFAULTS.groupWait,
      groupInterval: input.groupInterval ?? parent?.groupInterval ?? ROUTE_DEFAULTS.groupInterval,
      repeatInterval: input.repeatInterval ?? parent?.repeatInterval ?? ROUTE_DEFAULTS.repeatInterval,
      sendResolvedWhenSilenced:
        input.sendResolvedWhenSilenced ??
        parent?.sendResolvedWhenSilenced ??
        ROUTE_DEFAULTS.sendResolvedWhenSilenced,
      continue: parent ? input.continue : false,
      routes: [],
    };
    if (input.groupBy?.includes('...') && input.groupBy.length > 1)
      warnings.push(`route ${key}: groupBy ['...'] groups by all labels; the other names are redundant`);
    if (route.groupInterval <= 0) warnings.push(`route ${key}: groupInterval must be positive`);
    byKey.set(key, route);
    route.routes = input.routes.map((child, i) => compile(child, route, i));
    return route;
  };
  const root = compile(config, undefined, 0);

  // Alertmanager's Route.Match: a matching route hands the alert to its children; the first matching
  // child stops the search unless it has continue; a route none of whose children match is the match.
  const matchRoute = (route: CompiledRoute, labels: Labels): CompiledRoute[] => {
    if (!matchesAll(route.matchers, labels)) return [];
    const all: CompiledRoute[] = [];
    for (const child of route.routes) {
      const found = matchRoute(child, labels);
      all.push(...found);
      if (found.length > 0 && !child.continue) break;
    }
    return all.length > 0 ? all : [route];
  };

  return { root, byKey, match: (labels) => matchRoute(root, labels), warnings };
}

/** The labels an alert is grouped by on this route; labels the alert lacks are left out. */
export function groupLabelsFor(route: CompiledRoute, labels: Labels): Labels {
  if (route.groupBy === 'all') return { ...labels };
  const out: Labels = {};
  for (const name of route.groupBy) {
    const value = labels[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export function groupKeyFor(route: CompiledRoute, groupLabels: Labels): string {
  return `${route.key}:${formatLabels(groupLabels)}`;
}
