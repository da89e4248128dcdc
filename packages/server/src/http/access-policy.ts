// Which role each route needs, in one table, so no route can forget its check. Reads need a viewer,
// everything that changes state a responder, users/tokens/restores an admin; the few exceptions are listed.
import type { Role } from '@opsbook/contracts';

/**
 * public: anyone (sign-in, the health probes, the console's files);
 * self: any signed-in user acting on their own account (password, their own tokens);
 * intake: an intake token, or a responder or admin.
 */
export type Access = 'public' | 'self' | 'intake' | Role;

const READ = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isMutating(method: string): boolean {
  return !READ.has(method.toUpperCase());
}

type Rule = [methods: 'read' | 'write' | 'any' | string[], path: RegExp, access: Access];

const RULES: Rule[] = [
  ['any', /^\/api\/openapi\.json$/, 'public'],
  [['GET'], /^\/api\/v1\/auth\/(providers|oidc\/start|oidc\/callback)$/, 'public'],
  [['POST'], /^\/api\/v1\/auth\/(sign-in|sign-out)$/, 'public'],
  [['POST'], /^\/api\/v1\/auth\/password$/, 'self'],
  ['any', /^\/api\/v1\/tokens(\/[^/]+)?$/, 'self'],
  [['POST'], /^\/api\/(v2\/alerts|v1\/intake\/alertmanager|v1\/metrics)$/, 'intake'],
  ['any', /^\/api\/v1\/users(\/|$)/, 'admin'],
  ['read', /^\/api\/v1\/audit$/, 'responder'],
  // Restores overwrite data and sessions end people's work: admins only.
  ['write', /^\/api\/v1\/(databases\/[^/]+\/pitr\/|pitr-restores\/)/, 'admin'],
  ['write', /^\/api\/v1\/(backups\/[^/]+\/restore|restores\/)/, 'admin'],
  ['write', /^\/api\/v1\/databases\/[^/]+\/backends\//, 'admin'],
];

export function requiredAccess(method: string, path: string): Access {
  // Health probes, /metrics and the console's static files: Kubernetes and the sign-in page need them.
  if (!path.startsWith('/api/')) return 'public';
  const upper = method.toUpperCase();
  for (const [methods, pattern, access] of RULES) {
    const methodMatches =
      methods === 'any' ||
      (methods === 'read' && !isMutating(upper)) ||
      (methods === 'write' && isMutating(upper)) ||
      (Array.isArray(methods) && methods.includes(upper));
    if (methodMatches && pattern.test(path)) return access;
  }
  return isMutating(upper) ? 'responder' : 'viewer';
}
