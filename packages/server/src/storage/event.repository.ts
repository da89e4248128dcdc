import type { Insertable, Kysely } from 'kysely';
import type { DB, EventsTable } from './db.types.js';
import { chunks } from './chunks.js';

export type NewEvent = Insertable<EventsTable>;

export interface EventFilter {
  kind?: string;
  service?: string;
  check?: string;
  from?: number;
  to?: number;
  /** Events with an id below this one (newest-first paging). */
  before?: number;
  limit: number;
}

export class EventRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async append(rows: NewEvent[], db: Kysely<DB> = this.db): Promise<void> {
    for (const batch of chunks(rows, 400)) await db.insertInto('events').values(batch).execute();
  }

  async purge(before: number): Promise<number> {
    const result = await this.db.deleteFrom('events').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async list(filter: EventFilter) {
    return this.db
      .selectFrom('events')
      .selectAll()
      .$if(filter.kind !== undefined, (q) => q.where('kind', 'like', filter.kind!.replace(/\*$/, '%')))
      .$if(filter.service !== undefined, (q) => q.where('service_id', '=', filter.service!))
      .$if(filter.check !== undefined, (q) => q.where('check_id', '=', filter.check!))
      .$if(filter.from !== undefined, (q) => q.where('at', '>=', filter.from!))
      .$if(filter.to !== undefined, (q) => q.where('at', '<', filter.to!))
      .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before!))
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .execute();
  }
}
