import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  username: string;
  name: string;
  role: string;
  /** JSON array of group names (runbook approval roles). */
  groups: string;
  source: string;
  /** scrypt$N$r$p$salt$hash; null for single-sign-on users. */
  password_hash: string | null;
  /** issuer + subject of an OpenID Connect user. */
  oidc_subject: string | null;
  disabled: number;
  /** JSON array of epoch-ms times of recent failed sign-ins (the lockout window). */
  failed_attempts: string;
  locked_until: number | null;
  last_sign_in_at: number | null;
  created_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the cookie value: a stolen database does not yield live sessions. */
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  ip: string | null;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  kind: string;
  role: string;
  secret_hash: string;
  prefix: string;
  owner_id: string | null;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  status: number | null;
  ip: string | null;
  detail: string;
}

export interface AuthTables {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
}
