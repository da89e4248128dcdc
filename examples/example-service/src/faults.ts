// Fault state of the example-service: what to break on purpose, changed at run time through /admin/faults.

export type HealthStatus = 'UP' | 'DOWN';

export interface Faults {
  /** Extra delay added to every /api/orders request, in milliseconds. */
  latencyMs: number;
  /** Fraction (0..1) of /api/orders requests answered with 500 {"error":"injected fault"}. */
  errorRate: number;
  liveness: HealthStatus;
  readiness: HealthStatus;
  startup: HealthStatus;
}

export const HEALTHY_FAULTS: Readonly<Faults> = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  liveness: 'UP',
  readiness: 'UP',
  startup: 'UP',
});

/** Upper bound for latencyMs so a typo cannot hang a request for hours. */
export const MAX_LATENCY_MS = 300_000;

const FAULT_FIELDS = ['latencyMs', 'errorRate', 'liveness', 'readiness', 'startup'] as const;
type FaultField = (typeof FAULT_FIELDS)[number];

/** A bad fault value; `field` names the offending field (or environment variable). */
export class FaultValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FaultValidationError';
  }
}

function isFaultField(key: string): key is FaultField {
  return (FAULT_FIELDS as readonly string[]).includes(key);
}

function validLatency(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_LATENCY_MS;
}

function validErrorRate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

function validStatus(value: unknown): value is HealthStatus {
  return value === 'UP' || value === 'DOWN';
}

/**
 * Validates a partial fault update (e.g. the body of PUT /admin/faults).
 * Throws FaultValidationError naming the first bad or unknown field; returns a clean copy otherwise.
 */
export function parseFaultsPatch(input: unknown): Partial<Faults> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultValidationError('body', 'body must be a JSON object with fault fields');
  }
  const patch: Partial<Faults> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!isFaultField(key)) {
      throw new FaultValidationError(
        key,
        `unknown fault field "${key}" (expected one of ${FAULT_FIELDS.join(', ')})`,
      );
    }
    switch (key) {
      case 'latencyMs':
        if (!validLatency(value)) {
          throw new FaultValidationError(key, `latencyMs must be an integer between 0 and ${MAX_LATENCY_MS}`);
        }
        patch.latencyMs = value;
        break;
      case 'errorRate':
        if (!validErrorRate(value)) {
          throw new FaultValidationError(key, 'errorRate must be a number between 0 and 1');
        }
        patch.errorRate = value;
        break;
      case 'liveness':
      case 'readiness':
      case 'startup':
        if (!validStatus(value)) {
          throw new FaultValidationError(key, `${key} must be "UP" or "DOWN"`);
        }
        patch[key] = value;
        break;
    }
  }
  return patch;
}

const ENV_VARS = {
  latencyMs: 'FAULT_LATENCY_MS',
  errorRate: 'FAULT_ERROR_RATE',
  liveness: 'FAULT_LIVENESS',
  readiness: 'FAULT_READINESS',
  startup: 'FAULT_STARTUP',
} as const satisfies Record<FaultField, string>;

/**
 * Reads initial faults from FAULT_LATENCY_MS, FAULT_ERROR_RATE, FAULT_LIVENESS, FAULT_READINESS and
 * FAULT_STARTUP. Unset or empty variables are left out. Throws FaultValidationError naming the variable.
 */
export function faultsFromEnv(env: Record<string, string | undefined> = process.env): Partial<Faults> {
  const faults: Partial<Faults> = {};
  const read = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };

  const latency = read(ENV_VARS.latencyMs);
  if (latency !== undefined) {
    const value = /^\d+$/.test(latency) ? Number(latency) : Number.NaN;
    if (!validLatency(value)) {
      throw new FaultValidationError(
        ENV_VARS.latencyMs,
        `${ENV_VARS.latencyMs}="${latency}" is invalid: expected an integer number of milliseconds between 0 and ${MAX_LATENCY_MS}`,
      );
    }
    faults.latencyMs = value;
  }

  const errorRate = read(ENV_VARS.errorRate);
  if (errorRate !== undefined) {
    const value = Number(errorRate);
    if (!validErrorRate(value)) {
      throw new FaultValidationError(
        ENV_VARS.errorRate,
        `${ENV_VARS.errorRate}="${errorRate}" is invalid: expected a number between 0 and 1`,
      );
    }
    faults.errorRate = value;
  }

  for (const field of ['liveness', 'readiness', 'startup'] as const) {
    const name = ENV_VARS[field];
    const raw = read(name);
    if (raw === undefined) continue;
    const value = raw.toUpperCase();
    if (!validStatus(value)) {
      throw new FaultValidationError(name, `${name}="${raw}" is invalid: expected UP or DOWN`);
    }
    faults[field] = value;
  }
  return faults;
}

/** Holds the current faults. Error injection is deterministic: errorRate r fails exactly r of requests over time. */
export class FaultController {
  #faults: Faults;
  #errorBudget = 0;

  constructor(initial: Partial<Faults> = {}) {
    this.#faults = { ...HEALTHY_FAULTS, ...parseFaultsPatch(initial) };
  }

  /** A copy of the current faults. */
  get(): Faults {
    return { ...this.#faults };
  }

  /** Applies a partial update atomically (nothing changes if any field is invalid); returns the new faults. */
  update(patch: Partial<Faults>): Faults {
    const clean = parseFaultsPatch(patch);
    if (clean.errorRate !== undefined && clean.errorRate !== this.#faults.errorRate) this.#errorBudget = 0;
    this.#faults = { ...this.#faults, ...clean };
    return this.get();
  }

  /** Back to healthy: no latency, no errors, every probe UP. */
  reset(): Faults {
    this.#faults = { ...HEALTHY_FAULTS };
    this.#errorBudget = 0;
    return this.get();
  }

  /**
   * Whether the next affected request should fail. Accumulates errorRate per request and fails whenever the
   * total reaches 1, so 1 always fails, 0 never does, and 0.25 fails every fourth request.
   */
  shouldInjectError(): boolean {
    const rate = this.#faults.errorRate;
    if (rate <= 0) return false;
    if (rate >= 1) return true;
    this.#errorBudget += rate;
    if (this.#errorBudget >= 1 - 1e-9) {
      this.#errorBudget -= 1;
      return true;
    }
    return false;
  }
}
