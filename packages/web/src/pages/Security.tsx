// Guide 3.5, security dashboard: failed sign-ins, locked accounts, the access log (every sign-in and
// every change, from the audit log), security alerts and certificate expiry.
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { get, qs, type Alerts, type Audit, type AuditEntry, type Vector } from '../api.js';
import { ago, time } from '../format.js';
import { hasRole, useSession } from '../session.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';

const SECURITY_ALERTS = /cert|security|breach|tls|auth|sign/i;

export function Security() {
  const session = useSession();
  const certs = useQuery({
    queryKey: ['certs'],
    queryFn: () => get<Vector>('/query?query=opsbook_certificate_expiry_days'),
  });
  const alerts = useQuery({ queryKey: ['alerts', 'all'], queryFn: () => get<Alerts>('/alerts?limit=1000') });
  const rows = [...(certs.data?.data.result ?? [])].sort((a, b) => Number(a.value[1]) - Number(b.value[1]));
  const security = (alerts.data?.items ?? []).filter(
    (a) => SECURITY_ALERTS.test(a.alertname) || a.labels.category === 'security',
  );
  return (
    <>
      <h1>Security</h1>
      <div className="grid2">
        <Section title="Certificate expiry">
          <Problem error={certs.error} />
          {certs.data && rows.length === 0 && (
            <p className="empty">No TLS checks: add a check with a `tls:` probe to watch a certificate.</p>
          )}
          <table>
            <tbody>
              {rows.map((r) => {
                const days = Number(r.value[1]);
                return (
                  <tr key={`${r.metric.service}/${r.metric.check}`}>
                    <th scope="row">
                      {r.metric.service}/{r.metric.check}
                    </th>
                    <td>
                      <Status value={days < 7 ? 'critical' : days < 30 ? 'warning' : 'healthy'} />{' '}
                      {Math.floor(days)} days left
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Section>
        <Section title="Security alerts">
          <Problem error={alerts.error} />
          {alerts.data && security.length === 0 && (
            <p className="empty">No security or certificate alerts.</p>
          )}
          <ul className="rows small">
            {security.map((a) => (
              <li key={a.fingerprint}>
                <Status value={a.state} /> <Status value={a.severity} /> {a.alertname} {a.service ?? ''}{' '}
                <span className="muted">{ago(a.firedAt ?? a.activeAt)}</span>
              </li>
            ))}
          </ul>
        </Section>
      </div>
      {hasRole(session, 'responder') ? (
        <>
          <FailedSignIns />
          <AccessLog />
        </>
      ) : (
        <Section title="Access log">
          <p className="notice" role="note">
            Failed sign-ins and the access log need the responder role; you are signed in as a viewer. Ask an
            admin if you need them.
          </p>
        </Section>
      )}
    </>
  );
}

const DAY_MS = 86_400_000;

function FailedSignIns() {
  // Rounded to the minute so the query key (and its cache entry) stays put between renders.
  const since = Math.floor((Date.now() - DAY_MS) / 60_000) * 60_000;
  const q = useQuery({
    queryKey: ['audit', 'failed-sign-ins', since],
    queryFn: () =>
      get<Audit>(`/audit${qs({ action: 'auth.sign-in', outcome: 'failure', from: since, limit: 20 })}`),
    refetchInterval: 15_000,
    placeholderData: keepPreviousData,
  });
  return (
    <div className="grid2">
      <Section title="Sign-ins">
        <Problem error={q.error} />
        <div className="tiles">
          <div className={`tile ${q.data?.failedSignIns24h ? 'warning' : ''}`} data-testid="failed-sign-ins">
            <span className="tile-n">{q.data?.failedSignIns24h ?? '…'}</span>
            <span>failed sign-ins, last 24 h</span>
          </div>
          <div className={`tile ${q.data?.lockedUsers ? 'critical' : ''}`} data-testid="locked-users">
            <span className="tile-n">{q.data?.lockedUsers ?? '…'}</span>
            <span>locked accounts</span>
          </div>
        </div>
        <p className="muted small">
          An account locks after repeated failed sign-ins; an admin can unlock it on the Admin page.
        </p>
      </Section>
      <Section title="Failed sign-ins">
        {q.data && q.data.items.length === 0 && (
          <p className="empty">No failed sign-ins in the last 24 hours.</p>
        )}
        <ul className="rows small" aria-label="Failed sign-ins">
          {q.data?.items.map((e) => (
            <li key={e.id}>
              <span title={time(e.at)}>{ago(e.at)}</span> <strong>{e.actor}</strong>
              {e.ip && <span className="muted"> from {e.ip}</span>}
              {typeof e.detail.reason === 'string' && <span className="muted"> · {e.detail.reason}</span>}
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}

const PAGE = 50;

/** Typing a name asks the server once the typing pauses, not at every key. */
function useSettled(value: string, ms = 300): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

function AccessLog() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [outcome, setOutcome] = useState('');
  const filters = { actor: useSettled(actor.trim()), action: useSettled(action.trim()), outcome };
  const q = useInfiniteQuery({
    queryKey: ['audit', 'log', filters],
    queryFn: ({ pageParam }) => get<Audit>(`/audit${qs({ ...filters, limit: PAGE, cursor: pageParam })}`),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    refetchInterval: 15_000,
    placeholderData: keepPreviousData,
  });
  const items: AuditEntry[] = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Section title="Access log">
      <form className="filters" aria-label="Filter the access log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Actor{' '}
          <input
            type="search"
            value={actor}
            onChange={(e) => setActor(e.target.value)}
            placeholder="username or token:name"
            size={18}
          />
        </label>
        <label>
          Action{' '}
          <input
            type="search"
            value={action}
            onChange={(e) => setAction(e.target.value)}
            placeholder="e.g. auth.sign-in"
            size={18}
          />
        </label>
        <label>
          Outcome{' '}
          <select value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="denied">denied</option>
          </select>
        </label>
      </form>
      <Problem error={q.error} />
      {!q.data ? (
        <Loading what="the access log" />
      ) : items.length === 0 ? (
        <p className="empty">No entries match.</p>
      ) : (
        <table aria-label="Access log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-outcome={e.outcome}>
                <td title={ago(e.at)}>{time(e.at)}</td>
                <td>{e.actor}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.target ?? ''}</td>
                <td>
                  <Status value={e.outcome} />
                  {e.status !== null && <span className="muted"> {e.status}</span>}
                </td>
                <td className="muted">{e.ip ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {q.hasNextPage && (
        <button type="button" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      )}
    </Section>
  );
}
