// The first admin at first start: from the env, or a generated password in a 0600 file that is never
// logged and is removed once the password was changed.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openTestStore, type TestStore } from '../../../../test/engines.js';
import { AuthRepository } from '../storage/auth.repository.js';
import { ensureFirstAdmin, envTokens } from './bootstrap.js';
import { UserService } from './user.service.js';

describe('the first admin', () => {
  let t: TestStore;
  let dir: string;
  let users: UserService;
  let logged: string;
  const logger = () =>
    pino(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logged += chunk.toString();
          done();
        },
      }),
    );

  beforeEach(async () => {
    t = await openTestStore('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'opsbook-bootstrap-'));
    users = new UserService(new AuthRepository(t.store));
    logged = '';
  });
  afterEach(async () => {
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the password from OPSBOOK_ADMIN_PASSWORD_FILE, once, and refuses a short one', async () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'from-a-kubernetes-secret\n');
    await ensureFirstAdmin(
      users,
      { OPSBOOK_ADMIN_PASSWORD_FILE: secret, OPSBOOK_ADMIN_USER: 'root' },
      join(dir, 'pw'),
      logger(),
    );
    expect((await users.list()).map((u) => [u.username, u.role])).toEqual([['root', 'admin']]);
    expect(await users.passwordMatches('root', 'from-a-kubernetes-secret')).toBe(true);
    expect(existsSync(join(dir, 'pw'))).toBe(false);
    await ensureFirstAdmin(users, { OPSBOOK_ADMIN_PASSWORD: 'another-password' }, join(dir, 'pw'), logger());
    expect(await users.list()).toHaveLength(1);
    const other = await openTestStore('sqlite');
    const fresh = new UserService(new AuthRepository(other.store));
    await expect(
      ensureFirstAdmin(fresh, { OPSBOOK_ADMIN_PASSWORD: 'short' }, join(dir, 'pw'), logger()),
    ).rejects.toThrow('OPSBOOK_ADMIN_PASSWORD needs at least 12 characters');
  });

  it('generates a password into a 0600 file, logs where but never the password, removes the file once changed', async () => {
    const file = join(dir, 'data', 'initial-admin-password');
    await ensureFirstAdmin(users, {}, file, logger());
    const password = readFileSync(file, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(logged).toContain(file);
    expect(logged).not.toContain(password);
    expect(await users.passwordMatches('admin', password)).toBe(true);
    await ensureFirstAdmin(users, {}, file, logger());
    expect(existsSync(file)).toBe(true);
    const admin = (await users.list())[0]!;
    await users.update(admin.id, { password: 'a-new-admin-password' });
    await ensureFirstAdmin(users, {}, file, logger());
    expect(existsSync(file)).toBe(false);
  });

  it('gives an admin integration token from OPSBOOK_ADMIN_TOKEN, refusing a short one', () => {
    expect(envTokens({})).toEqual([]);
    expect(envTokens({ OPSBOOK_ADMIN_TOKEN: 'x'.repeat(30) })).toEqual([
      { name: 'env-admin', kind: 'api', role: 'admin', secret: 'x'.repeat(30) },
    ]);
    expect(() => envTokens({ OPSBOOK_ADMIN_TOKEN: 'short' })).toThrow('at least 24 characters');
  });
});
