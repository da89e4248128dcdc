// Sign-in, lockout, sessions, tokens and the audit log on both engines, with a clock the test moves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { AuthRepository } from '../storage/auth.repository.js';
import { AuditLog } from './audit-log.js';
import { AuthService, GENERIC_FAILURE } from './auth.service.js';
import { authSchema } from './auth.schema.js';
import { hashPassword, verifyPassword } from './password.js';
import { TokenService } from './token.service.js';
import { UserService } from './user.service.js';
import { approverRoles, type Principal } from './principal.js';

const MINUTE = 60_000;

describe.each(ENGINES)('access control on %s', (engine) => {
  let t: TestStore;
  let clock = Date.parse('2026-11-26T09:00:00Z');
  const now = () => clock;
  let users: UserService;
  let auth: AuthService;
  let audit: AuditLog;

  beforeAll(async () => {
    t = await openTestStore(engine);
    const repo = new AuthRepository(t.store);
    audit = new AuditLog(repo, now);
    users = new UserService(repo, now);
    const tokens = new TokenService(repo, (id) => users.account(id), now);
    auth = new AuthService(repo, tokens, audit, authSchema.parse({}), now);
    tokens.provision([
      { name: 'ci', kind: 'api', role: 'responder', secret: 'a-config-token-of-enough-length' },
    ]);
  });

  afterAll(async () => {
    await t.cleanup();
  });

  it('hashes passwords with scrypt and a salt, and verifies them', async () => {
    const first = await hashPassword('correct horse battery');
    const second = await hashPassword('correct horse battery');
    expect(first).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(first).not.toBe(second);
    expect(await verifyPassword('correct horse battery', first)).toBe(true);
    expect(await verifyPassword('correct horse batterY', first)).toBe(false);
  });

  it('signs in, opens a session that ends after the idle timeout, and audits both outcomes', async () => {
    const ada = await users.create({ username: 'ada', role: 'responder', password: 'ada-password-1' });
    const { sessionId, principal } = await auth.signIn('ada', 'ada-password-1', '10.0.0.1');
    expect(principal).toMatchObject({ userId: ada.id, username: 'ada', role: 'responder', via: 'session' });
    expect(principal.csrfToken).toHaveLength(32);
    expect((await auth.fromSession(sessionId))?.username).toBe('ada');
    clock += 2 * 60 * MINUTE + 1; // idle timeout: 2 h
    expect(await auth.fromSession(sessionId)).toBeUndefined();
    await expect(auth.signIn('ada', 'wrong-password', '10.0.0.1')).rejects.toThrow(GENERIC_FAILURE);
    await expect(auth.signIn('nobody', 'wrong-password', '10.0.0.1')).rejects.toThrow(GENERIC_FAILURE);
    const log = await audit.list({ limit: 10, action: 'auth.sign-in' });
    expect(log.items.map((e) => [e.actor, e.outcome, e.detail.reason ?? null])).toEqual([
      ['unknown user (n…, 6 characters)', 'failure', 'unknown user'],
      ['ada', 'failure', 'wrong password'],
      ['ada', 'success', null],
    ]);
    expect(log.failedSignIns24h).toBe(2);
  });

  it('ends a session at its maximum age even while it is used', async () => {
    const { sessionId } = await auth.signIn('ada', 'ada-password-1', null);
    for (let hour = 0; hour < 12; hour++) {
      clock += 59 * MINUTE;
      expect(await auth.fromSession(sessionId)).toBeDefined();
    }
    clock += 12 * MINUTE;
    expect(await auth.fromSession(sessionId)).toBeUndefined();
  });

  it('locks an account after 5 failures in 15 minutes, for 15 minutes; an admin can unlock it', async () => {
    const bob = await users.create({ username: 'bob', role: 'viewer', password: 'bob-password-12' });
    clock += MINUTE;
    for (let i = 0; i < 4; i++)
      await expect(auth.signIn('bob', `guess-${i}`, `10.0.1.${i}`)).rejects.toMatchObject({
        code: 'sign_in_failed',
      });
    await expect(auth.signIn('bob', 'guess-5', '10.0.1.9')).rejects.toMatchObject({ code: 'locked_out' });
    // Locked: even the right password is refused, with when to retry.
    await expect(auth.signIn('bob', 'bob-password-12', '10.0.1.9')).rejects.toMatchObject({
      code: 'locked_out',
      retryAfterMs: 15 * MINUTE,
    });
    expect((await users.get(bob.id)).lockedUntil).toBe(clock + 15 * MINUTE);
    clock += 15 * MINUTE;
    await expect(auth.signIn('bob', 'bob-password-12', null)).resolves.toBeDefined();
    // Failures spread beyond the window do not add up.
    for (let i = 0; i < 8; i++) {
      clock += 4 * MINUTE;
      await expect(auth.signIn('bob', 'nope', null)).rejects.toMatchObject({ code: 'sign_in_failed' });
    }
    for (let i = 0; i < 5; i++) await auth.signIn('bob', 'nope', null).catch(() => undefined);
    await expect(auth.signIn('bob', 'bob-password-12', null)).rejects.toMatchObject({ code: 'locked_out' });
    await users.update(bob.id, { unlock: true });
    await expect(auth.signIn('bob', 'bob-password-12', null)).resolves.toBeDefined();
    expect((await audit.list({ limit: 5, action: 'auth.locked' })).items).toHaveLength(2);
  });

  it('counts parallel guesses one by one, and locks unknown names like real ones', async () => {
    const eve = await users.create({ username: 'eve', role: 'viewer', password: 'eve-password-123' });
    clock += 60 * MINUTE;
    const guesses = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => auth.signIn('eve', `guess-${i}`, `10.7.0.${i}`)),
    );
    const codes = guesses.map((g) => (g.status === 'rejected' ? (g.reason as { code: string }).code : 'ok'));
    expect(codes.filter((c) => c === 'sign_in_failed')).toHaveLength(4);
    expect(codes.filter((c) => c === 'locked_out')).toHaveLength(4);
    expect((await users.get(eve.id)).lockedUntil).toBeGreaterThan(clock);
    // The same answers for a name that is no user: they do not tell which usernames exist.
    const ghost: string[] = [];
    for (let i = 0; i < 6; i++)
      ghost.push(
        await auth.signIn('mallory', 'x', `10.7.1.${i}`).then(
          () => 'ok',
          (e: { code: string }) => e.code,
        ),
      );
    expect(ghost).toEqual([...Array(4).fill('sign_in_failed'), 'locked_out', 'locked_out']);
  });

  it('limits sign-in attempts per address, whatever the account', async () => {
    clock = Math.ceil(clock / MINUTE) * MINUTE + 1_000;
    for (let i = 0; i < 20; i++) await auth.signIn(`ghost${i}`, 'x', '10.9.9.9').catch(() => undefined);
    await expect(auth.signIn('ada', 'ada-password-1', '10.9.9.9')).rejects.toMatchObject({
      code: 'rate_limited',
    });
    await expect(auth.signIn('ada', 'ada-password-1', '10.9.9.8')).resolves.toBeDefined();
    clock += MINUTE;
    await expect(auth.signIn('ada', 'ada-password-1', '10.9.9.9')).resolves.toBeDefined();
  });

  it('refuses disabled users and ends their sessions; never disables or demotes the last admin', async () => {
    const root = await users.create({ username: 'root', role: 'admin', password: 'root-password-1' });
    const carl = await users.create({ username: 'carl', role: 'responder', password: 'carl-password-1' });
    const { sessionId } = await auth.signIn('carl', 'carl-password-1', null);
    await users.update(carl.id, { disabled: true });
    expect(await auth.fromSession(sessionId)).toBeUndefined();
    await expect(auth.signIn('carl', 'carl-password-1', null)).rejects.toThrow(GENERIC_FAILURE);
    await expect(users.update(root.id, { role: 'viewer' })).rejects.toThrow(/last enabled admin/);
    await expect(users.remove(root.id)).rejects.toThrow(/last enabled admin/);
    await expect(
      users.create({ username: 'carl', role: 'viewer', password: 'whatever-123' }),
    ).rejects.toThrow(/already exists/);
  });

  it('resolves personal tokens as their owner, capped at the owner’s role; revoked and expired ones fail', async () => {
    const dana = await users.create({ username: 'dana', role: 'admin', password: 'dana-password-1' });
    const { principal } = await auth.signIn('dana', 'dana-password-1', null);
    const made = await auth.tokens.create(principal, {
      name: 'laptop',
      kind: 'api',
      personal: true,
      expiresInDays: 1,
    });
    expect(made.secret).toMatch(/^opsb_/);
    expect(made.token).toMatchObject({ owner: 'dana', role: 'admin', prefix: made.secret.slice(0, 11) });
    expect(await auth.fromBearer(made.secret)).toMatchObject({
      userId: dana.id,
      username: 'dana',
      role: 'admin',
    });
    await users.update(dana.id, { role: 'responder' });
    expect((await auth.fromBearer(made.secret))?.role).toBe('responder');
    clock += 24 * 60 * MINUTE;
    expect(await auth.fromBearer(made.secret)).toBeUndefined();
    const second = await auth.tokens.create(principal, { name: 'ci', kind: 'api', personal: true });
    await auth.tokens.revoke(principal, second.token.id);
    expect(await auth.fromBearer(second.secret)).toBeUndefined();
    expect(await auth.fromBearer('opsb_made-up')).toBeUndefined();
  });

  it('revokes personal tokens on a password reset, and never lets a token mint a longer-lived one', async () => {
    const fay = await users.create({ username: 'fay', role: 'responder', password: 'fay-password-12' });
    const { principal } = await auth.signIn('fay', 'fay-password-12', null);
    const short = await auth.tokens.create(principal, {
      name: 'short',
      kind: 'api',
      personal: true,
      expiresInDays: 1,
    });
    const viaToken = (await auth.fromBearer(short.secret))!;
    const minted = await auth.tokens.create(viaToken, { name: 'minted', kind: 'api', personal: true });
    expect(minted.token.expiresAt).toBe(short.token.expiresAt);
    await users.update(fay.id, { password: 'reset-by-an-admin' });
    expect(await auth.fromBearer(short.secret)).toBeUndefined();
    expect(await auth.fromBearer(minted.secret)).toBeUndefined();
  });

  it('never lets a group named like a role act as that role in approvals', () => {
    const principal = { role: 'responder', groups: ['admin', 'dba'] } as Principal;
    expect(approverRoles(principal)).toEqual(['responder', 'dba']);
  });

  it('makes integration and intake tokens only for admins; config tokens resolve from memory', async () => {
    const { principal: admin } = await auth.signIn('root', 'root-password-1', null);
    const { principal: ada } = await auth.signIn('ada', 'ada-password-1', null);
    await expect(
      auth.tokens.create(ada, { name: 'am', kind: 'intake', personal: false }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      auth.tokens.create(ada, { name: 'x', kind: 'api', role: 'admin', personal: true }),
    ).rejects.toThrow(/above yours/);
    const intake = await auth.tokens.create(admin, {
      name: 'alertmanager',
      kind: 'intake',
      role: 'responder',
      personal: false,
    });
    expect(await auth.fromBearer(intake.secret)).toMatchObject({
      userId: null,
      username: 'token:alertmanager',
      tokenKind: 'intake',
    });
    expect(await auth.fromBearer('a-config-token-of-enough-length')).toMatchObject({
      username: 'token:ci',
      role: 'responder',
    });
    const listed = await auth.tokens.list(admin);
    expect(listed.map((t) => `${t.source}:${t.name}`)).toEqual(
      expect.arrayContaining(['config:ci', 'store:alertmanager']),
    );
    expect(JSON.stringify(listed)).not.toContain(intake.secret);
    expect((await auth.tokens.list(ada)).every((t) => t.owner === 'ada')).toBe(true);
  });

  it('keeps the audit log for its retention and pages it newest first', async () => {
    const all = await audit.list({ limit: 3 });
    expect(all.items).toHaveLength(3);
    expect(all.items[0]!.id).toBeGreaterThan(all.items[2]!.id);
    const next = await audit.list({ limit: 3, beforeId: Number(all.nextCursor) });
    expect(next.items[0]!.id).toBeLessThan(all.items[2]!.id);
    clock += 366 * 24 * 60 * MINUTE;
    await audit.record({ actor: 'ada', action: 'POST /api/v1/silences', outcome: 'success' });
    expect(await audit.purge(365 * 24 * 60 * MINUTE)).toBeGreaterThan(10);
    expect((await audit.list({ limit: 100 })).items.map((e) => e.action)).toEqual(['POST /api/v1/silences']);
  });
});
