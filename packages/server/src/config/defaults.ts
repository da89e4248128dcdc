// The guide's numbers (DESIGN.md section 4). Every default that comes from the guide names its section.

/** Guide 6.1: the example probe configuration, used as the default timing for each role. */
export const PROBE_DEFAULTS = {
  liveness: {
    initialDelaySeconds: 30,
    periodSeconds: 10,
    timeoutSeconds: 5,
    successThreshold: 1,
    failureThreshold: 3,
  },
  readiness: {
    initialDelaySeconds: 10,
    periodSeconds: 5,
    timeoutSeconds: 3,
    successThreshold: 1,
    failureThreshold: 3,
  },
  startup: {
    initialDelaySeconds: 0,
    periodSeconds: 10,
    timeoutSeconds: 3,
    successThreshold: 1,
    failureThreshold: 30,
  },
} as const;

export const DEFAULT_PORT = 8080;
export const DEFAULT_STORAGE_URL = 'sqlite:./data/opsbook.db';

/** Raw probe results are kept a week; rollups long enough for year-over-year comparisons. */
export const DEFAULT_RETENTION = {
  results: '7d',
  minuteRollups: '35d',
  rollups: '400d',
  events: '400d',
  /** The notification delivery log (ended deliveries and their attempts). */
  notifications: '90d',
} as const;

/** Enough parallel probes for 1,000 probes/s at a few ms each, without exhausting sockets. */
export const DEFAULT_CONCURRENCY = 256;
/** With `scheduler.probeThread: auto`, probes get their own thread from this many checks at start. */
export const PROBE_THREAD_MIN_CHECKS = 200;

/** Guide 5.4: certificates are urgent 7 days before expiry. */
export const CERT_MIN_DAYS = 7;
