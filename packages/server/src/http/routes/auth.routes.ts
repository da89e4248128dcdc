import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import {
  AuthProviders,
  ChangePasswordRequest,
  ErrorBody,
  SessionView,
  SignInRequest,
} from '@opsbook/contracts';
import type { AuthService } from '../../auth/auth.service.js';
import type { OidcSignIn } from '../../auth/oidc.js';
import { NotFoundError, OpsbookError, UnauthenticatedError } from '../../errors.js';
import { newRouter } from '../app.js';
import { clientIp, principalOf } from '../auth-context.js';
import { SESSION_COOKIE, type AuthDeps } from '../auth.middleware.js';
import { json, standardErrors } from './responses.js';

export interface AuthRoutesDeps extends AuthDeps {
  /** Single sign-on, when auth.oidc is configured. */
  oidc(): OidcSignIn | undefined;
}

const FLOW_COOKIE = 'opsbook_oidc';
const FLOW_PATH = '/api/v1/auth/oidc';

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

export function secureCookie(c: Context, auth: AuthService): boolean {
  const setting = auth.settings.session.secureCookie;
  if (setting !== 'auto') return setting;
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

export function setSessionCookie(c: Context, auth: AuthService, sessionId: string): void {
  setCookie(c, SESSION_COOKIE, sessionId, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: secureCookie(c, auth),
    maxAge: Math.floor(auth.settings.session.maxAge / 1000),
  });
}

export function authRoutes(deps: AuthRoutesDeps) {
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/auth/providers',
      tags: ['access'],
      summary: 'How one can sign in (public): passwords, and single sign-on when configured',
      responses: { 200: json(AuthProviders, 'Sign-in methods') },
    }),
    (c) => {
      const label = deps.oidc()?.label;
      return c.json({ password: true, oidc: { enabled: label !== undefined, label: label ?? '' } }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/auth/sign-in',
      tags: ['access'],
      summary: 'Sign in with a username and password; sets the httpOnly session cookie',
      description:
        'A wrong username or password answers 401 with one generic message and counts towards the lockout (5 failures in 15 minutes lock the account for 15 minutes: 429 with Retry-After).',
      request: body(SignInRequest),
      responses: {
        200: json(SessionView, 'Signed in; keep csrfToken for the x-csrf-token header'),
        429: json(ErrorBody, 'Locked out or too many attempts'),
        ...standardErrors,
      },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const auth = deps.auth();
      const { sessionId, principal } = await auth.signIn(
        input.username,
        input.password,
        clientIp(c, auth.settings.trustProxy),
      );
      setSessionCookie(c, auth, sessionId);
      return c.json(auth.sessionView(principal), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/auth/sign-out',
      tags: ['access'],
      summary: 'End the session and clear its cookie',
      responses: { 204: { description: 'Signed out' } },
    }),
    async (c) => {
      const auth = deps.auth();
      await auth.signOut(principalOf(c), clientIp(c, auth.settings.trustProxy));
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/auth/session',
      tags: ['access'],
      summary: 'Who the caller is, their role, and the CSRF value for mutations',
      responses: { 200: json(SessionView, 'The caller'), ...standardErrors },
    }),
    (c) => {
      const principal = principalOf(c);
      if (!principal) throw new UnauthenticatedError('not signed in');
      return c.json(deps.auth().sessionView(principal), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/auth/password',
      tags: ['access'],
      summary: 'Change your own password (other sessions of yours end)',
      request: body(ChangePasswordRequest),
      responses: { 204: { description: 'Changed' }, ...standardErrors },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const auth = deps.auth();
      const principal = principalOf(c)!;
      await auth.changePassword(
        principal,
        input.current,
        input.password,
        clientIp(c, auth.settings.trustProxy),
      );
      return c.body(null, 204);
    },
  );

  const oidc = (): OidcSignIn => {
    const signIn = deps.oidc();
    if (!signIn)
      throw new NotFoundError('single sign-on is not configured (auth.oidc); sign in with a password');
    return signIn;
  };

  router.openapi(
    createRoute({
      method: 'get',
      path: '/auth/oidc/start',
      tags: ['access'],
      summary: 'Start single sign-on: redirects to the identity provider (authorization code flow with PKCE)',
      request: {
        query: z.object({ next: z.string().optional().describe('a path on this site to return to') }),
      },
      responses: { 302: { description: 'To the provider' }, ...standardErrors },
    }),
    async (c) => {
      const { url, cookie } = await oidc().start(c.req.valid('query').next);
      setCookie(c, FLOW_COOKIE, cookie, {
        httpOnly: true,
        // Lax: the provider's redirect back is a top-level navigation, which carries Lax cookies.
        sameSite: 'Lax',
        path: FLOW_PATH,
        secure: secureCookie(c, deps.auth()),
        maxAge: 600,
      });
      return c.redirect(url, 302);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/auth/oidc/callback',
      tags: ['access'],
      summary: 'Where the identity provider returns: signs the user in and redirects to where they were',
      responses: {
        302: { description: 'Signed in (to next) or refused (to the sign-in page with the reason)' },
      },
    }),
    async (c) => {
      const auth = deps.auth();
      const query = new URL(c.req.url).search.slice(1);
      const cookie = getCookie(c, FLOW_COOKIE);
      deleteCookie(c, FLOW_COOKIE, { path: FLOW_PATH });
      // A person in a browser lands here: failures show on the sign-in page, not as a JSON error.
      // Only our own messages reach the page; anything else (a database error) stays in the audit log.
      const shown = (error: unknown) =>
        error instanceof OpsbookError
          ? error.message
          : 'single sign-on failed on the Opsbook side; try again, or ask an admin to look at the audit log';
      const refused = (error: unknown) =>
        c.redirect(`/sign-in?error=${encodeURIComponent(shown(error))}`, 302);
      const ip = clientIp(c, auth.settings.trustProxy);
      let result: Awaited<ReturnType<OidcSignIn['finish']>>;
      try {
        result = await oidc().finish(query, cookie);
      } catch (error) {
        await deps.audit().record({
          actor: 'anonymous',
          action: 'auth.sign-in',
          outcome: 'failure',
          status: 302,
          ip,
          detail: { via: 'oidc', reason: (error as Error).message },
        });
        return refused(error);
      }
      try {
        // Audited by the service, success or failure.
        const { sessionId } = await auth.signInExternal(result.identity, result.role, ip);
        setSessionCookie(c, auth, sessionId);
        return c.redirect(result.next, 302);
      } catch (error) {
        if (!(error instanceof OpsbookError))
          await deps.audit().record({
            actor: result.identity.username,
            action: 'auth.sign-in',
            outcome: 'failure',
            status: 302,
            ip,
            detail: { via: 'oidc', reason: (error as Error).message },
          });
        return refused(error);
      }
    },
  );

  return router;
}
