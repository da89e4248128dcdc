// Paths that reach a shell: pgBackRest copies its config file, pg1-path and repository unquoted into
// the restore_command it writes, and PostgreSQL runs that (and archive_command) through sh. A path with
// `;`, `$`, a backtick or `|` would run commands as the cluster owner, so only plain characters pass.
import { isAbsolute, resolve } from 'node:path';
import { InputError } from '../errors.js';

const SAFE = /^[A-Za-z0-9._/-]+$/;

export const SAFE_PATH_RULE =
  'only letters, digits and . _ - / are allowed (no spaces, quotes, % or shell characters such as ; $ ` | & ( ), and no ".." segment): the path goes into archive_command and restore_command, which PostgreSQL runs through a shell';

/** Why `path` may not go into a shell command, or undefined when it may. */
export function unsafePathProblem(path: string): string | undefined {
  if (!SAFE.test(path) || path.split('/').includes('..')) return `"${path}": ${SAFE_PATH_RULE}`;
  return undefined;
}

/** A path from the API: absolute, plain, and returned as resolve() gives it, so overlap checks compare one spelling. */
export function safeAbsolutePath(path: string, field: string): string {
  if (!isAbsolute(path)) throw new InputError(`${field} must be an absolute path, not "${path}"`, field);
  const resolved = resolve(path);
  const problem = unsafePathProblem(path) ?? unsafePathProblem(resolved);
  if (problem) throw new InputError(`${field} ${problem}`, field);
  return resolved;
}
