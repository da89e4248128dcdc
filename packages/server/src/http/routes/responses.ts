// OpenAPI response pieces the route files share.
import type { z } from 'zod';
import { ErrorBody } from '@opsbook/contracts';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const standardErrors = {
  400: json(ErrorBody, 'Bad parameter or body'),
  404: json(ErrorBody, 'Not found'),
  503: json(ErrorBody, 'Not ready'),
};
