// OpenAPI response pieces the route files share.
import type { z } from 'zod';
import { ErrorBody } from '@opsbook/contracts';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const standardErrors = {
  400: json(ErrorBody, 'Bad parameter or body'),
  401: json(ErrorBody, 'Not signed in, or an unknown token'),
  403: json(ErrorBody, 'The role is too low, or the CSRF header is missing'),
  404: json(ErrorBody, 'Not found'),
  503: json(ErrorBody, 'Not ready'),
};
