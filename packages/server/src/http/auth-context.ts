// The caller of a request, set once by the access middleware and read by routes that record who acted.
import type { Context } from 'hono';
import { actorName, approverRoles, type Principal } from '../auth/principal.js';

const principals = new WeakMap<Request, Principal>();

export function setPrincipal(c: Context, principal: Principal): void {
  principals.set(c.req.raw, principal);
}

export function principalOf(c: Context): Principal | undefined {
  return principals.get(c.req.raw);
}

/** Who did it: the signed-in user; an integration token may name the person it acts for. */
export function actorOf(c: Context, claimed?: string): string {
  return actorName(principalOf(c), claimed);
}

/** A runbook approver: the caller's role and groups, never roles claimed in the request body. */
export function approverOf(c: Context, claimed?: string): { id: string; roles: string[] } {
  const principal = principalOf(c);
  return { id: actorOf(c, claimed), roles: principal ? approverRoles(principal) : [] };
}

/** The client's address: the socket's, or the address the trusted proxy appended to X-Forwarded-For. */
export function clientIp(c: Context, trustProxy: boolean): string | null {
  if (trustProxy) {
    // The last hop is the one the trusted proxy added; earlier ones are whatever the client sent.
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}

/** A body with its `actor` replaced by who is really calling. */
export function withActor<T extends { actor?: string | undefined }>(
  c: Context,
  body: T,
): T & { actor: string } {
  return { ...body, actor: actorOf(c, body.actor) };
}
