// Domain errors become HTTP once, here, each answer carrying a correlation id that is also logged.
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import type { ZodError } from 'zod';
import type { ErrorBody } from '@opsbook/contracts';
import {
  ConflictError,
  InputError,
  IntegrationError,
  NotAllowedError,
  NotFoundError,
  UnavailableError,
  UnauthenticatedError,
  ForbiddenError,
  TooManyRequestsError,
} from '../errors.js';
import { formatPath } from '../config/load.js';

export function correlationId(c: Context): string {
  return c.req.header('x-request-id') ?? randomUUID();
}

export function errorResponse(error: unknown, c: Context, logger: Logger): Response {
  const id = correlationId(c);
  const body = (code: string, message: string, extra: Partial<ErrorBody['error']> = {}): ErrorBody => ({
    error: { code, message, ...extra, correlationId: id },
  });
  if (error instanceof HTTPException && error.status < 500)
    return c.json(
      body(error.status === 400 ? 'input' : 'http', error.message || 'bad request', { field: 'body' }),
      error.status,
    );
  if (error instanceof InputError) return c.json(body('input', error.message, { field: error.field }), 400);
  if (error instanceof NotFoundError) return c.json(body('not_found', error.message), 404);
  if (error instanceof ConflictError) return c.json(body('conflict', error.message), 409);
  if (error instanceof UnauthenticatedError) return c.json(body(error.code, error.message), 401);
  if (error instanceof ForbiddenError) return c.json(body(error.code, error.message), 403);
  if (error instanceof TooManyRequestsError) {
    c.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    return c.json(body(error.code, error.message), 429);
  }
  if (error instanceof NotAllowedError) return c.json(body('not_allowed', error.message), 403);
  if (error instanceof UnavailableError) return c.json(body('unavailable', error.message), 503);
  if (error instanceof IntegrationError) {
    logger.warn({ err: error, correlationId: id }, error.message);
    return c.json(body('integration', error.message), 502);
  }
  logger.error({ err: error, correlationId: id, path: c.req.path }, 'unhandled error');
  return c.json(body('internal', `internal error; quote correlation id ${id} when reporting it`), 500);
}

/** A 400 naming every bad parameter or body field, for zod validation failures. */
export function validationResponse(error: ZodError, c: Context): Response {
  const issues = error.issues.map((issue) => ({
    field: formatPath(issue.path) || '(body)',
    message: issue.message,
  }));
  const first = issues[0]!;
  const body: ErrorBody = {
    error: {
      code: 'input',
      message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
      field: first.field,
      issues,
      correlationId: correlationId(c),
    },
  };
  return c.json(body, 400);
}
