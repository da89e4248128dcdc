// Who is calling: a signed-in user, a user's personal token, or an integration token.
import type { Role } from '@opsbook/contracts';

export const ROLE_RANK: Record<Role, number> = { viewer: 1, responder: 2, admin: 3 };

export function atLeast(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

export interface Principal {
  /** The user id; null for an integration token. */
  userId: string | null;
  /** Username, or token:<name> for an integration token. */
  username: string;
  name: string;
  role: Role;
  groups: string[];
  via: 'session' | 'token';
  tokenKind: 'api' | 'intake' | null;
  /** Set for sessions: the CSRF value mutations must carry, and the session's hash (for sign-out). */
  csrfToken: string | null;
  sessionHash: string | null;
  expiresAt: number | null;
}

/**
 * The name recorded for an action. A user (or their personal token) is always themselves; an
 * integration token may say on whose behalf it acts (PagerDuty's From header), and the audit log
 * keeps the token's own name beside it.
 */
export function actorName(principal: Principal | undefined, claimed: string | undefined): string {
  if (!principal) return claimed ?? 'anonymous';
  if (principal.userId !== null) return principal.username;
  return claimed?.trim() || principal.username;
}

/** Roles a runbook approval step can name: the user's role and groups (admin approves anything). */
export function approverRoles(principal: Principal): string[] {
  // A group named like a role (say "admin", from an identity provider) must not act as that role.
  return [principal.role, ...principal.groups.filter((g) => !(g in ROLE_RANK))];
}
