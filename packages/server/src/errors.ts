// One set of domain errors, mapped to HTTP once in http/errors.ts.

export class OpsbookError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a user: names the field and the reason. */
export class InputError extends OpsbookError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends OpsbookError {}
export class ConflictError extends OpsbookError {}
export class NotAllowedError extends OpsbookError {}
/** A system we talk to (PostgreSQL, a webhook, Azure) failed; `cause` holds its error. */
export class IntegrationError extends OpsbookError {}

/** Opsbook cannot answer yet (starting, store unreachable); try again shortly. */
export class UnavailableError extends OpsbookError {}

/** No or invalid credentials (401); `code` says which, e.g. sign_in_failed. */
export class UnauthenticatedError extends OpsbookError {
  constructor(
    message: string,
    readonly code = 'unauthenticated',
  ) {
    super(message);
  }
}

/** Signed in, but the role is too low or the request failed a CSRF check (403). */
export class ForbiddenError extends OpsbookError {
  constructor(
    message: string,
    readonly code = 'forbidden',
  ) {
    super(message);
  }
}

/** Too many attempts (429), e.g. a sign-in lockout; the client may retry after retryAfterMs. */
export class TooManyRequestsError extends OpsbookError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
    readonly code = 'rate_limited',
  ) {
    super(message);
  }
}
