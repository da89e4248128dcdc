// The audit log (guide 7.3: kept one year): every sign-in, success or failure, and every mutation.
import type { AuditEntry } from '@opsbook/contracts';
import type { AuditFilter, AuthRepository } from '../storage/auth.repository.js';

export interface AuditRecord {
  actor: string;
  action: string;
  target?: string | null;
  outcome: AuditEntry['outcome'];
  status?: number | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

const DAY = 86_400_000;

export class AuditLog {
  constructor(
    private readonly repo: AuthRepository,
    private readonly now: () => number = Date.now,
  ) {}

  /** Awaited before the answer goes out, so an acknowledged action is never missing from the log. */
  async record(entry: AuditRecord): Promise<void> {
    await this.repo.insertAudit([
      {
        at: this.now(),
        actor: entry.actor.slice(0, 200),
        action: entry.action.slice(0, 300),
        target: entry.target?.slice(0, 500) ?? null,
        outcome: entry.outcome,
        status: entry.status ?? null,
        ip: entry.ip ?? null,
        detail: JSON.stringify(entry.detail ?? {}),
      },
    ]);
  }

  async list(filter: AuditFilter): Promise<{
    items: AuditEntry[];
    nextCursor: string | null;
    failedSignIns24h: number;
    lockedUsers: number;
  }> {
    const rows = await this.repo.listAudit({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    const now = this.now();
    return {
      items: page.map((r) => ({
        id: r.id,
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome as AuditEntry['outcome'],
        status: r.status,
        ip: r.ip,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
      })),
      nextCursor: rows.length > filter.limit ? String(page.at(-1)!.id) : null,
      failedSignIns24h: await this.repo.countAudit('auth.sign-in', 'failure', now - DAY),
      lockedUsers: await this.repo.countLocked(now),
    };
  }

  purge(retentionMs: number): Promise<number> {
    return this.repo.purgeAudit(this.now() - retentionMs);
  }
}
