// Times every statement of the collector (collectSnapshot) by wrapping the client it is given; the
// statements are named after their constants in collector.queries.ts.
import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import * as Q from '../../packages/server/src/postgres/collector.queries.js';
import { PgConnection, type Queryable } from '../../packages/server/src/postgres/pg-connection.js';

export type QueryTimes = Map<string, number>;

function queryNames(versionNum: number): Map<string, string> {
  const names = new Map<string, string>();
  for (const [name, value] of Object.entries(Q))
    if (typeof value === 'string' && name !== 'OPSBOOK_TAG') names.set(value, name);
  names.set(Q.slowStatements(versionNum), 'slowStatements');
  names.set(Q.topStatements(versionNum), 'topStatements');
  return names;
}

/** A PgConnection whose withClient() records each statement's time into `times` (ms, summed by name). */
export class TimedConnection extends PgConnection {
  times: QueryTimes = new Map();
  private readonly names: Map<string, string>;

  constructor(url: string, versionNum: number, statementTimeoutMs: number) {
    super({ url, statementTimeoutMs });
    this.names = queryNames(versionNum);
  }

  override withClient<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    return super.withClient((client) => {
      const timed = {
        query: async (text: string, values?: unknown[]) => {
          const started = performance.now();
          try {
            return await (client as pg.PoolClient).query(text, values);
          } finally {
            const name = this.names.get(text) ?? text.replace(/\s+/g, ' ').slice(0, 60);
            this.times.set(name, (this.times.get(name) ?? 0) + performance.now() - started);
          }
        },
      } as unknown as Queryable;
      return fn(timed);
    });
  }
}
