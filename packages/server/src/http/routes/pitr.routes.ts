import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  PitrBackupRun,
  PitrCheck,
  PitrInfo,
  PitrRestore,
  PitrSetupResult,
  StartPitrBackupRequest,
  StartPitrRestoreRequest,
} from '@opsbook/contracts';
import type { PitrService } from '../../postgres/pitr.service.js';
import { newRouter } from '../app.js';
import { json, standardErrors } from './responses.js';
import { actorOf } from '../auth-context.js';

export interface PitrRoutesDeps {
  pitr(): PitrService;
}

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
const database = z.object({ id: z.string().describe('the database id from the config') });
const actor = z
  .string()
  .min(1)
  .optional()
  .describe(
    'recorded for integration tokens only; a signed-in user or personal token is recorded as themselves',
  );
const errors = {
  ...standardErrors,
  409: json(
    z.object({}).passthrough(),
    'Conflicts with a running backup or restore, or nothing to restore yet',
  ),
  502: json(z.object({}).passthrough(), 'pgBackRest or PostgreSQL failed; the message says how'),
};

export function pitrRoutes(deps: PitrRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/pitr',
      tags: ['pitr'],
      summary: 'The recoverable window, the backups in the pgBackRest repository and the latest backup runs',
      request: { params: database },
      responses: { 200: json(PitrInfo, 'PITR state'), ...errors },
    }),
    async (c) => c.json(await deps.pitr().info(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/databases/{id}/pitr/check',
      tags: ['pitr'],
      summary:
        'What PITR needs from the server and host (wal_level, archive_mode, archive_command...), each with a fix',
      request: { params: database },
      responses: { 200: json(PitrCheck, 'Findings'), ...errors },
    }),
    async (c) => c.json(await deps.pitr().check(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/databases/{id}/pitr/setup',
      tags: ['pitr'],
      summary: 'Create the pgBackRest stanza and check that WAL reaches the repository',
      request: { params: database, ...body(z.object({ actor })) },
      responses: { 200: json(PitrSetupResult, 'Stanza ready'), ...errors },
    }),
    async (c) =>
      c.json(await deps.pitr().setup(c.req.valid('param').id, actorOf(c, c.req.valid('json').actor)), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/databases/{id}/pitr/backups',
      tags: ['pitr'],
      summary: 'Start a pgBackRest backup (full, diff or incr); follow it at /pitr-backups/{id}',
      request: { params: database, ...body(StartPitrBackupRequest) },
      responses: { 202: json(PitrBackupRun, 'Started'), ...errors },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const run = await deps.pitr().startBackup(c.req.valid('param').id, input.type, {
        trigger: 'manual',
        actor: actorOf(c, input.actor),
      });
      return c.json(run, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/pitr-backups/{id}',
      tags: ['pitr'],
      summary: 'One backup run: progress, then outcome, label, size and duration',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: json(PitrBackupRun, 'The backup run'), ...errors },
    }),
    async (c) => c.json(await deps.pitr().getBackup(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/databases/{id}/pitr/restores',
      tags: ['pitr'],
      summary:
        'Restore the database as it was at targetTime into a NEW data directory and port (never over the running cluster); follow it at /pitr-restores/{id}',
      request: { params: database, ...body(StartPitrRestoreRequest) },
      responses: { 202: json(PitrRestore, 'Started'), ...errors },
    }),
    async (c) =>
      c.json(
        await deps.pitr().startRestore(c.req.valid('param').id, {
          ...c.req.valid('json'),
          actor: actorOf(c, c.req.valid('json').actor),
        }),
        202,
      ),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/pitr-restores',
      tags: ['pitr'],
      summary: 'Restores, newest first',
      request: { query: z.object({ database: z.string().optional() }) },
      responses: { 200: json(z.object({ items: z.array(PitrRestore) }), 'Restores'), ...errors },
    }),
    async (c) => c.json({ items: await deps.pitr().listRestores(c.req.valid('query').database) }, 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/pitr-restores/{id}',
      tags: ['pitr'],
      summary: 'One restore: phase and progress, then the connection URL and duration, or the error',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: json(PitrRestore, 'The restore'), ...errors },
    }),
    async (c) => c.json(await deps.pitr().getRestore(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/pitr-restores/{id}/stop',
      tags: ['pitr'],
      summary: 'Shut the restored cluster down; its data directory stays',
      request: { params: z.object({ id: z.string() }), ...body(z.object({ actor })) },
      responses: { 200: json(PitrRestore, 'Stopped'), ...errors },
    }),
    async (c) =>
      c.json(
        await deps.pitr().stopRestore(c.req.valid('param').id, actorOf(c, c.req.valid('json').actor)),
        200,
      ),
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/pitr-restores/{id}',
      tags: ['pitr'],
      summary: 'Destructive: stop the restored cluster and delete its data directory (confirm=true)',
      request: {
        params: z.object({ id: z.string() }),
        query: z.object({
          confirm: z
            .enum(['true', 'false'])
            .default('false')
            .describe('must be true: the data directory is deleted'),
          actor,
        }),
      },
      responses: { 200: json(PitrRestore, 'Removed'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json(
        await deps.pitr().removeRestore(c.req.valid('param').id, actorOf(c, q.actor), q.confirm === 'true'),
        200,
      );
    },
  );
  return router;
}
