import { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { Lifecycle } from '../runtime/lifecycle.js';
import type { SelfMetrics } from '../runtime/self-metrics.js';
import type { CheckQueries } from '../checks/check.queries.js';
import type { ProbeOutcome } from '../checks/probe.js';
import { correlationId, errorResponse, validationResponse } from './errors.js';
import { healthRoutes } from './routes/health.routes.js';
import { checkRoutes } from './routes/checks.routes.js';
import { serviceRoutes } from './routes/services.routes.js';
import { eventRoutes } from './routes/events.routes.js';
import { alertRoutes, type AlertRoutesDeps } from './routes/alerts.routes.js';
import { intakeRoutes } from './routes/intake.routes.js';
import { queryRoutes, type QueryRoutesDeps } from './routes/query.routes.js';
import { metricsRoutes, type MetricsRouteDeps } from './routes/metrics.routes.js';
import { notificationRoutes, type NotificationRoutesDeps } from './routes/notifications.routes.js';
import { incidentRoutes, type IncidentRoutesDeps } from './routes/incidents.routes.js';
import { runbookRoutes, type RunbookRoutesDeps } from './routes/runbooks.routes.js';
import { pitrRoutes, type PitrRoutesDeps } from './routes/pitr.routes.js';
import { postmortemRoutes, type PostmortemRoutesDeps } from './routes/postmortems.routes.js';
import { databaseRoutes, type DatabaseRoutesDeps } from './routes/databases.routes.js';
import { drillRoutes, type DrillRoutesDeps } from './routes/drills.routes.js';
import { backupRoutes, type BackupRoutesDeps } from './routes/backups.routes.js';
import { oncallRoutes, type OncallRoutesDeps } from './routes/oncall.routes.js';
import { deploymentRoutes, type DeploymentRoutesDeps } from './routes/deployments.routes.js';
import { authRoutes, type AuthRoutesDeps } from './routes/auth.routes.js';
import { accessRoutes, type AccessRoutesDeps } from './routes/access.routes.js';
import { authMiddleware } from './auth.middleware.js';
import { mountStream, type SseDeps } from './sse.js';
import { mountConsole } from './static.js';

export interface AppDeps
  extends
    AlertRoutesDeps,
    QueryRoutesDeps,
    MetricsRouteDeps,
    NotificationRoutesDeps,
    IncidentRoutesDeps,
    RunbookRoutesDeps,
    PitrRoutesDeps,
    PostmortemRoutesDeps,
    DatabaseRoutesDeps,
    DrillRoutesDeps,
    BackupRoutesDeps,
    OncallRoutesDeps,
    DeploymentRoutesDeps,
    SseDeps,
    AuthRoutesDeps,
    AccessRoutesDeps {
  lifecycle: Lifecycle;
  logger: Logger;
  selfMetrics: SelfMetrics;
  /** Throws UnavailableError until the store is connected and migrated. */
  queries(): CheckQueries;
  runCheck(id: string, signal: AbortSignal): Promise<ProbeOutcome | undefined>;
  version: string;
}

export type App = OpenAPIHono;

export function newRouter(): OpenAPIHono {
  return new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) return validationResponse(result.error, c);
      return undefined;
    },
  });
}

export function createApp(deps: AppDeps): OpenAPIHono {
  const app = newRouter();
  app.onError((error, c) => errorResponse(error, c, deps.logger));
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: 'not_found',
          message: `no route ${c.req.method} ${c.req.path}; see /api/openapi.json`,
          correlationId: correlationId(c),
        },
      },
      404,
    ),
  );
  // Before every route: the role check cannot be forgotten by one of them.
  app.use('*', authMiddleware(deps));
  app.route('/', healthRoutes(deps));
  app.route('/api/v1', authRoutes(deps));
  app.route('/api/v1', accessRoutes(deps));
  app.route('/api/v1', serviceRoutes(deps));
  app.route('/api/v1', checkRoutes(deps));
  app.route('/api/v1', eventRoutes(deps));
  app.route('/api/v1', alertRoutes(deps));
  app.route('/api/v1', queryRoutes(deps));
  app.route('/api/v1', metricsRoutes(deps));
  app.route('/api/v1', notificationRoutes(deps));
  app.route('/api/v1', incidentRoutes(deps));
  app.route('/api/v1', runbookRoutes(deps));
  app.route('/api/v1', databaseRoutes(deps));
  app.route('/api/v1', pitrRoutes(deps));
  app.route('/api/v1', postmortemRoutes(deps));
  app.route('/api/v1', drillRoutes(deps));
  app.route('/api/v1', backupRoutes(deps));
  app.route('/api/v1', oncallRoutes(deps));
  app.route('/api/v1', deploymentRoutes(deps));
  app.route('/api', intakeRoutes(deps));
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Opsbook API',
      version: deps.version,
      description: 'Checks, services and events of an Opsbook instance. Times are epoch milliseconds.',
    },
  });
  mountStream(app, deps);
  // Last: its catch-all answers the console's client routes with index.html.
  mountConsole(app);
  return app;
}
