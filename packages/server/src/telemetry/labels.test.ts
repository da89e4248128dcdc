import { describe, expect, it } from 'vitest';
import { compileMatcher, labelsKey, parseSelector, seriesKey, seriesLabels } from './labels.js';

describe('labels', () => {
  it('identifies a series by its label set, whatever the order, ignoring empty values', () => {
    expect(seriesKey('up', { b: '2', a: '1', c: '' })).toBe('up{a="1",b="2"}');
    expect(seriesKey('up', { a: '1', b: '2' })).toBe(labelsKey(seriesLabels('up', { b: '2', a: '1' })));
    // Values that look like separators cannot make two label sets collide.
    expect(seriesKey('m', { a: '1",b="2' })).not.toBe(seriesKey('m', { a: '1', b: '2' }));
    expect(Object.keys(seriesLabels('up', { z: '1', a: '2', e: '' }))).toEqual(['__name__', 'a', 'z']);
  });

  it('parses matchers and series selectors', () => {
    expect(parseSelector('job="api"')).toEqual([{ name: 'job', op: '=', value: 'api' }]);
    expect(parseSelector('code =~ 5..')).toEqual([{ name: 'code', op: '=~', value: '5..' }]);
    expect(parseSelector('up')).toEqual([{ name: '__name__', op: '=', value: 'up' }]);
    expect(parseSelector('http_requests_total{code!="200", path!~"/health.*",}')).toEqual([
      { name: '__name__', op: '=', value: 'http_requests_total' },
      { name: 'code', op: '!=', value: '200' },
      { name: 'path', op: '!~', value: '/health.*' },
    ]);
    expect(parseSelector('{msg="say \\"hi\\""}')).toEqual([{ name: 'msg', op: '=', value: 'say "hi"' }]);
    for (const bad of ['', '{}', 'up{job=}', 'up{job="x"', '9up', 'job=~"("', 'a b'])
      expect(() => parseSelector(bad), bad).toThrow();
  });

  it('matches regexes anchored, and knows which matchers accept a missing label', () => {
    const m = compileMatcher({ name: 'path', op: '=~', value: '/api' });
    expect(m.test('/api')).toBe(true);
    expect(m.test('/api/orders')).toBe(false);
    expect(m.matchesEmpty).toBe(false);
    expect(compileMatcher({ name: 'x', op: '!=', value: 'a' }).matchesEmpty).toBe(true);
    expect(compileMatcher({ name: 'x', op: '=~', value: 'a|' }).matchesEmpty).toBe(true);
  });
});
