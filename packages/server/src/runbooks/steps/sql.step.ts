import pg from 'pg';
import { interpolate, type RunbookStep } from '../runbook.schema.js';
import { failed, type StepRunner } from './step.js';

/** A read-only query on a configured PostgreSQL; the result is kept as a table. */
export const sqlStep: StepRunner<Extract<RunbookStep, { kind: 'sql' }>> = async (step, context) => {
  const name = interpolate(step.database, context.parameters);
  const url = context.databases(name);
  if (!url) return failed(`no database named ${name} is configured`, { database: name });
  const client = new pg.Client({ connectionString: url, application_name: 'opsbook-runbook' });
  const abort = () => void client.end().catch(() => {});
  context.signal.addEventListener('abort', abort, { once: true });
  try {
    await client.connect();
    // READ ONLY makes PostgreSQL refuse writes, whatever the runbook file says.
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(context.timeoutMs))}`);
    const result = await client.query({ text: step.query, rowMode: 'array' });
    await client.query('ROLLBACK');
    const columns = result.fields.map((f) => f.name);
    const rows = (result.rows as unknown[][]).slice(0, step.maxRows).map((row) => row.map(cell));
    const evidence = {
      database: name,
      query: step.query,
      columns,
      rows,
      rowCount: result.rows.length,
      truncated: result.rows.length > step.maxRows,
    };
    if (step.failIfRowsAbove !== undefined && result.rows.length > step.failIfRowsAbove)
      return failed(`${result.rows.length} rows (more than ${step.failIfRowsAbove})`, evidence);
    return { status: 'succeeded', message: `${result.rows.length} rows`, evidence };
  } catch (error) {
    return failed(`query failed: ${(error as Error).message}`, { database: name, query: step.query });
  } finally {
    context.signal.removeEventListener('abort', abort);
    await client.end().catch(() => {});
  }
};

/** JSON-safe cell values: dates as ISO text, intervals and other objects as PostgreSQL text. */
function cell(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  const text = value as { toPostgres?: () => string };
  if (typeof text.toPostgres === 'function') return text.toPostgres();
  return value;
}
