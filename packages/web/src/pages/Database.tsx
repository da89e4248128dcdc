// Guide 3.5, database dashboard: connections, query performance, storage and replication lag from the
// collectors' opsbook_pg_* series; the advisor's findings; backups and recovery drills.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { get, qs, type Backup, type Database, type Drill, type Health } from '../api.js';
import { ago, bytes, duration, time } from '../format.js';
import { Chart, RangePicker, type Range } from '../components/Chart.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';

const NO_PG = 'No opsbook_pg_* series: add a PostgreSQL database under `databases:` in the config.';

export function DatabasePage() {
  const [range, setRange] = useState<Range>('1h');
  const dbs = useQuery({ queryKey: ['databases'], queryFn: () => get<{ items: Database[] }>('/databases') });
  return (
    <>
      <h1>Database</h1>
      <Section title="Databases">
        <Problem error={dbs.error} />
        {!dbs.data ? (
          <Loading what="databases" />
        ) : dbs.data.items.length === 0 ? (
          <p className="empty">{NO_PG}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Database</th>
                <th scope="col">Up</th>
                <th scope="col">Role</th>
                <th scope="col">Version</th>
                <th scope="col">Size</th>
                <th scope="col">Connections</th>
                <th scope="col">Findings</th>
                <th scope="col">Collected</th>
              </tr>
            </thead>
            <tbody>
              {dbs.data.items.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.id}</th>
                  <td>
                    <Status value={d.up === null ? 'unknown' : d.up ? 'up' : 'down'} />
                    {d.error && <span className="problem"> {d.error}</span>}
                  </td>
                  <td>{d.role}</td>
                  <td>{d.serverVersion ?? '—'}</td>
                  <td>{bytes(d.sizeBytes)}</td>
                  <td>{d.connections ? `${d.connections.total} / ${d.connections.max}` : '—'}</td>
                  <td>
                    {d.findings
                      ? `${d.findings.critical} critical, ${d.findings.warning} warning, ${d.findings.info} info`
                      : '—'}
                  </td>
                  <td>{ago(d.lastCollectedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Trends" actions={<RangePicker value={range} onChange={setRange} />}>
        <div className="charts">
          <Chart
            title="Connections"
            range={range}
            empty={NO_PG}
            lines={[{ label: 'connections', query: 'sum by (database) (opsbook_pg_connections)' }]}
          />
          <Chart
            title="Query performance"
            range={range}
            empty={NO_PG}
            lines={[
              { label: 'slow statements', query: 'max by (database) (opsbook_pg_slow_queries)' },
              { label: 'long-running', query: 'max by (database) (opsbook_pg_long_running_queries)' },
              { label: 'blocked', query: 'max by (database) (opsbook_pg_blocked_queries)' },
            ]}
          />
          <Chart
            title="Storage"
            unit="B"
            range={range}
            empty={NO_PG}
            lines={[{ label: 'size', query: 'max by (database) (opsbook_pg_database_size_bytes)' }]}
          />
          <Chart
            title="Replication lag"
            unit="s"
            range={range}
            empty="No replication lag series: no replica is configured, or it has not been collected yet."
            lines={[{ label: 'lag', query: 'max by (database) (opsbook_pg_replication_lag_seconds)' }]}
          />
        </div>
      </Section>
      {dbs.data?.items.map((d) => (
        <Findings key={d.id} id={d.id} />
      ))}
      <div className="grid2">
        <Backups />
        <Drills />
      </div>
    </>
  );
}

function Findings({ id }: { id: string }) {
  const q = useQuery({
    queryKey: ['databases', id, 'health'],
    queryFn: () => get<Health>(`/databases/${id}/health`),
  });
  return (
    <Section title={`Advisor: ${id}`}>
      <Problem error={q.error} />
      {q.data?.findings.length === 0 && <p className="empty">No findings.</p>}
      <ul className="rows">
        {q.data?.findings.map((f) => (
          <li key={f.id}>
            <Status value={f.severity} /> {f.title}
            {f.fix.sql && (
              <details>
                <summary>Fix{f.fix.destructive ? ' (destructive)' : ''}</summary>
                <p>{f.fix.note}</p>
                <pre>{f.fix.sql}</pre>
              </details>
            )}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Backups() {
  const q = useQuery({
    queryKey: ['backups', 'list'],
    queryFn: () => get<{ items: Backup[] }>(`/backups${qs({ limit: 20 })}`),
  });
  return (
    <Section title="Backups">
      <Problem error={q.error} />
      {q.data?.items.length === 0 && <p className="empty">No backups yet.</p>}
      <ul className="rows small">
        {q.data?.items.map((b) => (
          <li key={b.id}>
            <Status value={b.status} /> {b.database} {time(b.startedAt)}{' '}
            <span className="muted">
              {bytes(b.sizeBytes)} · {b.trigger}
            </span>
            {b.copies.map((c) => (
              <span key={c.location} className="muted">
                {' '}
                · copy {c.location} {c.error ? `failed: ${c.error}` : 'ok'}
              </span>
            ))}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function Drills() {
  const q = useQuery({
    queryKey: ['drills', 'list'],
    queryFn: () => get<{ items: Drill[] }>('/drills?limit=20'),
  });
  return (
    <Section title="Recovery drills">
      <Problem error={q.error} />
      {q.data?.items.length === 0 && <p className="empty">No drills yet.</p>}
      <ul className="rows small">
        {q.data?.items.map((d) => (
          <li key={d.id}>
            <Status value={d.status} /> {d.database} {time(d.startedAt)}{' '}
            <span className="muted">
              RTO {d.rtoMs === null ? '—' : duration(d.rtoMs)} · RPO{' '}
              {d.rpoMs === null ? '—' : duration(d.rpoMs)} · {d.problems} problems
            </span>
          </li>
        ))}
      </ul>
    </Section>
  );
}
