// Metric queries with Prometheus's HTTP API parameters and response shape (times in Unix seconds or RFC 3339),
// either as a PromQL-subset `query` or built from structured parameters.
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { ErrorBody } from '@opsbook/contracts';
import { parseDuration } from '../../config/duration.js';
import { InputError } from '../../errors.js';
import { parseExpr, PromqlSyntaxError, type Expr } from '../../telemetry/promql/parser.js';
import { evaluateInstant, evaluateRange, PromqlEvalError } from '../../telemetry/promql/engine.js';
import type { SeriesSource } from '../../telemetry/series.js';
import { parseMatcher, formatMatcher } from '../../alerts/matchers.js';
import { newRouter } from '../app.js';

/** Prometheus's time parameter: Unix seconds (with a fraction) or RFC 3339; returned in epoch ms. */
const promTime = z
  .string()
  .transform((value, ctx) => {
    const ms = /^\d+(\.\d+)?$/.test(value) ? Math.round(Number(value) * 1000) : Date.parse(value);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a time; use Unix seconds or RFC 3339` });
      return z.NEVER;
    }
    return ms;
  })
  .optional();

/** Runs a query; evaluation errors (e.g. many-to-many matching) are the query's fault, not the server's. */
async function run<T>(task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    if (error instanceof PromqlEvalError) throw new InputError(error.message, 'query');
    throw error;
  }
}

export interface QueryRoutesDeps {
  series(): SeriesSource;
}

const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count', 'rate', 'p50', 'p95', 'p99'] as const;

const QueryResult = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.enum(['vector', 'matrix', 'scalar']),
    result: z.unknown(),
  }),
  query: z.string().describe('the PromQL the request ran'),
});

const params = {
  query: z
    .string()
    .optional()
    .describe('PromQL subset, e.g. sum by (service) (rate(http_requests_total[5m]))'),
  metric: z.string().optional().describe('instead of query: a metric name'),
  match: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('label matchers for `metric`, e.g. service="shop" (repeatable)'),
  aggregation: z
    .enum(AGGREGATIONS)
    .optional()
    .describe('avg, min, max, sum, count, rate, p50, p95 or p99 (default avg)'),
  by: z.string().optional().describe('comma-separated labels to group by'),
  window: z.string().optional().describe('window of the aggregation, e.g. 5m (default 5m)'),
};

/** Builds PromQL from structured parameters; the API answers with the query it ran. */
export function structuredQuery(q: {
  metric?: string;
  match?: string | string[];
  aggregation?: (typeof AGGREGATIONS)[number];
  by?: string;
  window?: string;
}): string {
  if (!q.metric)
    throw new InputError(
      'give `query`, or `metric` with optional match, aggregation, by and window',
      'query',
    );
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(q.metric))
    throw new InputError(`"${q.metric}" is not a metric name`, 'metric');
  const texts = q.match === undefined ? [] : Array.isArray(q.match) ? q.match : [q.match];
  const matchers = texts.map((text, i) => {
    try {
      return formatMatcher(parseMatcher(text));
    } catch (error) {
      throw new InputError((error as Error).message, `match[${i}]`);
    }
  });
  const window = q.window ?? '5m';
  if (parseDuration(window) === undefined)
    throw new InputError(`"${window}" is not a duration; write e.g. 5m`, 'window');
  const by = (q.by ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  const selector = `${q.metric}{${matchers.join(',')}}`;
  const group = (extra: string[] = []) => {
    const labels = [...extra, ...by];
    return labels.length ? ` by (${labels.join(', ')})` : '';
  };
  const aggregation = q.aggregation ?? 'avg';
  switch (aggregation) {
    case 'rate':
      return `sum${group()} (rate(${selector}[${window}]))`;
    case 'avg':
    case 'min':
    case 'max':
      return `${aggregation}${group()} (${aggregation}_over_time(${selector}[${window}]))`;
    case 'sum':
      return `sum${group()} (avg_over_time(${selector}[${window}]))`;
    case 'count':
      return `count${group()} (last_over_time(${selector}[${window}]))`;
    case 'p50':
    case 'p95':
    case 'p99': {
      const phi = Number(aggregation.slice(1)) / 100;
      return q.metric.endsWith('_bucket')
        ? `histogram_quantile(${phi}, sum${group(['le'])} (rate(${selector}[${window}])))`
        : `max${group()} (quantile_over_time(${phi}, ${selector}[${window}]))`;
    }
  }
}

function parse(text: string): Expr {
  try {
    return parseExpr(text);
  } catch (error) {
    if (error instanceof PromqlSyntaxError)
      throw new InputError(`${error.message} (at character ${error.position + 1} of "${text}")`, 'query');
    throw error;
  }
}

const toPrometheusValue = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

export function queryRoutes(deps: QueryRoutesDeps) {
  const router = newRouter();
  const errors = {
    400: { description: 'Bad query or parameter', content: { 'application/json': { schema: ErrorBody } } },
    503: { description: 'Not ready', content: { 'application/json': { schema: ErrorBody } } },
  };

  router.openapi(
    createRoute({
      method: 'get',
      path: '/query',
      tags: ['metrics'],
      summary: 'Instant query at `time` (default now)',
      request: { query: z.object({ ...params, time: promTime }) },
      responses: {
        200: { description: 'Result', content: { 'application/json': { schema: QueryResult } } },
        ...errors,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const text = q.query ?? structuredQuery(q);
      const result = await run(() => evaluateInstant(parse(text), q.time ?? Date.now(), deps.series()));
      const data =
        result.type === 'scalar'
          ? {
              resultType: 'scalar' as const,
              result: [(q.time ?? Date.now()) / 1000, toPrometheusValue(result.value)],
            }
          : {
              resultType: 'vector' as const,
              result: result.samples.map((s) => ({
                metric: s.labels,
                value: [(q.time ?? Date.now()) / 1000, toPrometheusValue(s.value)],
              })),
            };
      return c.json({ status: 'success' as const, data, query: text }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/query_range',
      tags: ['metrics'],
      summary: 'Range query from `start` to `end` every `step`',
      request: {
        query: z.object({
          ...params,
          start: promTime,
          end: promTime,
          step: z.string().optional().describe('e.g. 60s or 1m (default: range / 250)'),
        }),
      },
      responses: {
        200: { description: 'Result', content: { 'application/json': { schema: QueryResult } } },
        ...errors,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const text = q.query ?? structuredQuery(q);
      const end = q.end ?? Date.now();
      const start = q.start ?? end - 3_600_000;
      if (start >= end) throw new InputError('start must be before end', 'start');
      const step =
        q.step === undefined
          ? Math.max(1000, Math.ceil((end - start) / 250))
          : (parseDuration(/^\d+$/.test(q.step) ? `${q.step}s` : q.step) ?? NaN);
      if (!Number.isFinite(step) || step <= 0)
        throw new InputError(`"${q.step}" is not a step; write e.g. 60s`, 'step');
      if ((end - start) / step > 11_000)
        throw new InputError('too many points (over 11,000); use a larger step', 'step');
      const matrix = await run(() => evaluateRange(parse(text), start, end, step, deps.series()));
      const result = matrix.map((s) => ({
        metric: s.labels,
        values: s.points.map((p) => [p.t / 1000, toPrometheusValue(p.v)]),
      }));
      return c.json(
        { status: 'success' as const, data: { resultType: 'matrix' as const, result }, query: text },
        200,
      );
    },
  );
  return router;
}
