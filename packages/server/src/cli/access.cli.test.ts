// The CLI's access commands against a running Opsbook: an admin adds a user, the user logs the CLI in
// (a personal token saved 0600), acts as themselves, logs out (the token is revoked); the first admin
// can be created offline.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { runCli } from '../../../../test/cli-runner.js';
import { Opsbook } from '../runtime/opsbook.js';

describe('opsbook login, users, tokens and audit', () => {
  let dir: string;
  let opsbook: Opsbook;
  let home: string;
  const admin = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli([...args, '--url', opsbook.url], env);
  // As the user who logged in: no OPSBOOK_TOKEN, the saved credentials in a private config dir.
  const asUser = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli([...args, '--url', opsbook.url], { OPSBOOK_TOKEN: '', XDG_CONFIG_HOME: home, ...env });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbook-access-cli-'));
    home = join(dir, 'config');
    writeFileSync(
      join(dir, 'opsbook.yaml'),
      `
storage: { url: "sqlite:${join(dir, 'ops.db')}" }
alerting: { defaultRules: false }
services:
  - name: shop
    owner: team-shop
    checks:
      - { name: port, initialDelaySeconds: 0, periodSeconds: 60, tcp: { host: 127.0.0.1, port: 9 } }
`,
    );
    opsbook = new Opsbook({
      configFile: join(dir, 'opsbook.yaml'),
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    await opsbook.start();
    await opsbook.ready();
  });

  afterAll(async () => {
    await opsbook.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a user and refuses a short password naming the field', async () => {
    const short = await admin(['users', 'add', 'rita', '--role', 'responder'], {
      OPSBOOK_NEW_PASSWORD: 'short',
    });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('password: use at least 12 characters');
    const added = await admin(['users', 'add', 'rita', '--role', 'responder', '--groups', 'dba', '--json'], {
      OPSBOOK_NEW_PASSWORD: 'rita-password-1',
    });
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ username: 'rita', role: 'responder', groups: ['dba'] });
    const list = await admin(['users', 'list']);
    expect(list.stdout).toMatch(/rita\s+responder\s+dba\s+active/);
  });

  it('logs the CLI in with a saved personal token, and records actions under the user', async () => {
    const anonymous = await asUser(['incidents', 'list']);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('Run `opsbook login`');
    const wrong = await asUser(['login', '--username', 'rita'], { OPSBOOK_PASSWORD: 'not-her-password' });
    expect(wrong.stderr).toContain('wrong username or password');
    const login = await asUser(['login', '--username', 'rita'], { OPSBOOK_PASSWORD: 'rita-password-1' });
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('as rita (responder)');
    expect(statSync(join(home, 'opsbook', 'credentials.json')).mode & 0o777).toBe(0o600);
    const who = JSON.parse((await asUser(['whoami', '--json'])).stdout);
    expect(who).toMatchObject({ user: { username: 'rita', role: 'responder' }, via: 'token' });
    // --as is ignored for a user's own token: the server records who really acted.
    const opened = await asUser([
      'incidents',
      'open',
      '--title',
      'Checkout slow',
      '--severity',
      'SEV3',
      '--as',
      'someone-else',
      '--json',
    ]);
    expect(opened.code).toBe(0);
    expect(JSON.parse(opened.stdout).createdBy).toBe('rita');
    // A responder cannot manage users.
    const users = await asUser(['users', 'list']);
    expect(users.stderr).toContain('needs the admin role; you are responder');
  });

  it('shows the audit log and revokes the token on logout', async () => {
    const audit = await asUser(['audit', '--json']);
    const entries = JSON.parse(audit.stdout).items as { actor: string; action: string }[];
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'rita', action: 'POST /api/v1/incidents' }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ actor: 'rita', action: 'auth.sign-in' }));
    const tokens = JSON.parse((await admin(['tokens', 'list', '--json'])).stdout).items as {
      owner: string;
    }[];
    expect(tokens.filter((t) => t.owner === 'rita')).toHaveLength(1);
    expect((await asUser(['logout'])).code).toBe(0);
    const after = JSON.parse((await admin(['tokens', 'list', '--json'])).stdout).items as { owner: string }[];
    expect(after.filter((t) => t.owner === 'rita')).toHaveLength(0);
  });

  it('creates an integration intake token whose secret is shown once', async () => {
    const made = await admin(['tokens', 'create', 'alertmanager', '--kind', 'intake', '--json']);
    const body = JSON.parse(made.stdout);
    expect(body.token).toMatchObject({ name: 'alertmanager', kind: 'intake', owner: null });
    expect(body.secret).toMatch(/^opsb_/);
    expect((await admin(['tokens', 'list'])).stdout).not.toContain(body.secret);
  });

  it('creates the first admin offline, straight into a new store', async () => {
    const other = join(dir, 'fresh.yaml');
    writeFileSync(other, `storage: { url: "sqlite:${join(dir, 'fresh.db')}" }\nservices: []\n`);
    const created = await runCli(['users', 'create-admin', '-c', other, '--username', 'root', '--json'], {
      OPSBOOK_ADMIN_PASSWORD: 'root-password-12',
    });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ username: 'root', role: 'admin' });
    const again = await runCli(['users', 'create-admin', '-c', other, '--username', 'root'], {
      OPSBOOK_ADMIN_PASSWORD: 'root-password-12',
    });
    expect(again.stderr).toContain('a user named root already exists');
  });
});
