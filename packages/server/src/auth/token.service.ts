// API tokens: for the CLI (personal: act as their owner) and integrations (act as themselves); intake
// tokens reach only the intake routes. Stored as SHA-256; provisioned ones (config, env) live in memory.
import { randomUUID } from 'node:crypto';
import type { Role, TokenView } from '@opsbook/contracts';
import type { AuthRepository, TokenRow } from '../storage/auth.repository.js';
import { ForbiddenError, InputError, NotFoundError } from '../errors.js';
import { atLeast, type Principal } from './principal.js';
import { newTokenSecret, sha256, TOKEN_PREFIX } from './secret.js';

export interface ProvisionedToken {
  name: string;
  kind: 'api' | 'intake';
  role: Role;
  secret: string;
}

interface Provisioned extends ProvisionedToken {
  id: string;
  hash: string;
}

const DAY = 86_400_000;
const TOUCH_EVERY_MS = 60_000;

export interface CreateTokenInput {
  name: string;
  kind: 'api' | 'intake';
  role?: Role | undefined;
  expiresInDays?: number | undefined;
  personal: boolean;
}

export class TokenService {
  private provisioned = new Map<string, Provisioned>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repo: AuthRepository,
    private readonly users: (
      id: string,
    ) => Promise<
      { username: string; name: string; role: Role; groups: string[]; disabled: boolean } | undefined
    >,
    private readonly now: () => number = Date.now,
  ) {}

  /** Replaces the tokens from config and env (at start and on every reload). */
  provision(tokens: ProvisionedToken[]): void {
    this.provisioned = new Map(
      tokens.map((t) => {
        const hash = sha256(t.secret);
        return [hash, { ...t, id: `config:${t.name}`, hash }];
      }),
    );
  }

  async resolve(secret: string): Promise<Principal | undefined> {
    const hash = sha256(secret);
    const fixed = this.provisioned.get(hash);
    if (fixed) return integration(fixed.name, fixed.role, fixed.kind);
    if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
    const row = await this.repo.tokenByHash(hash);
    if (!row || (row.expires_at !== null && row.expires_at <= this.now())) return undefined;
    this.touch(row.id);
    if (row.owner_id === null) return integration(row.name, row.role as Role, row.kind as 'api' | 'intake');
    const owner = await this.users(row.owner_id);
    if (!owner || owner.disabled) return undefined;
    // A personal token never exceeds its owner's current role.
    const role = atLeast(owner.role, row.role as Role) ? (row.role as Role) : owner.role;
    return {
      userId: row.owner_id,
      username: owner.username,
      name: owner.name,
      role,
      groups: owner.groups,
      via: 'token',
      tokenKind: row.kind as 'api' | 'intake',
      csrfToken: null,
      sessionHash: null,
      expiresAt: row.expires_at,
    };
  }

  async list(caller: Principal): Promise<TokenView[]> {
    const admin = caller.role === 'admin';
    if (!admin && caller.userId === null) return [];
    const rows = await this.repo.listTokens(admin ? undefined : caller.userId!);
    const names = new Map<string, string>();
    for (const row of rows)
      if (row.owner_id !== null && !names.has(row.owner_id))
        names.set(row.owner_id, (await this.users(row.owner_id))?.username ?? '(deleted)');
    const stored = rows.map((r) => view(r, r.owner_id === null ? null : (names.get(r.owner_id) ?? null)));
    if (!admin) return stored;
    const fromConfig: TokenView[] = [...this.provisioned.values()].map((t) => ({
      id: t.id,
      name: t.name,
      kind: t.kind,
      role: t.role,
      prefix: t.secret.slice(0, 4) + '…',
      owner: null,
      source: 'config',
      createdAt: 0,
      expiresAt: null,
      lastUsedAt: null,
    }));
    return [...fromConfig, ...stored];
  }

  async create(caller: Principal, input: CreateTokenInput): Promise<{ token: TokenView; secret: string }> {
    const role = input.role ?? caller.role;
    if (input.personal) {
      if (caller.userId === null)
        throw new InputError(
          'an integration token cannot own a personal token; set personal: false',
          'personal',
        );
      if (input.kind === 'intake')
        throw new InputError('intake tokens belong to an integration; set personal: false', 'kind');
      if (!atLeast(caller.role, role))
        throw new ForbiddenError(`a personal token cannot have a role above yours (${caller.role})`);
    } else if (caller.role !== 'admin') {
      throw new ForbiddenError('integration and intake tokens need the admin role');
    }
    const secret = newTokenSecret();
    const now = this.now();
    const row: TokenRow = {
      id: randomUUID(),
      name: input.name,
      kind: input.kind,
      role,
      secret_hash: sha256(secret),
      prefix: secret.slice(0, TOKEN_PREFIX.length + 6),
      owner_id: input.personal ? caller.userId : null,
      created_by: caller.username,
      created_at: now,
      expires_at: expiry(input.expiresInDays === undefined ? null : now + input.expiresInDays * DAY, caller),
      last_used_at: null,
    };
    await this.repo.insertToken(row);
    return { token: view(row, input.personal ? caller.username : null), secret };
  }

  async revoke(caller: Principal, id: string): Promise<void> {
    if (id.startsWith('config:'))
      throw new InputError('this token comes from the config; remove it there and reload', 'id');
    const row = await this.repo.tokenById(id);
    const mine = row !== undefined && row.owner_id !== null && row.owner_id === caller.userId;
    if (!row || (!mine && caller.role !== 'admin')) throw new NotFoundError(`no token ${id}`);
    await this.repo.deleteToken(id);
  }

  // last_used_at is for people deciding what to revoke; minute precision spares a write per request.
  private touch(id: string): void {
    const now = this.now();
    if ((this.touched.get(id) ?? 0) > now - TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    void this.repo.touchToken(id, now).catch(() => undefined);
  }
}

/** A token made with an expiring token never outlives it (a stolen short-lived token cannot mint a lasting one). */
function expiry(requested: number | null, caller: Principal): number | null {
  if (caller.via !== 'token' || caller.expiresAt === null) return requested;
  return requested === null ? caller.expiresAt : Math.min(requested, caller.expiresAt);
}

function integration(name: string, role: Role, kind: 'api' | 'intake'): Principal {
  return {
    userId: null,
    username: `token:${name}`,
    name,
    role,
    groups: [],
    via: 'token',
    tokenKind: kind,
    csrfToken: null,
    sessionHash: null,
    expiresAt: null,
  };
}

function view(row: TokenRow, owner: string | null): TokenView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as TokenView['kind'],
    role: row.role as Role,
    prefix: row.prefix,
    owner,
    source: 'store',
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}
