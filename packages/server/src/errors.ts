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
