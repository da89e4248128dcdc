// The first admin, at a start with no users: from OPSBOOK_ADMIN_PASSWORD(_FILE), else a generated
// password written to a file only the owner can read (Jenkins's initialAdminPassword). Never logged.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { ProvisionedToken } from './token.service.js';
import type { UserService } from './user.service.js';
import type { AuditLog } from './audit-log.js';
import { randomSecret } from './secret.js';

/** A value from VAR, or from the file VAR_FILE names (Docker and Kubernetes secrets). */
export function envSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const direct = env[name];
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new Error(`${name}_FILE=${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

export async function ensureFirstAdmin(
  users: UserService,
  env: NodeJS.ProcessEnv,
  passwordFile: string,
  logger: Logger,
  audit?: AuditLog,
): Promise<void> {
  const username = env.OPSBOOK_ADMIN_USER || 'admin';
  if ((await users.list()).length > 0) {
    // Once the generated password was changed, the file only misleads: remove it.
    if (
      existsSync(passwordFile) &&
      !(await users.passwordMatches(username, readFileSync(passwordFile, 'utf8').trim()))
    ) {
      rmSync(passwordFile, { force: true });
      logger.info({ passwordFile }, 'removed the generated admin password file: the password was changed');
    }
    return;
  }
  const given = envSecret(env, 'OPSBOOK_ADMIN_PASSWORD');
  if (given !== undefined && given.length < 12)
    throw new Error('OPSBOOK_ADMIN_PASSWORD needs at least 12 characters');
  const password = given ?? randomSecret(18);
  await users.create({ username, role: 'admin', password, name: 'Administrator' });
  await audit?.record({
    actor: 'opsbook',
    action: 'auth.admin-created',
    target: username,
    outcome: 'success',
    detail: { from: given === undefined ? 'generated password file' : 'OPSBOOK_ADMIN_PASSWORD' },
  });
  if (given !== undefined) {
    logger.info({ username }, 'created the first admin from OPSBOOK_ADMIN_PASSWORD');
    return;
  }
  mkdirSync(dirname(passwordFile), { recursive: true });
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  logger.warn(
    { username, passwordFile },
    `no users yet: created admin "${username}"; its password is in ${passwordFile}. Sign in, then change it (or set OPSBOOK_ADMIN_PASSWORD before the first start)`,
  );
}

/** OPSBOOK_ADMIN_TOKEN(_FILE): an admin integration token for automation that starts with the instance. */
export function envTokens(env: NodeJS.ProcessEnv): ProvisionedToken[] {
  const secret = envSecret(env, 'OPSBOOK_ADMIN_TOKEN');
  if (secret === undefined) return [];
  if (secret.length < 24) throw new Error('OPSBOOK_ADMIN_TOKEN needs at least 24 characters');
  return [{ name: 'env-admin', kind: 'api', role: 'admin', secret }];
}
