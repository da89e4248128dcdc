// Signing the CLI in (a personal token saved per server), users, tokens and the audit log.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { AuditEntry, CreatedToken, SessionView, TokenView, UserView } from '@opsbook/contracts';
import pc from 'picocolors';
import { api, apiUrl, postJson } from './api-client.js';
import { credentialsFile, saveLogin, savedLogin } from './credentials.js';
import { fail, printJson, printList, timestamp } from './output.js';

interface Common {
  url?: string;
  json?: boolean;
}

async function run(options: Common, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, options.json);
  }
}

function withUrl(command: Command): Command {
  return command
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON');
}

/** A password from stdin (--password-stdin), an env variable, or typed at a prompt that does not echo. */
async function readPassword(
  options: { passwordStdin?: boolean },
  envName: string,
  prompt: string,
): Promise<string> {
  if (options.passwordStdin) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY)
    throw new Error(`no terminal to ask for the password: pipe it with --password-stdin or set ${envName}`);
  return hiddenPrompt(prompt);
}

function hiddenPrompt(prompt: string): Promise<string> {
  return new Promise((done, failed) => {
    const input = process.stdin;
    process.stderr.write(prompt);
    let value = '';
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          cleanup();
          process.stderr.write('\n');
          return done(value);
        }
        if (char === '\u0003') {
          cleanup();
          return failed(new Error('cancelled'));
        }
        value = char === '\u007f' ? value.slice(0, -1) : value + char;
      }
    };
    const cleanup = () => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
    };
    input.on('data', onData);
  });
}

function userRow(u: UserView): string[] {
  const locked = u.lockedUntil !== null && u.lockedUntil > Date.now();
  const state = u.disabled ? pc.red('disabled') : locked ? pc.yellow('locked') : pc.green('active');
  return [u.username, u.role, u.groups.join(',') || '-', state, u.source, timestamp(u.lastSignInAt)];
}

async function userId(base: string, username: string): Promise<string> {
  const users = await api<{ items: UserView[] }>(base, '/api/v1/users');
  const user = users.items.find((u) => u.username === username);
  if (!user) throw new Error(`no user ${username}; see \`opsbook users list\``);
  return user.id;
}

function patch<T>(base: string, path: string, body: unknown): Promise<T> {
  return api<T>(base, path, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function registerAccessCommands(program: Command): void {
  withUrl(
    program
      .command('login')
      .description('sign the CLI in: creates a personal API token and saves it for this server (0600 file)')
      .option('--username <name>', 'who signs in (default $OPSBOOK_USERNAME or your OS user)')
      .option('--password-stdin', 'read the password from stdin (else $OPSBOOK_PASSWORD, else a prompt)')
      .option('--expires-in-days <n>', 'token lifetime', '90'),
  ).action((options: Common & { username?: string; passwordStdin?: boolean; expiresInDays: string }) =>
    run(options, async () => {
      const base = apiUrl(options.url);
      const username = options.username ?? process.env.OPSBOOK_USERNAME ?? process.env.USER ?? 'admin';
      const password = await readPassword(
        options,
        'OPSBOOK_PASSWORD',
        `Password for ${username} at ${base}: `,
      );
      const response = await fetch(`${base}/api/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      }).catch(() => {
        throw new Error(`cannot reach Opsbook at ${base}; is it running? Set --url or OPSBOOK_URL`);
      });
      const body = (await response.json()) as SessionView & { error?: { message: string } };
      if (!response.ok) throw new Error(body.error?.message ?? `sign-in answered ${response.status}`);
      const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
      const created = await fetch(`${base}/api/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': body.csrfToken ?? '' },
        body: JSON.stringify({
          name: `cli@${hostname()}`,
          personal: true,
          expiresInDays: Number(options.expiresInDays),
        }),
      });
      const token = (await created.json()) as CreatedToken & { error?: { message: string } };
      if (!created.ok)
        throw new Error(token.error?.message ?? `creating the token answered ${created.status}`);
      // The browser-style session is not needed any more: the token is what the CLI uses.
      await fetch(`${base}/api/v1/auth/sign-out`, { method: 'POST', headers: { cookie } });
      saveLogin(base, { token: token.secret, tokenId: token.token.id, username });
      if (options.json)
        printJson({ username, role: body.user.role, url: base, credentials: credentialsFile() });
      else
        process.stdout.write(
          `signed in to ${base} as ${username} (${body.user.role}); token saved in ${credentialsFile()}\n`,
        );
    }),
  );

  withUrl(
    program.command('logout').description('revoke the saved token for this server and forget it'),
  ).action((options: Common) =>
    run(options, async () => {
      const base = apiUrl(options.url);
      const saved = savedLogin(base);
      if (!saved) throw new Error(`not logged in to ${base}`);
      await api(base, `/api/v1/tokens/${saved.tokenId}`, { method: 'DELETE' }).catch(() => undefined);
      saveLogin(base, undefined);
      if (options.json) printJson({ loggedOut: base });
      else process.stdout.write(`logged out of ${base}\n`);
    }),
  );

  withUrl(program.command('whoami').description('who the CLI acts as, and with which role')).action(
    (options: Common) =>
      run(options, async () => {
        const session = await api<SessionView>(apiUrl(options.url), '/api/v1/auth/session');
        if (options.json) printJson(session);
        else
          process.stdout.write(
            `${session.user.username} (${session.user.role}${session.user.groups.length ? `; groups ${session.user.groups.join(', ')}` : ''}) via ${session.via}\n`,
          );
      }),
  );

  const users = program.command('users').description('users and their roles (admin)');
  withUrl(users.command('list').description('every user with role, groups and state')).action(
    (options: Common) =>
      run(options, async () => {
        const list = await api<{ items: UserView[] }>(apiUrl(options.url), '/api/v1/users');
        printList(
          options.json,
          list,
          list.items,
          'no users',
          ['USER', 'ROLE', 'GROUPS', 'STATE', 'SOURCE', 'LAST SIGN-IN'],
          userRow,
        );
      }),
  );
  withUrl(
    users
      .command('add <username>')
      .description(
        'create a user with a password (from stdin with --password-stdin, $OPSBOOK_NEW_PASSWORD, or a prompt)',
      )
      .requiredOption('--role <role>', 'viewer, responder or admin')
      .option('--name <name>', 'display name')
      .option('--groups <list>', 'comma-separated groups a runbook approval step can name (e.g. dba)')
      .option('--password-stdin', 'read the password from stdin'),
  ).action(
    (
      username: string,
      options: Common & { role: string; name?: string; groups?: string; passwordStdin?: boolean },
    ) =>
      run(options, async () => {
        const password = await readPassword(options, 'OPSBOOK_NEW_PASSWORD', `Password for ${username}: `);
        const user = await postJson<UserView>(apiUrl(options.url), '/api/v1/users', {
          username,
          role: options.role,
          name: options.name,
          password,
          groups:
            options.groups
              ?.split(',')
              .map((g) => g.trim())
              .filter(Boolean) ?? [],
        });
        if (options.json) printJson(user);
        else process.stdout.write(`created ${user.username} (${user.role})\n`);
      }),
  );
  const change = (
    name: string,
    description: string,
    body: (value?: string) => Record<string, unknown>,
    arg = '',
  ) =>
    withUrl(users.command(`${name} <username>${arg}`).description(description)).action(
      (username: string, valueOrOptions: string | Common, maybeOptions?: Common) => {
        const options = (typeof valueOrOptions === 'string' ? maybeOptions : valueOrOptions) ?? {};
        const value = typeof valueOrOptions === 'string' ? valueOrOptions : undefined;
        return run(options, async () => {
          const base = apiUrl(options.url);
          const user = await patch<UserView>(
            base,
            `/api/v1/users/${await userId(base, username)}`,
            body(value),
          );
          if (options.json) printJson(user);
          else process.stdout.write(`${userRow(user).join('  ')}\n`);
        });
      },
    );
  change('set-role', "change a user's role (their sessions end)", (role) => ({ role }), ' <role>');
  change(
    'set-groups',
    "set a user's groups (comma-separated)",
    (groups) => ({ groups: groups!.split(',').filter(Boolean) }),
    ' <groups>',
  );
  change('disable', 'disable a user: sessions end, tokens stop working', () => ({ disabled: true }));
  change('enable', 'enable a disabled user', () => ({ disabled: false }));
  change('unlock', 'clear a sign-in lockout', () => ({ unlock: true }));
  withUrl(
    users
      .command('reset-password <username>')
      .description("set a user's password (stdin with --password-stdin, $OPSBOOK_NEW_PASSWORD, or a prompt)")
      .option('--password-stdin', 'read the password from stdin'),
  ).action((username: string, options: Common & { passwordStdin?: boolean }) =>
    run(options, async () => {
      const base = apiUrl(options.url);
      const password = await readPassword(options, 'OPSBOOK_NEW_PASSWORD', `New password for ${username}: `);
      await patch(base, `/api/v1/users/${await userId(base, username)}`, { password });
      if (options.json) printJson({ username, passwordReset: true });
      else process.stdout.write(`password of ${username} reset; their sessions ended\n`);
    }),
  );
  withUrl(
    users.command('remove <username>').description('delete a user with their sessions and tokens'),
  ).action((username: string, options: Common) =>
    run(options, async () => {
      const base = apiUrl(options.url);
      await api(base, `/api/v1/users/${await userId(base, username)}`, { method: 'DELETE' });
      if (options.json) printJson({ removed: username });
      else process.stdout.write(`removed ${username}\n`);
    }),
  );
  users
    .command('create-admin')
    .description('create an admin directly in the store, before or without a running server (first start)')
    .requiredOption('-c, --config <file>', 'the opsbook.yaml whose store to use')
    .option('--username <name>', 'the admin', 'admin')
    .option('--password-stdin', 'read the password from stdin (else $OPSBOOK_ADMIN_PASSWORD, else a prompt)')
    .option('--json', 'print as JSON')
    .action((options: { config: string; username: string; passwordStdin?: boolean; json?: boolean }) =>
      run(options, async () => {
        const password = await readPassword(
          options,
          'OPSBOOK_ADMIN_PASSWORD',
          `Password for ${options.username}: `,
        );
        const { createAdminOffline } = await import('./create-admin.js');
        const user = await createAdminOffline(resolve(options.config), options.username, password);
        if (options.json) printJson(user);
        else
          process.stdout.write(
            `created admin ${user.username}; sign in at the console or with \`opsbook login\`\n`,
          );
      }),
    );

  const tokens = program
    .command('tokens')
    .description('API tokens: yours, or (admin) integration and intake tokens');
  withUrl(tokens.command('list').description('tokens (never their secrets)')).action((options: Common) =>
    run(options, async () => {
      const list = await api<{ items: TokenView[] }>(apiUrl(options.url), '/api/v1/tokens');
      printList(
        options.json,
        list,
        list.items,
        'no tokens',
        ['ID', 'NAME', 'KIND', 'ROLE', 'OWNER', 'PREFIX', 'LAST USED', 'EXPIRES'],
        (t) => [
          t.id,
          t.name,
          t.kind,
          t.role,
          t.owner ?? '(integration)',
          t.prefix,
          timestamp(t.lastUsedAt),
          timestamp(t.expiresAt),
        ],
      );
    }),
  );
  withUrl(
    tokens
      .command('create <name>')
      .description('create a token; its secret is printed once')
      .option(
        '--kind <kind>',
        'api or intake (intake: only POST /api/v2/alerts, the Alertmanager webhook, metrics)',
        'api',
      )
      .option('--role <role>', 'viewer, responder or admin (default: yours)')
      .option('--integration', 'acts as itself rather than as you (admin)')
      .option('--expires-in-days <n>', 'lifetime in days'),
  ).action(
    (
      name: string,
      options: Common & { kind: string; role?: string; integration?: boolean; expiresInDays?: string },
    ) =>
      run(options, async () => {
        const created = await postJson<CreatedToken>(apiUrl(options.url), '/api/v1/tokens', {
          name,
          kind: options.kind,
          role: options.role,
          personal: !(options.integration || options.kind === 'intake'),
          expiresInDays: options.expiresInDays === undefined ? undefined : Number(options.expiresInDays),
        });
        if (options.json) printJson(created);
        else
          process.stdout.write(
            `created ${created.token.kind} token ${created.token.name} (${created.token.role}); its secret, shown only now:\n${created.secret}\n`,
          );
      }),
  );
  withUrl(tokens.command('revoke <id>').description('revoke a token')).action((id: string, options: Common) =>
    run(options, async () => {
      await api(apiUrl(options.url), `/api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
      if (options.json) printJson({ revoked: id });
      else process.stdout.write(`revoked ${id}\n`);
    }),
  );

  withUrl(
    program
      .command('audit')
      .description('the audit log, newest first: sign-ins and every change (responder or admin)')
      .option('--actor <name>', 'only this user or token:<name>')
      .option('--action <action>', 'e.g. auth.sign-in')
      .option('--outcome <outcome>', 'success, failure or denied')
      .option('--limit <n>', 'entries', '50'),
  ).action((options: Common & { actor?: string; action?: string; outcome?: string; limit: string }) =>
    run(options, async () => {
      const query = new URLSearchParams({ limit: options.limit });
      for (const key of ['actor', 'action', 'outcome'] as const)
        if (options[key]) query.set(key, options[key]);
      const log = await api<{ items: AuditEntry[]; failedSignIns24h: number; lockedUsers: number }>(
        apiUrl(options.url),
        `/api/v1/audit?${query}`,
      );
      printList(
        options.json,
        log,
        log.items,
        'no entries',
        ['TIME', 'ACTOR', 'ACTION', 'OUTCOME', 'STATUS', 'FROM'],
        (e) => [
          timestamp(e.at),
          e.actor,
          e.action,
          e.outcome === 'success' ? e.outcome : pc.red(e.outcome),
          e.status === null ? '-' : String(e.status),
          e.ip ?? '-',
        ],
      );
      if (!options.json)
        process.stdout.write(
          `failed sign-ins in 24 h: ${log.failedSignIns24h}; locked users: ${log.lockedUsers}\n`,
        );
    }),
  );
}
