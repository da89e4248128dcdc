// Cancel and terminate on real backends: a pg_sleep is really cancelled, a session really ends, and
// every request (done, refused, unknown pid) lands in the audit table, on both store engines.
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../../../../test/databases.js';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { databaseSchema } from '../config/databases.schema.js';
import { InputError, NotFoundError } from '../errors.js';
import { DatabaseService } from './database.service.js';

const logger = pino({ level: 'silent' });
/** pg.Client knows its backend pid; its type declarations leave it out. */
const pidOf = (c: pg.Client): number => (c as unknown as { processID: number }).processID;

async function session(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'backends-test' });
  c.on('error', () => {});
  await c.connect();
  return c;
}

describe.each(ENGINES)('backend actions (audit on %s)', (engine) => {
  let db: { url: string; drop(): Promise<void> };
  let t: TestStore;
  let service: DatabaseService;
  const sessions: pg.Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(inject('postgresUrl'), 'backends');
    t = await openTestStore(engine);
    service = new DatabaseService({ store: t.store, logger });
    service.apply([databaseSchema.parse({ id: 'main', url: db.url })], '.');
  });
  afterAll(async () => {
    for (const s of sessions) await s.end().catch(() => {});
    await service.stop();
    await t.cleanup();
    await db.drop();
  });

  async function sleeping(): Promise<{ client: pg.Client; result: Promise<unknown> }> {
    const client = await session(db.url);
    sessions.push(client);
    const result = client.query("SELECT pg_sleep(60), 'hunter2-literal'").then(
      () => 'finished',
      (error: Error) => error,
    );
    // Listed as active before acting on it.
    const deadline = Date.now() + 10_000;
    while (!(await service.backends('main')).some((b) => b.pid === pidOf(client) && b.state === 'active')) {
      if (Date.now() > deadline) throw new Error('the sleeping backend did not show');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { client, result };
  }

  it('lists the sessions of the database', async () => {
    const { client } = await sleeping();
    const list = await service.backends('main');
    expect(list.find((b) => b.pid === pidOf(client))).toMatchObject({
      application: 'backends-test',
      state: 'active',
      query: "SELECT pg_sleep(60), '***'",
    });
  });

  it('refuses without confirmation or actor, and audits each refusal', async () => {
    const { client } = await sleeping();
    const pid = pidOf(client);
    await expect(service.backendAction('main', { pid, action: 'cancel', actor: 'ann' })).rejects.toThrow(
      InputError,
    );
    await expect(
      service.backendAction('main', { pid, action: 'terminate', actor: 'ann', confirm: false }),
    ).rejects.toMatchObject({ field: 'confirm' });
    await expect(
      service.backendAction('main', { pid, action: 'cancel', confirm: true }),
    ).rejects.toMatchObject({
      field: 'actor',
    });
    // Still running: nothing was signalled.
    expect((await service.backends('main')).find((b) => b.pid === pid)?.state).toBe('active');
    const audit = (await service.backendAudit('main')).filter((a) => a.pid === pid);
    expect(audit.map((a) => [a.action, a.outcome, a.actor, a.message])).toEqual([
      ['cancel', 'refused', 'unknown', 'refused: no actor'],
      ['terminate', 'refused', 'ann', 'refused: not confirmed'],
      ['cancel', 'refused', 'ann', 'refused: not confirmed'],
    ]);
  });

  it('cancels a running query: the client sees the cancel, the session stays, the audit has it', async () => {
    const { client, result } = await sleeping();
    const pid = pidOf(client);
    const done = await service.backendAction('main', {
      pid,
      action: 'cancel',
      actor: 'ann',
      confirm: true,
      reason: 'blocking checkout',
      source: 'cli',
    });
    expect(done).toMatchObject({ signalled: true, stillRunning: false, message: `pid ${pid} cancelled` });
    expect(done.query).toBe("SELECT pg_sleep(60), '***'");
    expect(String(await result)).toMatch(/canceling statement due to user request/);
    expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    const [entry] = (await service.backendAudit('main')).filter((a) => a.pid === pid);
    expect(entry).toMatchObject({
      actor: 'ann',
      action: 'cancel',
      source: 'cli',
      outcome: 'done',
      query: "SELECT pg_sleep(60), '***'",
      message: `pid ${pid} cancelled (reason: blocking checkout)`,
    });
    expect(JSON.stringify(await service.backendAudit('main'))).not.toContain('hunter2');
  });

  it('terminates a session: it is gone from pg_stat_activity and audited', async () => {
    const { client, result } = await sleeping();
    const pid = pidOf(client);
    const done = await service.backendAction('main', {
      pid,
      action: 'terminate',
      actor: 'bob',
      confirm: true,
    });
    expect(done).toMatchObject({ signalled: true, stillRunning: false, message: `pid ${pid} terminated` });
    expect(String(await result)).toMatch(/terminating connection due to administrator command/);
    expect((await service.backends('main')).some((b) => b.pid === pid)).toBe(false);
    expect((await service.backendAudit('main'))[0]).toMatchObject({
      pid,
      action: 'terminate',
      outcome: 'done',
    });
  });

  it('an unknown pid is a 404 naming where to look, and audited', async () => {
    await expect(
      service.backendAction('main', { pid: 999_999, action: 'cancel', actor: 'ann', confirm: true }),
    ).rejects.toThrow(NotFoundError);
    expect((await service.backendAudit('main'))[0]).toMatchObject({ pid: 999_999, outcome: 'not_found' });
  });
});
