import { describe, expect, it } from 'vitest';
import { parseExposition, parseFloatValue } from './exposition-parser.js';

// Shaped like node_exporter, client_golang and a Java client's output, with the format's corners.
const EXPOSITION = [
  '# HELP http_requests_total The total number of HTTP requests.',
  '# TYPE http_requests_total counter',
  'http_requests_total{method="post",code="200"} 1027 1395066363000',
  'http_requests_total{method="post",code="400"}    3 1395066363000',
  '',
  '# Escaping in label values:',
  'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
  '',
  '# Minimalistic line:',
  'metric_without_timestamp_and_labels 12.47',
  '',
  '# A weird metric from before the epoch:',
  'something_weird{problem="division by zero"} +Inf -3982045',
  '',
  '# HELP http_request_duration_seconds A histogram of the request duration.',
  '# TYPE http_request_duration_seconds histogram',
  'http_request_duration_seconds_bucket{le="0.05"} 24054',
  'http_request_duration_seconds_bucket{le="0.1"} 33444',
  'http_request_duration_seconds_bucket{le="0.2"} 100392',
  'http_request_duration_seconds_bucket{le="+Inf"} 144320',
  'http_request_duration_seconds_sum 53423',
  'http_request_duration_seconds_count 144320',
  '',
  '# HELP rpc_duration_seconds A summary of the RPC duration in seconds.',
  '# TYPE rpc_duration_seconds summary',
  'rpc_duration_seconds{quantile="0.01"} 3102',
  'rpc_duration_seconds{quantile="0.5"} 4773',
  'rpc_duration_seconds{quantile="0.99"} 76656',
  'rpc_duration_seconds_sum 1.7560473e+07',
  'rpc_duration_seconds_count 2693',
  '# HELP go_gc_duration_seconds Escapes in help: a\\\\b and\\nnew line.',
  '# TYPE go_gc_duration_seconds gauge',
  'go_gc_duration_seconds{ trailing = "comma" , } NaN',
  '\t  node_load1\t0.5  ',
  'untyped_thing{a="1"} -Inf',
  'node_memory_bytes{kind=""} 4.2E+3',
].join('\n');

describe('Prometheus text exposition parser', () => {
  it('parses a realistic exposition: types, help, escapes, timestamps and special values', () => {
    const { samples, errors, families } = parseExposition(EXPOSITION);
    expect(errors).toEqual([]);
    expect(samples).toHaveLength(20);
    expect(samples[0]).toEqual({
      name: 'http_requests_total',
      labels: { method: 'post', code: '200' },
      value: 1027,
      timestamp: 1395066363000,
    });
    expect(samples[2]!.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(samples[2]!.value).toBe(1458255915);
    expect(samples[3]).toEqual({ name: 'metric_without_timestamp_and_labels', labels: {}, value: 12.47 });
    expect(samples[4]).toMatchObject({ value: Infinity, timestamp: -3982045 });
    expect(
      samples.filter((s) => s.name === 'http_request_duration_seconds_bucket').map((s) => s.labels.le),
    ).toEqual(['0.05', '0.1', '0.2', '+Inf']);
    expect(samples.find((s) => s.name === 'rpc_duration_seconds_sum')!.value).toBe(17560473);
    const gc = samples.find((s) => s.name === 'go_gc_duration_seconds')!;
    expect(gc.labels).toEqual({ trailing: 'comma' });
    expect(gc.value).toBeNaN();
    expect(samples.find((s) => s.name === 'node_load1')!.value).toBe(0.5);
    expect(samples.find((s) => s.name === 'untyped_thing')!.value).toBe(-Infinity);
    expect(samples.at(-1)).toEqual({ name: 'node_memory_bytes', labels: { kind: '' }, value: 4200 });

    expect(families.get('http_requests_total')).toEqual({
      type: 'counter',
      help: 'The total number of HTTP requests.',
    });
    expect(families.get('http_request_duration_seconds')!.type).toBe('histogram');
    expect(families.get('rpc_duration_seconds')!.type).toBe('summary');
    expect(families.get('go_gc_duration_seconds')!.help).toBe('Escapes in help: a\\b and\nnew line.');
  });

  it('reports each malformed line with its number and keeps the good lines around it', () => {
    const text = [
      'good_one 1', // 1
      'bad metric 1', // 2: three tokens
      'no_value', // 3
      'bad_value{a="b"} twelve', // 4
      'bad_escape{a="\\x"} 1', // 5
      'unterminated{a="b} 1', // 6
      'dup_label{a="1",a="2"} 1', // 7
      '# TYPE hist histogram', // 8
      'hist_bucket{le="fast"} 1', // 9
      'hist_bucket 1', // 10
      'hist_sum 3', // 11
      '# TYPE hist gauge', // 12: second TYPE
      '# TYPE other bogus', // 13
      'bad_ts 1 12.5', // 14
      '{a="b"} 1', // 15: no name
      '9starts_with_digit 1', // 16
      'label_name{0a="b"} 1', // 17
      '# TYPE sum summary', // 18
      'sum{q="x"} 1', // 19: no quantile
      'good_two{x="y"} 2\r', // 20: CRLF
      'name_label{__name__="x"} 1', // 21
      'late 1', // 22
      '# TYPE late gauge', // 23: TYPE after samples
      'missing_comma{a="1" b="2"} 1', // 24
      'bad@char 1', // 25
    ].join('\n');
    const { samples, errors } = parseExposition(`${text}\n`);
    expect(samples.map((s) => s.name)).toEqual(['good_one', 'hist_sum', 'good_two', 'late']);
    expect(samples[2]!.labels).toEqual({ x: 'y' });
    expect(errors.map((e) => e.line)).toEqual([
      2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 14, 15, 16, 17, 19, 21, 23, 24, 25,
    ]);
    const message = (line: number) => errors.find((e) => e.line === line)!.message;
    expect(message(4)).toMatch(/invalid value "twelve"/);
    expect(message(5)).toMatch(/invalid escape sequence/);
    expect(message(7)).toMatch(/duplicate label "a"/);
    expect(message(9)).toMatch(/non-numeric le="fast"/);
    expect(message(10)).toMatch(/no "le" label/);
    expect(message(12)).toMatch(/second TYPE/);
    expect(message(13)).toMatch(/unknown metric type "bogus"/);
    expect(message(14)).toMatch(/invalid timestamp/);
    expect(message(19)).toMatch(/no "quantile" label/);
    expect(message(23)).toMatch(/after its samples/);
  });

  it('parses values as Go does: decimals, exponents, NaN and ±Inf; nothing else', () => {
    expect(parseFloatValue('1e3')).toBe(1000);
    expect(parseFloatValue('-.5')).toBe(-0.5);
    expect(parseFloatValue('+Inf')).toBe(Infinity);
    expect(parseFloatValue('-inf')).toBe(-Infinity);
    expect(parseFloatValue('NaN')).toBeNaN();
    for (const bad of ['', '0x10', '1,5', 'Infinityy', '1e', '--1'])
      expect(parseFloatValue(bad)).toBeUndefined();
  });

  it('parses 10,000 lines quickly', () => {
    const lines = ['# TYPE load gauge'];
    for (let i = 0; i < 10_000; i++) lines.push(`load{host="h${i}",dc="eu-west-1",role="web"} ${i / 3}`);
    const text = lines.join('\n');
    parseExposition(text); // warm up the JIT, as every scrape after the first finds it
    const started = performance.now();
    const { samples, errors } = parseExposition(text);
    expect(performance.now() - started).toBeLessThan(100);
    expect(errors).toEqual([]);
    expect(samples).toHaveLength(10_000);
  });
});
