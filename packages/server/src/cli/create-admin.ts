// `opsbook users create-admin`: the store, opened as `serve` would, without starting anything else.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { UserView } from '@opsbook/contracts';
import { formatDiagnostic, loadConfigFile } from '../config/load.js';
import { openStore } from '../storage/db.js';
import { migrate } from '../storage/migrate.js';
import { AuthRepository } from '../storage/auth.repository.js';
import { UserService } from '../auth/user.service.js';
import { AuditLog } from '../auth/audit-log.js';
import { userInfo } from 'node:os';

export async function createAdminOffline(
  configFile: string,
  username: string,
  password: string,
): Promise<UserView> {
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const { storage } = loaded.config;
  if (password.length < 12) throw new Error('the password needs at least 12 characters');
  const store = await openStore({
    url: storage.url,
    password:
      storage.password ??
      (storage.passwordFile
        ? readFileSync(resolve(loaded.baseDir, storage.passwordFile), 'utf8').trim()
        : undefined),
  });
  try {
    await migrate(store);
    const repo = new AuthRepository(store);
    const user = await new UserService(repo).create({ username, role: 'admin', password, name: username });
    await new AuditLog(repo).record({
      actor: `${userInfo().username} (offline CLI)`,
      action: 'auth.admin-created',
      target: username,
      outcome: 'success',
      detail: { from: 'opsbook users create-admin' },
    });
    return user;
  } finally {
    await store.close();
  }
}
