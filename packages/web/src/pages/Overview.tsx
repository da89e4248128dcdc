// The morning check (guide 2.1) on one page: open incidents and their response timers, firing alerts by
// severity, every service's health, unhealthy checks, recent backups, drills and events.
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import {
  get,
  qs,
  type Alerts,
  type Backup,
  type Checks,
  type Drill,
  type Events,
  type Incidents,
} from '../api.js';
import { ago, time } from '../format.js';
import { Countdown, Loading, Problem, Section, Status } from '../components/ui.js';
import { ServiceGrid } from '../components/ServiceGrid.js';

export function Overview() {
  return (
    <>
      <h1>Overview</h1>
      <div className="grid2">
        <OpenIncidents />
        <FiringAlerts />
      </div>
      <ServiceGrid />
      <div className="grid2">
        <UnhealthyChecks />
        <RecentEvents />
      </div>
      <div className="grid2">
        <RecentBackups />
        <RecentDrills />
      </div>
    </>
  );
}

function OpenIncidents() {
  const q = useQuery({
    queryKey: ['incidents', 'open'],
    queryFn: () => get<Incidents>('/incidents?open=true&limit=50'),
  });
  return (
    <Section title="Open incidents" actions={<Link to="/incidents">All incidents</Link>}>
      <Problem error={q.error} />
      {!q.data ? (
        <Loading what="incidents" />
      ) : q.data.items.length === 0 ? (
        <p className="empty">No open incidents.</p>
      ) : (
        <ul className="rows">
          {q.data.items.map((i) => (
            <li key={i.id}>
              <Status value={i.severity} /> <Link to={`/incidents/${i.id}`}>{i.id}</Link> {i.title}{' '}
              <Status value={i.stage} />{' '}
              {i.acknowledgedAt === null ? (
                <Countdown due={i.responseDueAt} label="acknowledge" />
              ) : i.resolutionDueAt !== null && i.resolvedAt === null ? (
                <Countdown due={i.resolutionDueAt} label="resolve" />
              ) : (
                <span className="muted">acknowledged by {i.acknowledgedBy}</span>
              )}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function FiringAlerts() {
  const q = useQuery({
    queryKey: ['alerts', 'firing'],
    queryFn: () => get<Alerts>('/alerts?state=firing&limit=1000'),
  });
  const items = q.data?.items ?? [];
  const bySeverity = (s: string) => items.filter((a) => a.severity === s).length;
  return (
    <Section title="Firing alerts" actions={<Link to="/alerts">All alerts</Link>}>
      <Problem error={q.error} />
      <div className="tiles" aria-label="Firing alerts by severity">
        {(['critical', 'warning', 'info'] as const).map((s) => (
          <div key={s} className={`tile ${s}`}>
            <span className="tile-n" data-testid={`firing-${s}`}>
              {q.data ? bySeverity(s) : '…'}
            </span>
            <span>{s}</span>
          </div>
        ))}
      </div>
      <ul className="rows">
        {items.slice(0, 8).map((a) => (
          <li key={a.fingerprint}>
            <Status value={a.severity} /> <strong>{a.alertname}</strong> {a.service ?? ''}{' '}
            <span className="muted">since {ago(a.firedAt ?? a.activeAt)}</span>
            {a.suppressed && <span className="muted"> · silenced</span>}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function UnhealthyChecks() {
  // Only the failing ones: with 10,000 checks the overview must not fetch them all.
  const q = useQuery({
    queryKey: ['checks', 'unhealthy'],
    queryFn: () => get<Checks>('/checks?status=unhealthy&limit=100'),
  });
  return (
    <Section title="Unhealthy checks">
      <Problem error={q.error} />
      {!q.data ? (
        <Loading what="checks" />
      ) : q.data.total === 0 ? (
        <p className="empty">Every check is healthy or not yet known.</p>
      ) : (
        <>
          <p>{q.data.total} unhealthy</p>
          <ul className="rows">
            {q.data.items.map((c) => (
              <li key={c.id}>
                <Status value={c.status} />{' '}
                <Link to={`/services/${encodeURIComponent(c.service)}`}>{c.id}</Link>{' '}
                <span className="muted">
                  since {ago(c.since)} · {c.lastResult?.message}
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </Section>
  );
}

function RecentEvents() {
  const q = useQuery({ queryKey: ['events', 'recent'], queryFn: () => get<Events>('/events?limit=12') });
  return (
    <Section title="Recent events">
      <Problem error={q.error} />
      <ul className="rows small">
        {q.data?.items.map((e) => (
          <li key={e.id}>
            <Status value={e.severity} /> <span className="muted">{ago(e.at)}</span> {e.message}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function RecentBackups() {
  const q = useQuery({
    queryKey: ['backups', 'recent'],
    queryFn: () => get<{ items: Backup[] }>(`/backups${qs({ limit: 5 })}`),
  });
  return (
    <Section title="Recent backups" actions={<Link to="/dashboards/database">Database</Link>}>
      <Problem error={q.error} />
      {q.data?.items.length === 0 && (
        <p className="empty">No backups yet (configure databases and backups).</p>
      )}
      <ul className="rows small">
        {q.data?.items.map((b) => (
          <li key={b.id}>
            <Status value={b.status} /> {b.database} <span className="muted">{time(b.startedAt)}</span>
            {b.error && <span className="problem"> {b.error}</span>}
          </li>
        ))}
      </ul>
    </Section>
  );
}

function RecentDrills() {
  const q = useQuery({
    queryKey: ['drills', 'recent'],
    queryFn: () => get<{ items: Drill[] }>('/drills?limit=5'),
  });
  return (
    <Section title="Recovery drills">
      <Problem error={q.error} />
      {q.data?.items.length === 0 && (
        <p className="empty">No drills yet; the guide asks for one each quarter.</p>
      )}
      <ul className="rows small">
        {q.data?.items.map((d) => (
          <li key={d.id}>
            <Status value={d.status} /> {d.database} <span className="muted">{time(d.startedAt)}</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}
