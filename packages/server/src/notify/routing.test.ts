import { describe, expect, it } from 'vitest';
import { routeSchema, type RouteInput } from '../config/notifications.schema.js';
import { compileRoutes, formatLabels, groupKeyFor, groupLabelsFor } from './routing.js';

const tree = (input: RouteInput) => compileRoutes(routeSchema.parse(input));
const receivers = (input: RouteInput, labels: Record<string, string>) =>
  tree(input)
    .match(labels)
    .map((r) => r.receiver);

describe('route tree', () => {
  it('sends everything to the root when no child matches, whatever the root says it matches', () => {
    const t = tree({
      receiver: 'default',
      matchers: ['team="nobody"'],
      routes: [{ receiver: 'db', matchers: ['service="db"'] }],
    });
    expect(t.match({ alertname: 'X', service: 'api' }).map((r) => r.key)).toEqual(['{}']);
    expect(t.warnings).toHaveLength(1);
  });

  it('stops at the first matching sibling', () => {
    const input: RouteInput = {
      receiver: 'default',
      routes: [
        { receiver: 'critical', matchers: ['severity="critical"'] },
        { receiver: 'api', matchers: ['service="api"'] },
      ],
    };
    expect(receivers(input, { severity: 'critical', service: 'api' })).toEqual(['critical']);
    expect(receivers(input, { severity: 'warning', service: 'api' })).toEqual(['api']);
    expect(receivers(input, { severity: 'warning', service: 'web' })).toEqual(['default']);
  });

  it('tries the next sibling after a match with continue', () => {
    const input: RouteInput = {
      receiver: 'default',
      routes: [
        { receiver: 'audit', matchers: ['severity=~"critical|warning"'], continue: true },
        { receiver: 'critical', matchers: ['severity="critical"'] },
        { receiver: 'never', matchers: ['severity="critical"'] },
      ],
    };
    expect(receivers(input, { severity: 'critical' })).toEqual(['audit', 'critical']);
    expect(receivers(input, { severity: 'warning' })).toEqual(['audit']);
    expect(receivers(input, { severity: 'info' })).toEqual(['default']);
  });

  it('prefers the deepest matching route and falls back to the parent when no child matches', () => {
    const input: RouteInput = {
      receiver: 'default',
      routes: [
        {
          receiver: 'api',
          matchers: ['service="api"'],
          routes: [{ receiver: 'api-pager', matchers: ['severity="critical"'] }],
        },
      ],
    };
    const t = tree(input);
    const deep = t.match({ service: 'api', severity: 'critical' });
    expect(deep.map((r) => r.key)).toEqual(['{}/{service="api"}/{severity="critical"}']);
    expect(deep[0]!.receiver).toBe('api-pager');
    expect(t.match({ service: 'api', severity: 'warning' }).map((r) => r.receiver)).toEqual(['api']);
  });

  it('inherits receiver, grouping, timers and sendResolvedWhenSilenced from the parent', () => {
    const t = tree({
      receiver: 'default',
      groupBy: ['alertname'],
      groupWait: '10s',
      repeatInterval: '1h',
      sendResolvedWhenSilenced: true,
      routes: [
        {
          matchers: ['service="api"'],
          groupInterval: '1m',
          routes: [{ matchers: ['severity="critical"'], receiver: 'pager', groupBy: [] }],
        },
      ],
    });
    const [leaf] = t.match({ service: 'api', severity: 'critical' });
    expect(leaf).toMatchObject({
      receiver: 'pager',
      groupBy: [],
      groupWait: 10_000,
      groupInterval: 60_000,
      repeatInterval: 3_600_000,
      sendResolvedWhenSilenced: true,
    });
    const [middle] = t.match({ service: 'api' });
    expect(middle).toMatchObject({ receiver: 'default', groupBy: ['alertname'], groupInterval: 60_000 });
    expect(t.root).toMatchObject({
      groupInterval: 300_000,
      groupWait: 10_000,
      repeatInterval: 3_600_000,
    });
  });

  it('uses Alertmanager defaults on the root', () => {
    const { root } = tree({ receiver: 'default' });
    expect(root).toMatchObject({
      groupBy: ['alertname', 'service'],
      groupWait: 30_000,
      groupInterval: 300_000,
      repeatInterval: 4 * 3_600_000,
      sendResolvedWhenSilenced: false,
    });
  });

  it("groups by every label with ['...'] and leaves out labels an alert lacks", () => {
    const t = tree({ receiver: 'default', routes: [{ matchers: ['all="yes"'], groupBy: ['...'] }] });
    const [all] = t.match({ all: 'yes', instance: 'a:1', alertname: 'Down' });
    expect(all!.groupBy).toBe('all');
    expect(groupLabelsFor(all!, { all: 'yes', instance: 'a:1', alertname: 'Down' })).toEqual({
      all: 'yes',
      instance: 'a:1',
      alertname: 'Down',
    });
    expect(groupLabelsFor(t.root, { alertname: 'Down', instance: 'x' })).toEqual({ alertname: 'Down' });
  });

  it('builds Alertmanager-style keys: sorted matchers, sorted group labels, distinct for twin siblings', () => {
    const t = tree({
      receiver: 'default',
      routes: [
        { receiver: 'a', matchers: ['severity="critical"', 'env=~"prod|stage"'], continue: true },
        { receiver: 'b', matchers: ['env=~"prod|stage"', 'severity="critical"'] },
      ],
    });
    const keys = t.match({ severity: 'critical', env: 'prod' }).map((r) => r.key);
    expect(keys).toEqual([
      '{}/{env=~"prod|stage",severity="critical"}',
      '{}/{env=~"prod|stage",severity="critical"}#1',
    ]);
    expect(groupKeyFor(t.root, { service: 'api', alertname: 'A "q"' })).toBe(
      '{}:{alertname="A \\"q\\"",service="api"}',
    );
    expect(formatLabels({})).toBe('{}');
  });
});
