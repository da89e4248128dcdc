// One gate in front of every route: who is calling (session cookie or bearer token), whether their role
// may do this (http/access-policy.ts), CSRF for cookie sessions, and an audit entry for every mutation.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { matchedRoutes } from 'hono/route';
import type { AuditLog } from '../auth/audit-log.js';
import type { AuthService } from '../auth/auth.service.js';
import { atLeast, type Principal } from '../auth/principal.js';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { isMutating, requiredAccess, type Access } from './access-policy.js';
import { clientIp, setPrincipal } from './auth-context.js';

export const SESSION_COOKIE = 'opsbook_session';

export interface AuthDeps {
  /** Throws UnavailableError until the store is up. */
  auth(): AuthService;
  audit(): AuditLog;
}

export function authMiddleware(deps: AuthDeps): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    if (!path.startsWith('/api/')) return next();
    const access = requiredAccess(method, path);
    const auth = deps.auth();
    const ip = clientIp(c, auth.settings.trustProxy);
    const principal = await identify(c, auth);
    if (principal) setPrincipal(c, principal);
    const mutating = isMutating(method);
    if (access !== 'public') {
      const refusal = refuse(access, principal, mutating, c, auth);
      if (refusal) {
        if (mutating)
          await deps.audit().record({
            actor: principal?.username ?? 'anonymous',
            action: `${method} ${path}`,
            target: path,
            outcome: 'denied',
            status: refusal instanceof UnauthenticatedError ? 401 : 403,
            ip,
            detail: { reason: refusal.message },
          });
        throw refusal;
      }
    } else if (mutating && crossSite(c)) {
      // Login CSRF: a foreign page must not sign a browser into someone else's account.
      throw new ForbiddenError('cross-site sign-in requests are refused', 'csrf_failed');
    }
    await next();
    // Sign-in and sign-out are audited by the auth service; intake is data, not an action.
    if (!mutating || access === 'public' || (access === 'intake' && principal?.tokenKind === 'intake'))
      return;
    const routes = matchedRoutes(c);
    const route = routes[c.req.routeIndex]?.path ?? path;
    await deps.audit().record({
      actor: principal!.username,
      action: `${method} ${route.replace(/^\/api\/v1\/?/, '/api/v1/').replace(/\{(\w+)\}/g, ':$1')}`,
      target: path,
      outcome: c.res.status < 400 ? 'success' : 'failure',
      status: c.res.status,
      ip,
      detail: principal!.via === 'token' ? { via: 'token', tokenKind: principal!.tokenKind } : {},
    });
  };
}

/** The caller of a request from its bearer token or session cookie; throws for an unknown token. */
export async function identify(c: Context, auth: AuthService): Promise<Principal | undefined> {
  const header = c.req.header('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match ? await auth.fromBearer(match[1]!) : undefined;
    if (!principal)
      throw new UnauthenticatedError(
        'the bearer token is unknown, revoked or expired; create a new one with `opsbook login` or an admin',
        'invalid_token',
      );
    return principal;
  }
  const session = getCookie(c, SESSION_COOKIE);
  return session ? auth.fromSession(session) : undefined;
}

function refuse(
  access: Exclude<Access, 'public'>,
  principal: Principal | undefined,
  mutating: boolean,
  c: Context,
  auth: AuthService,
): Error | undefined {
  if (!principal)
    return new UnauthenticatedError(
      'sign in first (the console), or send Authorization: Bearer <token> (`opsbook login` saves one for the CLI)',
    );
  if (principal.tokenKind === 'intake' && access !== 'intake')
    return new ForbiddenError('an intake token only reaches the alert and metric intake routes');
  if (access === 'intake' && principal.tokenKind !== 'intake' && !atLeast(principal.role, 'responder'))
    return new ForbiddenError(
      `sending alerts or metrics needs an intake token or the responder role; you are ${principal.role}`,
    );
  if (access !== 'self' && access !== 'intake' && !atLeast(principal.role, access))
    return new ForbiddenError(`this needs the ${access} role; you are ${principal.role}`);
  if (mutating && principal.via === 'session' && !auth.csrfMatches(principal, c.req.header('x-csrf-token')))
    return new ForbiddenError(
      'missing or wrong x-csrf-token header; reload the page (the console sends it from GET /api/v1/auth/session)',
      'csrf_failed',
    );
  return undefined;
}

function crossSite(c: Context): boolean {
  if (c.req.header('sec-fetch-site') === 'cross-site') return true;
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return origin === 'null';
  const host = c.req.header('x-forwarded-host') ?? c.req.header('host');
  try {
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}
