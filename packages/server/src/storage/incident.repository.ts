import type { Kysely } from 'kysely';
import type { DB } from './db.types.js';
import type { IncidentAlertsTable, IncidentsTable, IncidentTimelineTable } from './incident-tables.js';

export type IncidentRow = IncidentsTable;
export type IncidentAlertRow = IncidentAlertsTable;
export type NewTimelineRow = Omit<IncidentTimelineTable, 'id'>;
export interface TimelineRow extends NewTimelineRow {
  id: number;
}

export interface IncidentFilter {
  stages?: string[];
  severity?: string;
  /** Incidents whose services include this one. */
  service?: string;
  limit?: number;
}

export class IncidentRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Incidents not closed, with their linked alerts, and the highest sequence number used. */
  async loadOpen(): Promise<{ incidents: IncidentRow[]; alerts: IncidentAlertRow[]; maxSeq: number }> {
    const incidents = await this.db
      .selectFrom('incidents')
      .selectAll()
      .where('stage', '!=', 'closed')
      .execute();
    const ids = incidents.map((i) => i.id);
    const alerts = ids.length
      ? await this.db.selectFrom('incident_alerts').selectAll().where('incident_id', 'in', ids).execute()
      : [];
    const max = await this.db
      .selectFrom('incidents')
      .select((eb) => eb.fn.max('seq').as('max'))
      .executeTakeFirst();
    return { incidents, alerts, maxSeq: Number(max?.max ?? 0) };
  }

  /** Writes the incident, its changed alert links and new timeline entries in one transaction. */
  async save(incident: IncidentRow, alerts: IncidentAlertRow[], timeline: NewTimelineRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { id: _id, ...changes } = incident;
      await trx
        .insertInto('incidents')
        .values(incident)
        .onConflict((oc) => oc.column('id').doUpdateSet(changes))
        .execute();
      for (const link of alerts) {
        await trx
          .insertInto('incident_alerts')
          .values(link)
          .onConflict((oc) =>
            oc
              .columns(['incident_id', 'fingerprint'])
              .doUpdateSet({ labels: link.labels, status: link.status, resolved_at: link.resolved_at }),
          )
          .execute();
      }
      if (timeline.length) await trx.insertInto('incident_timeline').values(timeline).execute();
    });
  }

  async list(filter: IncidentFilter): Promise<IncidentRow[]> {
    return this.db
      .selectFrom('incidents')
      .selectAll()
      .$if(filter.stages !== undefined, (q) => q.where('stage', 'in', filter.stages!))
      .$if(filter.severity !== undefined, (q) => q.where('severity', '=', filter.severity!))
      .$if(filter.service !== undefined, (q) =>
        q.where('services', 'like', `%${JSON.stringify(filter.service!)}%`),
      )
      .orderBy('seq', 'desc')
      .$if(filter.limit !== undefined, (q) => q.limit(filter.limit!))
      .execute();
  }

  async get(id: string): Promise<IncidentRow | undefined> {
    return this.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async alerts(ids: string[]): Promise<IncidentAlertRow[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom('incident_alerts')
      .selectAll()
      .where('incident_id', 'in', ids)
      .orderBy('first_firing_at')
      .execute();
  }

  async timeline(id: string): Promise<TimelineRow[]> {
    const rows = await this.db
      .selectFrom('incident_timeline')
      .selectAll()
      .where('incident_id', '=', id)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }
}
