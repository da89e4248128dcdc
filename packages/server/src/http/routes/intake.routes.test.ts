// POST /api/v2/alerts of a running Opsbook: a bad body answers the 400 the zod schema words (field path
// and reason) and writes nothing, other media types 415, the OpenAPI document still describes the
// body, and concurrent POSTs are each answered with their own count once stored.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostableAlerts } from '@opsbook/contracts';
import { apiCaller, testAuth } from '../../../../../test/api-caller.js';
import { formatPath } from '../../config/load.js';
import type { Opsbook } from '../../runtime/opsbook.js';
import { startOpsbook, type RunningOpsbook } from '../../../../../test/running-opsbook.js';

describe('POST /api/v2/alerts', () => {
  let running: RunningOpsbook;
  let opsbook: Opsbook;
  const call = apiCaller(() => opsbook.url);
  const total = async (query = '') =>
    (await call('GET', `/api/v1/alerts?limit=1${query}`)).body.total as number;

  beforeAll(async () => {
    running = await startOpsbook(
      'intake',
      (dir) => `storage: { url: "sqlite:${join(dir, 'ops.db')}" }\nalerting: { defaultRules: false }\n`,
    );
    opsbook = running.opsbook;
  }, 30_000);

  afterAll(() => running.stop());

  it('answers a bad body with the schema’s issues, field by field, and writes nothing', async () => {
    const bodies: unknown[] = [
      {},
      [{ labels: { service: 'x' } }, { labels: { alertname: 'Fine' } }],
      [{ labels: { alertname: 'Fine', code: 500 } }],
      [{ labels: { alertname: 'Fine' }, startsAt: 'yesterday' }],
      [{ labels: { alertname: 'Fine' }, startsAt: '2026-11-27T10:00:00Z', endsAt: '2026-11-27T09:00:00Z' }],
      [{ labels: { alertname: 'Fine' }, annotations: { summary: ['a'] } }],
    ];
    for (const body of bodies) {
      const response = await call('POST', '/api/v2/alerts', body);
      const issues = PostableAlerts.safeParse(body).error!.issues.map((i) => ({
        field: formatPath(i.path) || '(body)',
        message: i.message,
      }));
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatchObject({
        code: 'input',
        field: issues[0]!.field,
        issues,
        message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      });
    }
    const missing = await call('POST', '/api/v2/alerts', [{ labels: { service: 'x' } }]);
    expect(missing.body.error).toMatchObject({
      field: '[0].labels',
      message: '[0].labels: labels.alertname is required',
    });
    expect(await total()).toBe(0);
  });

  it('answers bad JSON with 400 and another media type with 415', async () => {
    const post = (body: string | Blob, type?: string) =>
      fetch(`${opsbook.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { ...testAuth(), ...(type ? { 'content-type': type } : {}) },
        body,
      });
    const malformed = await post('[{"labels": ', 'application/json');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as any).error).toMatchObject({
      code: 'input',
      field: 'body',
      message: 'Malformed JSON in request body',
    });
    const text = await post('[]', 'text/plain');
    expect(text.status).toBe(415);
    // A Blob without a type, so fetch adds no content type of its own.
    const untyped = await post(new Blob(['[{"labels":{"alertname":"A"}}]']));
    expect(untyped.status).toBe(415);
    expect((await post('[]', 'application/json; charset=utf-8')).status).toBe(200);
    expect(await total()).toBe(0);
  });

  it('keeps the body in the OpenAPI document', async () => {
    const doc = (await call('GET', '/api/openapi.json')).body;
    const operation = doc.paths['/api/v2/alerts'].post;
    expect(operation.tags).toEqual(['intake']);
    expect(operation.requestBody.required).toBe(true);
    const schema = operation.requestBody.content['application/json'].schema;
    expect(schema.type).toBe('array');
    expect(Object.keys(schema.items.properties).sort()).toEqual([
      'annotations',
      'endsAt',
      'generatorURL',
      'labels',
      'startsAt',
    ]);
    expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '503']);
  });

  it('answers concurrent POSTs each with its own count, all of them stored', async () => {
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 10 + b }, (_, i) => ({
        labels: { alertname: 'Concurrent', service: `svc-${b}`, instance: `host-${i}`, severity: 'warning' },
        annotations: { summary: `batch ${b} alert ${i}` },
        startsAt: new Date().toISOString(),
      })),
    );
    const answers = await Promise.all(batches.map((body) => call('POST', '/api/v2/alerts', body)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.map((a) => a.body.accepted)).toEqual(batches.map((b) => b.length));
    expect(await total('&alertname=Concurrent')).toBe(batches.flat().length);
    const history = await call('GET', '/api/v1/alerts/history?alertname=Concurrent&limit=500');
    expect(history.body.items).toHaveLength(batches.flat().length);
    expect(history.body.items.every((h: any) => h.state === 'firing')).toBe(true);
  });

  it('takes a body only zod can judge (a "__proto__" label) as before', async () => {
    const response = await fetch(`${opsbook.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { ...testAuth(), 'content-type': 'application/json' },
      body: '[{"labels":{"alertname":"ProtoLabel","__proto__":"x"}}]',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 1 });
    const listed = await call('GET', '/api/v1/alerts?alertname=ProtoLabel');
    expect(listed.body.items[0].labels).toEqual({ alertname: 'ProtoLabel' });
  });
});
