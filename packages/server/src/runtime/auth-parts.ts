// Access control's parts, built once the store is up: users, sessions, tokens and the audit log.
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../storage/db.js';
import { AuthRepository } from '../storage/auth.repository.js';
import { AuditLog } from '../auth/audit-log.js';
import { AuthService } from '../auth/auth.service.js';
import type { AuthConfig } from '../auth/auth.schema.js';
import { ensureFirstAdmin, envTokens } from '../auth/bootstrap.js';
import { TokenService } from '../auth/token.service.js';
import { UserService } from '../auth/user.service.js';

export interface AuthParts {
  auth: AuthService;
  users: UserService;
  audit: AuditLog;
}

export async function startAuth(
  store: Store,
  config: AuthConfig,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  logger: Logger,
): Promise<AuthParts> {
  const repo = new AuthRepository(store);
  const audit = new AuditLog(repo);
  const users = new UserService(repo);
  const tokens = new TokenService(repo, (id) => users.account(id));
  const auth = new AuthService(repo, tokens, audit, config);
  provisionTokens(auth, config, env);
  // Beside the SQLite file (./data/ in the quick start), else beside the config file.
  const dataDir = store.engine === 'sqlite' ? dirname(resolve(store.location)) : baseDir;
  await ensureFirstAdmin(users, env, resolve(dataDir, 'initial-admin-password'), logger);
  return { auth, users, audit };
}

/** Config tokens and OPSBOOK_ADMIN_TOKEN; called again on every reload. */
export function provisionTokens(auth: AuthService, config: AuthConfig, env: NodeJS.ProcessEnv): void {
  auth.reconfigure(config);
  auth.tokens.provision([...config.tokens, ...envTokens(env)]);
}
