// Sign-in with lockout, sessions, and who a request comes from. Failures say one generic thing, so
// neither the message nor the time taken tells an attacker whether a username exists.
import { randomUUID } from 'node:crypto';
import type { Role, SessionView } from '@opsbook/contracts';
import type { AuthRepository, UserRow } from '../storage/auth.repository.js';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  TooManyRequestsError,
  UnauthenticatedError,
} from '../errors.js';
import type { AuthConfig } from './auth.schema.js';
import type { AuditLog } from './audit-log.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';
import type { Principal } from './principal.js';
import { randomSecret, sameSecret, sha256 } from './secret.js';
import type { TokenService } from './token.service.js';

export const GENERIC_FAILURE = 'wrong username or password';
const TOUCH_EVERY_MS = 60_000;

export interface ExternalIdentity {
  subject: string;
  issuer: string;
  username: string;
  name: string;
  email: string | null;
  groups: string[];
}

export interface SignedIn {
  /** The cookie value; only its hash is stored. */
  sessionId: string;
  principal: Principal;
}

export class AuthService {
  /** Sign-in attempts per address in the current minute. */
  private readonly perAddress = new Map<string, { minute: number; count: number }>();
  /** The sign-in in progress per username (lowercased). */
  private readonly attempts = new Map<string, Promise<SignedIn>>();
  /** Failures for names that are no user, counted like real ones. */
  private readonly unknown = new Map<string, { times: number[]; lockedUntil: number }>();

  constructor(
    private readonly repo: AuthRepository,
    readonly tokens: TokenService,
    private readonly audit: AuditLog,
    private config: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {}

  get settings(): AuthConfig {
    return this.config;
  }

  reconfigure(config: AuthConfig): void {
    this.config = config;
  }

  /** Attempts for one username run one after another, so parallel guesses cannot race the counter. */
  signIn(username: string, password: string, ip: string | null): Promise<SignedIn> {
    const key = username.toLowerCase();
    const previous = this.attempts.get(key) ?? Promise.resolve();
    const attempt = previous.catch(() => undefined).then(() => this.attemptSignIn(username, password, ip));
    this.attempts.set(key, attempt);
    void attempt
      .catch(() => undefined)
      .finally(() => {
        if (this.attempts.get(key) === attempt) this.attempts.delete(key);
      });
    return attempt;
  }

  private async attemptSignIn(username: string, password: string, ip: string | null): Promise<SignedIn> {
    const now = this.now();
    const user = await this.repo.userByName(username);
    // A name that is no user is not stored as typed: people type passwords into the username field.
    const actor = user
      ? user.username
      : `unknown user (${username.slice(0, 1)}…, ${username.length} characters)`;
    const fail = async (reason: string, status = 401) =>
      this.audit.record({
        actor,
        action: 'auth.sign-in',
        outcome: 'failure',
        status,
        ip,
        detail: { reason },
      });
    if (ip !== null && this.limitReached(ip, now)) {
      await fail('too many attempts from this address', 429);
      throw new TooManyRequestsError(
        'too many sign-in attempts from this address; wait a minute and try again',
        60_000 - (now % 60_000),
      );
    }
    const lockedUntil = user ? user.locked_until : this.unknownLockedUntil(username, now);
    if (lockedUntil != null && lockedUntil > now) {
      await fail('account locked', 429);
      throw locked(lockedUntil - now);
    }
    const usable = user !== undefined && user.disabled === 0 && user.password_hash !== null;
    const ok = await verifyPassword(password, usable ? user.password_hash! : DUMMY_HASH);
    if (!usable || !ok) {
      await fail(user === undefined ? 'unknown user' : user.disabled ? 'user disabled' : 'wrong password');
      // Unknown names lock the same way, so the answers do not tell which usernames exist.
      if (user) await this.countFailure(user, now, ip);
      else if (this.countUnknownFailure(username, now)) throw locked(this.config.lockout.duration);
      throw new UnauthenticatedError(GENERIC_FAILURE, 'sign_in_failed');
    }
    await this.repo.updateUser(user.id, { failed_attempts: '[]', locked_until: null, last_sign_in_at: now });
    const signedIn = await this.openSession(user, ip);
    await this.audit.record({
      actor: user.username,
      action: 'auth.sign-in',
      outcome: 'success',
      status: 200,
      ip,
    });
    return signedIn;
  }

  private unknownLockedUntil(username: string, now: number): number | null {
    const entry = this.unknown.get(username.toLowerCase());
    return entry && entry.lockedUntil > now ? entry.lockedUntil : null;
  }

  /** True when this failure locks the unknown name. */
  private countUnknownFailure(username: string, now: number): boolean {
    const { attempts, window, duration } = this.config.lockout;
    const key = username.toLowerCase();
    if (this.unknown.size > 10_000)
      for (const [name, entry] of this.unknown)
        if (entry.lockedUntil <= now && entry.times.every((t) => t <= now - window))
          this.unknown.delete(name);
    const entry = this.unknown.get(key) ?? { times: [], lockedUntil: 0 };
    entry.times = [...entry.times.filter((t) => t > now - window), now];
    if (entry.times.length >= attempts) {
      entry.times = [];
      entry.lockedUntil = now + duration;
    }
    this.unknown.set(key, entry);
    return entry.lockedUntil > now;
  }

  /** Single sign-on: the provider vouched for the identity and the role mapping decided the role. */
  async signInExternal(identity: ExternalIdentity, role: Role, ip: string | null): Promise<SignedIn> {
    const subject = `${identity.issuer}#${identity.subject}`;
    const now = this.now();
    let user = await this.repo.userBySubject(subject);
    if (!user) {
      if (
        !/^[A-Za-z0-9._@-]{1,64}$/.test(identity.username) ||
        identity.username.toLowerCase() === 'anonymous'
      )
        throw new NotAllowedError(
          `the identity provider's username "${identity.username.slice(0, 64)}" cannot be an Opsbook username; set auth.oidc.usernameClaims to a claim with letters, digits, dots, dashes, underscores or @`,
        );
      const lower = identity.username.toLowerCase();
      const taken = (await this.repo.listUsers()).find((u) => u.username.toLowerCase() === lower);
      if (taken) {
        await this.audit.record({
          actor: identity.username,
          action: 'auth.sign-in',
          outcome: 'failure',
          status: 409,
          ip,
          detail: { reason: 'username taken by another user', via: 'oidc' },
        });
        throw new ConflictError(
          `a user named ${taken.username} already exists in Opsbook; an admin must remove it before ${identity.username} can sign in through single sign-on`,
        );
      }
      user = {
        id: randomUUID(),
        username: identity.username,
        name: identity.name || identity.username,
        role,
        groups: JSON.stringify(identity.groups),
        source: 'oidc',
        password_hash: null,
        oidc_subject: subject,
        disabled: 0,
        failed_attempts: '[]',
        locked_until: null,
        last_sign_in_at: now,
        created_at: now,
      };
      await this.repo.insertUser(user);
    } else {
      if (user.disabled) {
        await this.audit.record({
          actor: user.username,
          action: 'auth.sign-in',
          outcome: 'failure',
          status: 403,
          ip,
          detail: { reason: 'user disabled', via: 'oidc' },
        });
        throw new NotAllowedError(`${user.username} is disabled in Opsbook; ask an admin`);
      }
      // The provider is the source of truth for single-sign-on users' role and groups.
      const groups = JSON.stringify(identity.groups);
      await this.repo.updateUser(user.id, {
        role,
        groups,
        name: identity.name || user.name,
        last_sign_in_at: now,
      });
      user = { ...user, role, groups };
    }
    const signedIn = await this.openSession(user, ip);
    await this.audit.record({
      actor: user.username,
      action: 'auth.sign-in',
      outcome: 'success',
      status: 200,
      ip,
      detail: { via: 'oidc', role },
    });
    return signedIn;
  }

  async signOut(principal: Principal | undefined, ip: string | null): Promise<void> {
    if (principal?.sessionHash) await this.repo.deleteSession(principal.sessionHash);
    if (principal)
      await this.audit.record({
        actor: principal.username,
        action: 'auth.sign-out',
        outcome: 'success',
        status: 204,
        ip,
      });
  }

  async fromSession(sessionId: string): Promise<Principal | undefined> {
    const hash = sha256(sessionId);
    const session = await this.repo.sessionByHash(hash);
    const now = this.now();
    if (!session) return undefined;
    const { maxAge, idleTimeout } = this.config.session;
    if (session.expires_at <= now || session.last_seen_at + idleTimeout <= now) {
      await this.repo.deleteSession(hash);
      return undefined;
    }
    const user = await this.repo.userById(session.user_id);
    if (!user || user.disabled) return undefined;
    if (session.last_seen_at + TOUCH_EVERY_MS < now) await this.repo.touchSession(hash, now);
    return {
      ...userPrincipal(user, 'session'),
      csrfToken: session.csrf_token,
      sessionHash: hash,
      expiresAt: Math.min(session.expires_at, session.created_at + maxAge),
    };
  }

  fromBearer(secret: string): Promise<Principal | undefined> {
    return this.tokens.resolve(secret);
  }

  async changePassword(
    principal: Principal,
    current: string,
    next: string,
    ip: string | null,
  ): Promise<void> {
    const user = principal.userId === null ? undefined : await this.repo.userById(principal.userId);
    if (!user?.password_hash) throw new InputError('this account has no password to change', 'current');
    if (!(await verifyPassword(current, user.password_hash))) {
      await this.audit.record({
        actor: user.username,
        action: 'auth.password',
        outcome: 'failure',
        status: 400,
        ip,
      });
      throw new InputError('the current password is wrong', 'current');
    }
    await this.repo.updateUser(user.id, { password_hash: await hashPassword(next) });
    // Every other session of this user ends; the one changing the password stays.
    await this.repo.deleteSessionsOf(user.id);
    if (principal.sessionHash && principal.csrfToken)
      await this.repo.insertSession({
        id_hash: principal.sessionHash,
        user_id: user.id,
        csrf_token: principal.csrfToken,
        created_at: this.now(),
        expires_at: principal.expiresAt ?? this.now() + this.config.session.maxAge,
        last_seen_at: this.now(),
        ip,
      });
  }

  sessionView(principal: Principal): SessionView {
    return {
      user: {
        id: principal.userId,
        username: principal.username,
        name: principal.name,
        role: principal.role,
        groups: principal.groups,
      },
      via: principal.via,
      csrfToken: principal.csrfToken,
      expiresAt: principal.expiresAt,
    };
  }

  csrfMatches(principal: Principal, header: string | undefined): boolean {
    return principal.csrfToken !== null && header !== undefined && sameSecret(principal.csrfToken, header);
  }

  async purgeSessions(): Promise<void> {
    const now = this.now();
    await this.repo.purgeSessions(now, now - this.config.session.idleTimeout);
  }

  private async openSession(user: UserRow, ip: string | null): Promise<SignedIn> {
    const sessionId = randomSecret();
    const now = this.now();
    const csrf = randomSecret(24);
    const expiresAt = now + this.config.session.maxAge;
    await this.repo.insertSession({
      id_hash: sha256(sessionId),
      user_id: user.id,
      csrf_token: csrf,
      created_at: now,
      expires_at: expiresAt,
      last_seen_at: now,
      ip,
    });
    return {
      sessionId,
      principal: {
        ...userPrincipal(user, 'session'),
        csrfToken: csrf,
        sessionHash: sha256(sessionId),
        expiresAt,
      },
    };
  }

  private async countFailure(user: UserRow, now: number, ip: string | null): Promise<void> {
    const { attempts, window, duration } = this.config.lockout;
    const recent = [...(JSON.parse(user.failed_attempts) as number[]).filter((t) => t > now - window), now];
    if (recent.length < attempts) {
      await this.repo.updateUser(user.id, { failed_attempts: JSON.stringify(recent) });
      return;
    }
    await this.repo.updateUser(user.id, { failed_attempts: '[]', locked_until: now + duration });
    await this.audit.record({
      actor: user.username,
      action: 'auth.locked',
      outcome: 'failure',
      status: 429,
      ip,
      detail: { failures: recent.length, windowMs: window, lockedForMs: duration },
    });
    throw locked(duration);
  }

  private limitReached(ip: string, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    const entry = this.perAddress.get(ip);
    if (!entry || entry.minute !== minute) {
      if (this.perAddress.size > 10_000)
        for (const [address, seen] of this.perAddress)
          if (seen.minute < minute) this.perAddress.delete(address);
      this.perAddress.set(ip, { minute, count: 1 });
      return false;
    }
    entry.count += 1;
    return entry.count > this.config.lockout.perAddressPerMinute;
  }
}

function locked(retryAfterMs: number): TooManyRequestsError {
  const minutes = Math.max(1, Math.ceil(retryAfterMs / 60_000));
  return new TooManyRequestsError(
    `too many failed sign-ins: this account is locked for ${minutes} minute${minutes === 1 ? '' : 's'}; try again later or ask an admin to unlock it`,
    retryAfterMs,
    'locked_out',
  );
}

function userPrincipal(user: UserRow, via: 'session' | 'token'): Principal {
  return {
    userId: user.id,
    username: user.username,
    name: user.name,
    role: user.role as Role,
    groups: JSON.parse(user.groups) as string[],
    via,
    tokenKind: null,
    csrfToken: null,
    sessionHash: null,
    expiresAt: null,
  };
}
