import { createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import {
  ErrorBody,
  MetricSeriesList,
  MetricsPushBody,
  MetricsPushResult,
  ScrapeTargetList,
  type ScrapeTargetHealth,
} from '@opsbook/contracts';
import { InputError } from '../../errors.js';
import type { MetricsApi } from '../../telemetry/metrics-api.js';
import { parseSelector } from '../../telemetry/labels.js';
import type { IngestSample, LabelMatcher } from '../../telemetry/series.js';
import { newRouter } from '../app.js';
import { correlationId } from '../errors.js';
import { limitParam } from './query-params.js';

export interface MetricsRouteDeps {
  /** Throws UnavailableError until the metric store has loaded. */
  metrics(): MetricsApi;
}

// 10,000 samples with a handful of labels each stay well under this.
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const errors = {
  400: { description: 'Bad parameter or body', content: { 'application/json': { schema: ErrorBody } } },
  503: { description: 'Metric store not ready', content: { 'application/json': { schema: ErrorBody } } },
};

const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) =>
    c.json(
      {
        error: {
          code: 'input',
          message: `body larger than ${MAX_BODY_BYTES} bytes; send at most 10000 samples per request`,
          field: 'body',
          correlationId: correlationId(c),
        },
      } satisfies ErrorBody,
      413,
    ),
});

/** Malformed JSON becomes a 400 naming the body (the validator would otherwise throw a bare HTTPException). */
const jsonBody: MiddlewareHandler = async (c, next) => {
  if (/\bjson\b/i.test(c.req.header('content-type') ?? '')) {
    try {
      await c.req.json();
    } catch {
      throw new InputError('the body is not valid JSON', 'body');
    }
  }
  await next();
};

const SPECIAL: Record<string, number> = { NaN: NaN, '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity };

export function metricsRoutes(deps: MetricsRouteDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'post',
      path: '/metrics',
      tags: ['metrics'],
      summary: 'Push samples (at most 10,000 per request); a malformed body stores nothing',
      middleware: [limitBody, jsonBody] as const,
      request: {
        body: { required: true, content: { 'application/json': { schema: MetricsPushBody } } },
      },
      responses: {
        202: { description: 'Stored', content: { 'application/json': { schema: MetricsPushResult } } },
        413: { description: 'Body too large', content: { 'application/json': { schema: ErrorBody } } },
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const samples: IngestSample[] = body.samples.map((s) => ({
        name: s.metric,
        labels: s.labels,
        value: typeof s.value === 'number' ? s.value : SPECIAL[s.value]!,
        t:
          s.timestamp === undefined
            ? undefined
            : typeof s.timestamp === 'number'
              ? s.timestamp
              : Date.parse(s.timestamp),
      }));
      return c.json(deps.metrics().ingest(samples), 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/metrics/targets',
      tags: ['metrics'],
      summary: 'Scrape targets with the health of their last scrape',
      responses: {
        200: { description: 'Targets', content: { 'application/json': { schema: ScrapeTargetList } } },
        ...errors,
      },
    }),
    async (c) => {
      const items: ScrapeTargetHealth[] = deps
        .metrics()
        .targets()
        .map((t) => ({ ...t, up: t.health === 'unknown' ? null : t.health === 'up' }));
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/metrics/series',
      tags: ['metrics'],
      summary: 'Label sets of the series matching every match parameter',
      request: {
        query: z.object({
          match: z
            .union([z.string(), z.array(z.string())])
            .transform((m) => (Array.isArray(m) ? m : [m]))
            .describe('a matcher (job="api", code=~"5..") or a selector (up{job="api"}); repeat to narrow'),
          limit: limitParam(1000, 10_000),
        }),
      },
      responses: {
        200: { description: 'Series', content: { 'application/json': { schema: MetricSeriesList } } },
        ...errors,
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const matchers: LabelMatcher[] = [];
      for (const text of query.match) {
        try {
          matchers.push(...parseSelector(text));
        } catch (error) {
          throw new InputError((error as Error).message, 'match');
        }
      }
      return c.json(deps.metrics().series(matchers, query.limit), 200);
    },
  );

  return router;
}
