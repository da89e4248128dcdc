// Users and their roles, managed by admins; there is always at least one enabled admin.
import { randomUUID } from 'node:crypto';
import type { Role, UserView } from '@opsbook/contracts';
import type { AuthRepository, UserRow } from '../storage/auth.repository.js';
import { ConflictError, InputError, NotFoundError } from '../errors.js';
import { hashPassword, verifyPassword } from './password.js';

export interface NewUser {
  username: string;
  name?: string | undefined;
  role: Role;
  password: string;
  groups?: string[] | undefined;
}

export interface UserChange {
  name?: string | undefined;
  role?: Role | undefined;
  groups?: string[] | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
  unlock?: boolean | undefined;
}

export class UserService {
  constructor(
    private readonly repo: AuthRepository,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<UserView[]> {
    return (await this.repo.listUsers()).map(userView);
  }

  async get(id: string): Promise<UserView> {
    const row = await this.repo.userById(id);
    if (!row) throw new NotFoundError(`no user ${id}`);
    return userView(row);
  }

  /** What a personal token needs to know of its owner. */
  async account(
    id: string,
  ): Promise<
    { username: string; name: string; role: Role; groups: string[]; disabled: boolean } | undefined
  > {
    const row = await this.repo.userById(id);
    return (
      row && {
        username: row.username,
        name: row.name,
        role: row.role as Role,
        groups: JSON.parse(row.groups) as string[],
        disabled: row.disabled === 1,
      }
    );
  }

  async passwordMatches(username: string, password: string): Promise<boolean> {
    const row = await this.repo.userByName(username);
    return row?.password_hash != null && (await verifyPassword(password, row.password_hash));
  }

  async create(input: NewUser): Promise<UserView> {
    if (await this.repo.userByName(input.username))
      throw new ConflictError(`a user named ${input.username} already exists`);
    const row: UserRow = {
      id: randomUUID(),
      username: input.username,
      name: input.name?.trim() || input.username,
      role: input.role,
      groups: JSON.stringify(input.groups ?? []),
      source: 'password',
      password_hash: await hashPassword(input.password),
      oidc_subject: null,
      disabled: 0,
      failed_attempts: '[]',
      locked_until: null,
      last_sign_in_at: null,
      created_at: this.now(),
    };
    await this.repo.insertUser(row);
    return userView(row);
  }

  /** Role, disabling and password resets end the user's sessions: they sign in again with the new state. */
  async update(id: string, change: UserChange): Promise<UserView> {
    const row = await this.repo.userById(id);
    if (!row) throw new NotFoundError(`no user ${id}`);
    const demoted = change.role !== undefined && change.role !== 'admin';
    if (row.role === 'admin' && (demoted || change.disabled === true)) await this.keepAnAdmin(id);
    if (change.password !== undefined && row.source !== 'password')
      throw new InputError(`${row.username} signs in through single sign-on and has no password`, 'password');
    await this.repo.updateUser(id, {
      ...(change.name !== undefined && { name: change.name.trim() || row.username }),
      ...(change.role !== undefined && { role: change.role }),
      ...(change.groups !== undefined && { groups: JSON.stringify(change.groups) }),
      ...(change.disabled !== undefined && { disabled: change.disabled ? 1 : 0 }),
      ...(change.password !== undefined && { password_hash: await hashPassword(change.password) }),
      ...(change.unlock && { locked_until: null, failed_attempts: '[]' }),
    });
    if (change.role !== undefined || change.disabled === true || change.password !== undefined)
      await this.repo.deleteSessionsOf(id);
    // A reset is what an admin does after a compromise: the user's personal tokens go too.
    if (change.password !== undefined) await this.repo.deleteTokensOf(id);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const row = await this.repo.userById(id);
    if (!row) throw new NotFoundError(`no user ${id}`);
    if (row.role === 'admin') await this.keepAnAdmin(id);
    await this.repo.deleteUser(id);
  }

  private async keepAnAdmin(exceptId: string): Promise<void> {
    const others = (await this.repo.listUsers()).filter(
      (u) => u.id !== exceptId && u.role === 'admin' && u.disabled === 0,
    );
    if (others.length === 0)
      throw new ConflictError('this is the last enabled admin; make another user admin first');
  }
}

export function userView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    role: row.role as Role,
    groups: JSON.parse(row.groups) as string[],
    disabled: row.disabled === 1,
    source: row.source as UserView['source'],
    lockedUntil: row.locked_until,
    lastSignInAt: row.last_sign_in_at,
    createdAt: row.created_at,
  };
}
