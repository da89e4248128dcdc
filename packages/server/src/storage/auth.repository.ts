// Users, sessions, API tokens and the audit log; the same queries on both engines.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Store } from './db.js';
import type { ApiTokensTable, AuditLogTable, SessionsTable, UsersTable } from './auth-tables.js';

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type TokenRow = Selectable<ApiTokensTable>;
export type AuditRow = Selectable<AuditLogTable>;

export interface AuditFilter {
  actor?: string;
  action?: string;
  outcome?: string;
  from?: number;
  to?: number;
  /** Entries older (smaller id) than this one. */
  beforeId?: number;
  limit: number;
}

// PostgreSQL returns bigint columns as strings.
const n = (value: number | string | null): number | null => (value === null ? null : Number(value));

export class AuthRepository {
  constructor(private readonly store: Store) {}

  private get db() {
    return this.store.db;
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertUser(row: Insertable<UsersTable>): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  async updateUser(id: string, patch: Updateable<UsersTable>): Promise<void> {
    await this.db.updateTable('users').set(patch).where('id', '=', id).execute();
  }

  async deleteUser(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('sessions').where('user_id', '=', id).execute();
      await tx.deleteFrom('api_tokens').where('owner_id', '=', id).execute();
      await tx.deleteFrom('users').where('id', '=', id).execute();
    });
  }

  async userById(id: string): Promise<UserRow | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && userNumbers(row);
  }

  async userByName(username: string): Promise<UserRow | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row && userNumbers(row);
  }

  async userBySubject(subject: string): Promise<UserRow | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('oidc_subject', '=', subject)
      .executeTakeFirst();
    return row && userNumbers(row);
  }

  async listUsers(): Promise<UserRow[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(userNumbers);
  }

  async countLocked(now: number): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('locked_until', '>', now)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async insertSession(row: Insertable<SessionsTable>): Promise<void> {
    await this.db.insertInto('sessions').values(row).execute();
  }

  async sessionByHash(idHash: string): Promise<SessionRow | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return (
      row && {
        ...row,
        created_at: Number(row.created_at),
        expires_at: Number(row.expires_at),
        last_seen_at: Number(row.last_seen_at),
      }
    );
  }

  async touchSession(idHash: string, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteSessionsOf(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async purgeSessions(expiredBefore: number, idleBefore: number): Promise<void> {
    await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<', expiredBefore), eb('last_seen_at', '<', idleBefore)]))
      .execute();
  }

  async insertToken(row: Insertable<ApiTokensTable>): Promise<void> {
    await this.db.insertInto('api_tokens').values(row).execute();
  }

  async tokenByHash(secretHash: string): Promise<TokenRow | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst();
    return row && tokenNumbers(row);
  }

  async tokenById(id: string): Promise<TokenRow | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && tokenNumbers(row);
  }

  async listTokens(ownerId?: string): Promise<TokenRow[]> {
    let query = this.db.selectFrom('api_tokens').selectAll();
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    const rows = await query.orderBy('created_at', 'desc').execute();
    return rows.map(tokenNumbers);
  }

  async touchToken(id: string, now: number): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async deleteTokensOf(ownerId: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('owner_id', '=', ownerId).execute();
  }

  async deleteToken(id: string): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('id', '=', id).execute();
  }

  async insertAudit(rows: Insertable<AuditLogTable>[]): Promise<void> {
    if (rows.length > 0) await this.db.insertInto('audit_log').values(rows).execute();
  }

  async listAudit(filter: AuditFilter): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll();
    if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('at', '<', filter.to);
    if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
    const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at) }));
  }

  async countAudit(action: string, outcome: string, since: number): Promise<number> {
    const row = await this.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', action)
      .where('outcome', '=', outcome)
      .where('at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async purgeAudit(before: number): Promise<number> {
    const result = await this.db.deleteFrom('audit_log').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function userNumbers(row: UserRow): UserRow {
  return {
    ...row,
    locked_until: n(row.locked_until),
    last_sign_in_at: n(row.last_sign_in_at),
    created_at: Number(row.created_at),
  };
}

function tokenNumbers(row: TokenRow): TokenRow {
  return {
    ...row,
    created_at: Number(row.created_at),
    expires_at: n(row.expires_at),
    last_used_at: n(row.last_used_at),
  };
}
