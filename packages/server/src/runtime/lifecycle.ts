// The process's own health, as its actuator probes report it.
import type { HealthResponse } from '@opsbook/contracts';

export class Lifecycle {
  configLoaded = false;
  migrated = false;
  /** Users, sessions and tokens loaded: until then every API route but the probes answers 503. */
  accessReady = false;
  storeUp = false;
  storeError: string | undefined;
  shuttingDown = false;
  readonly startedAt = Date.now();

  /** Liveness never depends on external systems (Spring Boot's rule): the event loop answers. */
  liveness(): HealthResponse {
    return { status: 'UP', components: { ping: { status: 'UP' } } };
  }

  readiness(): HealthResponse {
    const store = this.storeUp
      ? { status: 'UP' as const }
      : { status: 'DOWN' as const, details: { error: this.storeError ?? 'not connected yet' } };
    const shutdown = this.shuttingDown
      ? { status: 'DOWN' as const, details: { reason: 'shutting down' } }
      : { status: 'UP' as const };
    const started = this.startup();
    const components = { store, shutdown, startup: { status: started.status } };
    const up = store.status === 'UP' && shutdown.status === 'UP' && started.status === 'UP';
    return { status: up ? 'UP' : 'DOWN', components };
  }

  startup(): HealthResponse {
    const components = {
      config: { status: this.configLoaded ? ('UP' as const) : ('DOWN' as const) },
      migrations: { status: this.migrated ? ('UP' as const) : ('DOWN' as const) },
      access: { status: this.accessReady ? ('UP' as const) : ('DOWN' as const) },
    };
    return { status: this.configLoaded && this.migrated && this.accessReady ? 'UP' : 'DOWN', components };
  }

  health(): HealthResponse {
    const groups = { liveness: this.liveness(), readiness: this.readiness(), startup: this.startup() };
    const up = Object.values(groups).every((g) => g.status === 'UP');
    return {
      status: up ? 'UP' : 'DOWN',
      components: Object.fromEntries(
        Object.entries(groups).map(([k, v]) => [k, { status: v.status, details: v.components }]),
      ),
    };
  }
}
