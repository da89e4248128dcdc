import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { DB } from './db.types.js';
import type {
  AlertsTable,
  AlertHistoryTable,
  MaintenanceWindowsTable,
  SilencesTable,
} from './alert-tables.js';
import { chunks } from './chunks.js';
import type { NewEvent } from './event.repository.js';

export type AlertRow = AlertsTable;
export type NewHistoryRow = Omit<AlertHistoryTable, 'id'>;

export interface HistoryFilter {
  fingerprint?: string;
  alertname?: string;
  service?: string;
  severity?: string;
  from?: number;
  to?: number;
  before?: number;
  limit: number;
}

export class AlertRepository {
  private fast: SqliteAlertWrites | undefined;

  /** With `sqlite` (the handle behind `db`), alert writes use statements prepared once. */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly sqlite?: Database.Database,
  ) {}

  async loadAlerts(): Promise<AlertRow[]> {
    return this.db.selectFrom('alerts').selectAll().execute();
  }

  /** Upserts changed alerts, deletes removed ones and appends history, in one transaction. */
  async save(
    changed: AlertRow[],
    removed: string[],
    history: NewHistoryRow[],
    events: NewEvent[] = [],
  ): Promise<void> {
    if (changed.length + removed.length + history.length + events.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      // Inside the Kysely transaction: it holds the one SQLite connection, so these statements are part of it.
      if (this.sqlite) {
        // Prepared at the first write, when the tables surely exist.
        this.fast ??= new SqliteAlertWrites(this.sqlite);
        return this.fast.save(changed, removed, history, events);
      }
      for (const batch of chunks(changed, 200)) {
        await trx
          .insertInto('alerts')
          .values(batch)
          .onConflict((oc) =>
            oc.column('fingerprint').doUpdateSet((eb) => ({
              labels: eb.ref('excluded.labels'),
              annotations: eb.ref('excluded.annotations'),
              state: eb.ref('excluded.state'),
              active_at: eb.ref('excluded.active_at'),
              fired_at: eb.ref('excluded.fired_at'),
              resolved_at: eb.ref('excluded.resolved_at'),
              expires_at: eb.ref('excluded.expires_at'),
              last_seen_at: eb.ref('excluded.last_seen_at'),
              value: eb.ref('excluded.value'),
              generator_url: eb.ref('excluded.generator_url'),
              suppressed_by: eb.ref('excluded.suppressed_by'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      for (const batch of chunks(removed, 500))
        await trx.deleteFrom('alerts').where('fingerprint', 'in', batch).execute();
      for (const batch of chunks(history, 300)) await trx.insertInto('alert_history').values(batch).execute();
      for (const batch of chunks(events, 300)) await trx.insertInto('events').values(batch).execute();
    });
  }

  async history(filter: HistoryFilter) {
    return this.db
      .selectFrom('alert_history')
      .selectAll()
      .$if(filter.fingerprint !== undefined, (q) => q.where('fingerprint', '=', filter.fingerprint!))
      .$if(filter.alertname !== undefined, (q) => q.where('alertname', '=', filter.alertname!))
      .$if(filter.service !== undefined, (q) => q.where('service', '=', filter.service!))
      .$if(filter.severity !== undefined, (q) => q.where('severity', '=', filter.severity!))
      .$if(filter.from !== undefined, (q) => q.where('at', '>=', filter.from!))
      .$if(filter.to !== undefined, (q) => q.where('at', '<', filter.to!))
      .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before!))
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
  }

  async purgeHistory(before: number): Promise<number> {
    const result = await this.db.deleteFrom('alert_history').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteSilences(ids: string[]): Promise<void> {
    for (const batch of chunks(ids, 500))
      await this.db.deleteFrom('silences').where('id', 'in', batch).execute();
  }

  async loadSilences(): Promise<SilencesTable[]> {
    return this.db.selectFrom('silences').selectAll().orderBy('created_at', 'desc').execute();
  }

  async saveSilence(row: SilencesTable): Promise<void> {
    await this.db
      .insertInto('silences')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          ends_at: eb.ref('excluded.ends_at'),
          expired_at: eb.ref('excluded.expired_at'),
        })),
      )
      .execute();
  }

  async loadWindows(): Promise<MaintenanceWindowsTable[]> {
    return this.db.selectFrom('maintenance_windows').selectAll().orderBy('created_at', 'desc').execute();
  }

  async saveWindow(row: MaintenanceWindowsTable): Promise<void> {
    await this.db
      .insertInto('maintenance_windows')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          services: eb.ref('excluded.services'),
          matchers: eb.ref('excluded.matchers'),
          starts_at: eb.ref('excluded.starts_at'),
          ends_at: eb.ref('excluded.ends_at'),
          schedule: eb.ref('excluded.schedule'),
          duration_ms: eb.ref('excluded.duration_ms'),
          timezone: eb.ref('excluded.timezone'),
          comment: eb.ref('excluded.comment'),
          expired_at: eb.ref('excluded.expired_at'),
        })),
      )
      .execute();
  }

  async deleteConfigWindowsExcept(ids: string[]): Promise<void> {
    let query = this.db.deleteFrom('maintenance_windows').where('source', '=', 'config');
    if (ids.length > 0) query = query.where('id', 'not in', ids);
    await query.execute();
  }
}

/**
 * The intake's writes on SQLite as statements prepared once, run row by row: building and preparing a
 * multi-row statement per request cost about twice as much per alert.
 */
class SqliteAlertWrites {
  private readonly upsert: Statement;
  private readonly remove: Statement;
  private readonly insertHistory: Statement;
  private readonly insertEvent: Statement;

  constructor(database: Database.Database) {
    this.upsert = database.prepare(
      `insert into alerts (fingerprint, source, rule, alertname, severity, service, labels, annotations, state,
         active_at, fired_at, resolved_at, expires_at, last_seen_at, value, generator_url, suppressed_by, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (fingerprint) do update set labels = excluded.labels, annotations = excluded.annotations,
         state = excluded.state, active_at = excluded.active_at, fired_at = excluded.fired_at,
         resolved_at = excluded.resolved_at, expires_at = excluded.expires_at, last_seen_at = excluded.last_seen_at,
         value = excluded.value, generator_url = excluded.generator_url, suppressed_by = excluded.suppressed_by,
         updated_at = excluded.updated_at`,
    );
    this.remove = database.prepare('delete from alerts where fingerprint = ?');
    this.insertHistory = database.prepare(
      `insert into alert_history (fingerprint, at, state, alertname, severity, service, labels, value, summary)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertEvent = database.prepare(
      'insert into events (at, kind, severity, service_id, check_id, message, data) values (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  save(changed: AlertRow[], removed: string[], history: NewHistoryRow[], events: NewEvent[]): void {
    for (const a of changed)
      this.upsert.run(
        a.fingerprint,
        a.source,
        a.rule,
        a.alertname,
        a.severity,
        a.service,
        a.labels,
        a.annotations,
        a.state,
        a.active_at,
        a.fired_at,
        a.resolved_at,
        a.expires_at,
        a.last_seen_at,
        a.value,
        a.generator_url,
        a.suppressed_by,
        a.updated_at,
      );
    for (const fingerprint of removed) this.remove.run(fingerprint);
    for (const h of history)
      this.insertHistory.run(
        h.fingerprint,
        h.at,
        h.state,
        h.alertname,
        h.severity,
        h.service,
        h.labels,
        h.value,
        h.summary,
      );
    for (const e of events)
      this.insertEvent.run(
        e.at,
        e.kind,
        e.severity,
        e.service_id ?? null,
        e.check_id ?? null,
        e.message,
        e.data,
      );
  }
}
