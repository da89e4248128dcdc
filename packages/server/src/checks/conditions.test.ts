import { describe, expect, it } from 'vitest';
import { evaluateConditions, parseCondition, type ConditionContext } from './conditions.js';

const base: ConditionContext = { responseTimeMs: 0, connected: true };

/** Evaluates one condition text against what a probe saw. */
function check(text: string, context: Partial<ConditionContext>) {
  const [result] = evaluateConditions([parseCondition(text)], { ...base, ...context });
  return result!;
}
const ok = (text: string, context: Partial<ConditionContext>) => check(text, context).ok;

describe('parseCondition', () => {
  it('parses placeholders, operators and literals', () => {
    expect(parseCondition('[STATUS] == 200')).toMatchObject({
      left: { type: 'placeholder', name: 'STATUS', path: [] },
      operator: '==',
      right: { type: 'literal', value: '200' },
    });
    expect(parseCondition('[BODY].data.items[0].id >= 3').left).toMatchObject({
      name: 'BODY',
      path: ['data', 'items', 0, 'id'],
    });
    expect(parseCondition('[BODY].status == "UP"').right).toEqual({ type: 'literal', value: 'UP' });
  });

  it('rejects an unknown placeholder and names it', () => {
    expect(() => parseCondition('[STATUSCODE] == 200')).toThrow(
      /unknown placeholder \[STATUSCODE\]; use \[STATUS\]/,
    );
  });

  it('rejects a placeholder without its closing bracket', () => {
    expect(() => parseCondition('[STATUS == 200')).toThrow(/unknown placeholder \[STATUS; use/);
    expect(() => parseCondition('[STATUSX == 200')).toThrow(/unknown placeholder \[STATUSX; use/);
  });

  it('rejects malformed text', () => {
    expect(() => parseCondition('STATUS is 200')).toThrow(/"STATUS is 200" is not a condition; write e\.g\./);
    expect(() => parseCondition('[STATUS]==200')).toThrow(/is not a condition/);
    expect(() => parseCondition('[STATUS] ==')).toThrow(/is not a condition/);
    expect(() => parseCondition('200 == 200')).toThrow(/compares no placeholder/);
    expect(() => parseCondition('[BODY].a..b == 1')).toThrow(/cannot read the path "\.a\.\.b"/);
    expect(() => parseCondition('len(200) == 3')).toThrow(/len\(\) takes a placeholder/);
  });
});

describe('evaluateConditions', () => {
  const json = JSON.stringify({
    status: 'UP',
    version: '1.4.2',
    a: { b: [{ c: 'deep' }, { c: 'other' }] },
    items: [1, 2, 3],
    empty: null,
  });

  it('compares with == and !=', () => {
    expect(ok('[STATUS] == 200', { status: 200 })).toBe(true);
    expect(ok('[STATUS] == 200', { status: 503 })).toBe(false);
    expect(ok('[STATUS] != 500', { status: 200 })).toBe(true);
    expect(ok('[STATUS] != 200', { status: 200 })).toBe(false);
    expect(ok('[CONNECTED] == true', { connected: true })).toBe(true);
    expect(ok('[CONNECTED] == true', { connected: false })).toBe(false);
    expect(ok('[DNS_RCODE] == NOERROR', { dnsRcode: 'NXDOMAIN' })).toBe(false);
  });

  it('compares numbers with <, <=, > and >=, not as text', () => {
    expect(ok('[RESPONSE_TIME] < 300', { responseTimeMs: 120.4 })).toBe(true);
    expect(ok('[RESPONSE_TIME] < 300', { responseTimeMs: 1200 })).toBe(false);
    expect(ok('[STATUS] <= 299', { status: 299 })).toBe(true);
    expect(ok('[STATUS] > 400', { status: 400 })).toBe(false);
    expect(ok('[STATUS] >= 400', { status: 400 })).toBe(true);
    expect(ok('[BODY].items[2] > 20', { body: json })).toBe(false); // 3 > 20 as text would be true
  });

  it('is false, not an error, when an ordered comparison meets text or a missing value', () => {
    expect(ok('[BODY].status > 1', { body: json })).toBe(false);
    expect(ok('[STATUS] < 500', {})).toBe(false);
  });

  it('reads JSON body paths, including array indexes', () => {
    expect(ok('[BODY].status == UP', { body: json })).toBe(true);
    expect(ok('[BODY].a.b[0].c == deep', { body: json })).toBe(true);
    expect(ok('[BODY].a.b[1].c == deep', { body: json })).toBe(false);
    expect(ok('[BODY].a.b[5].c == deep', { body: json })).toBe(false);
    expect(ok('[BODY].status == UP', { body: 'not json' })).toBe(false);
  });

  it('measures with len()', () => {
    expect(ok('len([BODY].items) == 3', { body: json })).toBe(true);
    expect(ok('len([BODY].version) == 5', { body: json })).toBe(true);
    expect(ok('len([BODY].a) == 1', { body: json })).toBe(true);
    expect(ok('len([BODY].missing) == 0', { body: json })).toBe(true);
    expect(ok('len([BODY].items) > 3', { body: json })).toBe(false);
    expect(ok('len([BODY]) == 2', { body: '[1,2]' })).toBe(true);
    expect(ok('len([BODY]) == 5', { body: 'hello' })).toBe(true); // not JSON: the text's length
  });

  it('tests presence with has()', () => {
    expect(ok('has([BODY]) == true', { body: 'plain text' })).toBe(true);
    expect(ok('has([BODY]) == true', {})).toBe(false);
    expect(ok('has([BODY].status) == true', { body: json })).toBe(true);
    expect(ok('has([BODY].missing) == false', { body: json })).toBe(true);
    expect(ok('has([BODY].missing) == true', { body: json })).toBe(false);
  });

  it('matches glob patterns with pat()', () => {
    expect(ok('[BODY] == pat(*<h1>Example</h1>*)', { body: '<html><h1>Example</h1></html>' })).toBe(true);
    expect(ok('[BODY] == pat(*<h1>Example</h1>*)', { body: '<html>nothing</html>' })).toBe(false);
    expect(ok('[IP] == pat(10.0.*)', { ip: '10.0.3.7' })).toBe(true);
    expect(ok('[IP] == pat(10.0.*)', { ip: '10.100.3.7' })).toBe(false); // the dot is literal
    expect(ok('[IP] != pat(192.168.*)', { ip: '10.0.3.7' })).toBe(true);
    expect(ok('[BODY].version == pat(1.?.2)', { body: json })).toBe(true); // ? is one character, as in Gatus
    expect(ok('[BODY].version == pat(1.4?.2)', { body: json })).toBe(false);
  });

  it('accepts any of several values with any()', () => {
    expect(ok('[STATUS] == any(200, 201)', { status: 201 })).toBe(true);
    expect(ok('[STATUS] == any(200, 201)', { status: 204 })).toBe(false);
    expect(ok('[BODY].status == any(UP, DEGRADED)', { body: json })).toBe(true);
  });

  it('compares [CERTIFICATE_EXPIRATION] with durations', () => {
    const hour = 3_600_000;
    expect(ok('[CERTIFICATE_EXPIRATION] > 48h', { certificateExpirationMs: 72 * hour })).toBe(true);
    expect(ok('[CERTIFICATE_EXPIRATION] > 48h', { certificateExpirationMs: 24 * hour })).toBe(false);
    expect(ok('[CERTIFICATE_EXPIRATION] > 7d', { certificateExpirationMs: 10 * 24 * hour })).toBe(true);
    expect(ok('[CERTIFICATE_EXPIRATION] > 48h', {})).toBe(false);
  });

  it('describes each result with the observed value', () => {
    expect(check('[STATUS] == 200', { status: 503 })).toEqual({
      ok: false,
      description: '[STATUS] (503) == 200',
    });
    expect(check('len([BODY].items) == 2', { body: json }).description).toBe('len([BODY].items) (3) == 2');
    expect(check('[BODY].nope == x', { body: json }).description).toBe('[BODY].nope (missing) == x');
  });

  it('evaluates a list in order', () => {
    const conditions = ['[STATUS] == 200', '[BODY].status == UP', '[RESPONSE_TIME] < 50'].map(parseCondition);
    const results = evaluateConditions(conditions, { ...base, status: 200, body: json, responseTimeMs: 80 });
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
  });
});
