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
import { OidcSignIn } from '../auth/oidc.js';

export interface AuthParts {
  auth: AuthService;
  users: UserService;
  audit: AuditLog;
  /** Single sign-on when auth.oidc is configured; replaced when a reload changes it. */
  oidc: OidcSignIn | undefined;
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
  auth.tokens.provision([...config.tokens, ...envTokens(env)]);
  // Beside the SQLite file (./data/ in the quick start), else beside the config file.
  const dataDir = store.engine === 'sqlite' ? dirname(resolve(store.location)) : baseDir;
  await ensureFirstAdmin(users, env, resolve(dataDir, 'initial-admin-password'), logger, audit);
  return { auth, users, audit, oidc: config.oidc && new OidcSignIn(config.oidc, { baseDir }) };
}

/**
 * Settings, config tokens, OPSBOOK_ADMIN_TOKEN and single sign-on again, on every reload. The new
 * single sign-on is built first: if it cannot be (an unreadable secret file), nothing changes.
 */
export function reconfigureAuth(
  parts: AuthParts,
  config: AuthConfig,
  env: NodeJS.ProcessEnv,
  baseDir: string,
): void {
  const changed = JSON.stringify(config.oidc) !== JSON.stringify(parts.oidc?.config);
  const oidc = changed ? config.oidc && new OidcSignIn(config.oidc, { baseDir }) : parts.oidc;
  const tokens = [...config.tokens, ...envTokens(env)];
  parts.auth.reconfigure(config);
  parts.auth.tokens.provision(tokens);
  parts.oidc = oidc;
}
