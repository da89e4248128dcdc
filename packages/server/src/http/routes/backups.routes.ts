import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  BackupStatus,
  BackupSummary,
  BackupView,
  ErrorBody,
  RestoreJobView,
  StartRestoreRequest,
  VerifyReportView,
} from '@opsbook/contracts';
import { InputError } from '../../errors.js';
import type { BackupService } from '../../postgres/backup.service.js';
import type { BackupRecord } from '../../postgres/backup.types.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { limitParam } from './query-params.js';
import { actorOf } from '../auth-context.js';

export interface BackupRoutesDeps {
  /** Throws UnavailableError until the store is up. */
  backups(): BackupService;
}

const id = z.object({ id: z.string() });
const conflict = { 409: json(ErrorBody, 'Already running, damaged, or the target exists') };

function summary(record: BackupRecord): BackupSummary {
  const { manifest, ...rest } = record;
  return {
    ...rest,
    tables: manifest?.tables.length ?? null,
    rows: manifest ? manifest.tables.reduce((sum, t) => sum + t.rows, 0) : null,
    walLsn: manifest?.walLsn ?? null,
  };
}

export function backupRoutes(deps: BackupRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/backups',
      tags: ['backups'],
      summary: 'Backups, newest first (manifests in GET /backups/{id})',
      request: {
        query: z.object({
          database: z.string().optional().describe('only this database'),
          status: BackupStatus.optional(),
          limit: limitParam(100, 1000),
        }),
      },
      responses: { 200: json(z.object({ items: z.array(BackupSummary) }), 'Backups'), ...standardErrors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const items = await deps.backups().list({ database: q.database, status: q.status, limit: q.limit });
      return c.json({ items: items.map(summary) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/backups/{id}',
      tags: ['backups'],
      summary: 'One backup with its manifest (tables, row counts, files and checksums) and its copies',
      request: { params: id },
      responses: { 200: json(BackupView, 'The backup'), ...standardErrors },
    }),
    async (c) => c.json(await deps.backups().get(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/databases/{id}/backups',
      tags: ['backups'],
      summary:
        'Back up a database now; answers 202 with the running backup. Follow it with GET /backups/{id}',
      request: { params: id },
      responses: { 202: json(BackupView, 'Started'), ...conflict, ...standardErrors },
    }),
    async (c) => {
      const started = await deps.backups().startBackup(c.req.valid('param').id, 'manual');
      c.header('Location', `/api/v1/backups/${started.record.id}`);
      return c.json(started.record, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/backups/{id}/verify',
      tags: ['backups'],
      summary: 'Check every file now: the local folder by SHA-256, each off-site copy where it lives',
      request: { params: id },
      responses: { 200: json(VerifyReportView, 'What each location holds'), ...conflict, ...standardErrors },
    }),
    async (c) => c.json(await deps.backups().verify(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/backups/{id}/restore',
      tags: ['backups'],
      summary:
        'Restore into a new database (checksums first). Answers 202 with a restore job; poll GET /restores/{id} for progress',
      request: {
        params: id,
        body: { content: { 'application/json': { schema: StartRestoreRequest } }, required: true },
      },
      responses: {
        202: json(RestoreJobView, 'Started'),
        ...conflict,
        ...standardErrors,
        403: json(ErrorBody, 'Not an admin, or the source database without force'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // Destructive: replacing a database needs its name typed twice, as the CLI asks.
      if (body.force && body.confirm !== body.to)
        throw new InputError(
          `force replaces database "${body.to}" if it exists; repeat its name in confirm to go ahead`,
          'confirm',
        );
      const job = await deps.backups().startRestore(c.req.valid('param').id, {
        to: body.to,
        targetUrl: body.targetUrl,
        force: body.force,
        jobs: body.jobs,
        actor: actorOf(c, body.actor),
      });
      c.header('Location', `/api/v1/restores/${job.id}`);
      return c.json(job, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/restores',
      tags: ['backups'],
      summary: 'Restore jobs since Opsbook started (the last 50), newest first',
      responses: {
        200: json(z.object({ items: z.array(RestoreJobView) }), 'Restore jobs'),
        ...standardErrors,
      },
    }),
    (c) => c.json({ items: deps.backups().restores.list() }, 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/restores/{id}',
      tags: ['backups'],
      summary: 'A restore job: phase, fraction done, and the result or error',
      request: { params: id },
      responses: { 200: json(RestoreJobView, 'The job'), ...standardErrors },
    }),
    (c) => c.json(deps.backups().restores.get(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/restores/{id}/cancel',
      tags: ['backups'],
      summary: 'Cancel a running restore: pg_restore stops and the half-restored database is dropped',
      request: { params: id },
      responses: { 200: json(RestoreJobView, 'The job, once it has stopped'), ...standardErrors },
    }),
    async (c) => c.json(await deps.backups().restores.cancel(c.req.valid('param').id), 200),
  );

  return router;
}
