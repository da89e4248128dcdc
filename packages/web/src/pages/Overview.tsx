// The morning check (guide 2.1) on one page: open incidents and their response timers, firing alerts by
// severity, every service's health, unhealthy checks, recent deployments, backups, drills and events.
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { DeploymentList } from '@opsbook/contracts';
import {
  get,
  qs,
  type Infer,
  type Alerts,
  type Backup,
  type Checks,
  type Drill,
  type Events,
  type Incidents,
} from '../api.js';
import { ago, time } from '../format.js';
import { Badge, Countdown, Loading, Problem, Section, Status, useNow } from '../components/ui.js';
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
      <RecentDeployments />
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

type Deployment = Infer<typeof DeploymentList>['items'][number];

const DEPLOYMENT_TONES: Record<string, string> = {
  in_progress: 'info',
  succeeded: 'ok',
  failed: 'bad',
  rolled_back: 'warn',
};

/** Guide 5.2: after a deployment, watch the service for 30 minutes; alerts in that window may be regressions. */
function RecentDeployments() {
  const q = useQuery({
    queryKey: ['deployments', 'recent'],
    queryFn: () => get<Infer<typeof DeploymentList>>(`/deployments${qs({ limit: 8 })}`),
  });
  return (
    <Section title="Recent deployments">
      <Problem error={q.error} />
      {!q.data ? (
        q.error ? null : (
          <Loading what="deployments" />
        )
      ) : q.data.items.length === 0 ? (
        <p className="empty">
          No deployments recorded yet; pipelines record them with POST /api/v1/deployments or{' '}
          <code>opsbook deployments record</code>.
        </p>
      ) : (
        <DeploymentsTable items={q.data.items} showService />
      )}
    </Section>
  );
}

/** Deployments with their watch window and the alerts that fired in it (also on the service page). */
export function DeploymentsTable({ items, showService }: { items: Deployment[]; showService: boolean }) {
  // The window closes as time passes, without any server event.
  const now = useNow(30_000);
  return (
    <table aria-label="Deployments">
      <thead>
        <tr>
          {showService && <th scope="col">Service</th>}
          <th scope="col">Version</th>
          <th scope="col">Status</th>
          <th scope="col">By</th>
          <th scope="col">When</th>
          <th scope="col">Watch</th>
          <th scope="col">Alerts in the window</th>
        </tr>
      </thead>
      <tbody>
        {items.map((d) => {
          const watching = d.status === 'in_progress' || (d.watchUntil !== null && now < d.watchUntil);
          return (
            <tr key={d.id} data-deployment={d.id} data-status={d.status}>
              {showService && (
                <td>
                  <Link to={`/services/${encodeURIComponent(d.service)}`}>{d.service}</Link>
                </td>
              )}
              <th scope="row">
                {d.url ? (
                  <a href={d.url} target="_blank" rel="noreferrer">
                    {d.version}
                  </a>
                ) : (
                  d.version
                )}{' '}
                <span className="muted">{d.environment}</span>
                {d.description && <div className="muted">{d.description}</div>}
              </th>
              <td>
                <Badge tone={DEPLOYMENT_TONES[d.status] ?? 'muted'}>{d.status.replace('_', ' ')}</Badge>
              </td>
              <td>{d.by ?? '—'}</td>
              <td title={time(d.startedAt)}>{ago(d.startedAt, now)}</td>
              <td>
                {d.status === 'in_progress' ? (
                  <span className="countdown">watching while deploying</span>
                ) : watching && d.watchUntil !== null ? (
                  <span className="countdown" title={time(d.watchUntil)}>
                    watching until {clock(d.watchUntil)}
                  </span>
                ) : (
                  <span className="muted">done</span>
                )}
              </td>
              <td>
                {d.alerts.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  <ul className="rows small" aria-label={`Alerts after ${d.service} ${d.version}`}>
                    {d.alerts.map((a) => (
                      <li key={a.fingerprint}>
                        <Status value={a.severity} /> <strong>{a.alertname}</strong>{' '}
                        <span className="muted">{clock(a.firedAt)}</span> {a.summary}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function clock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
