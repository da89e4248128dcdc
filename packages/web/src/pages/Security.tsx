// Guide 3.5, security dashboard: certificate expiry from TLS checks and security alerts. Failed sign-ins
// and the access log arrive with access control.
import { useQuery } from '@tanstack/react-query';
import { get, type Alerts, type Vector } from '../api.js';
import { ago } from '../format.js';
import { Problem, Section, Status } from '../components/ui.js';

const SECURITY_ALERTS = /cert|security|breach|tls|auth|sign/i;

export function Security() {
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
      <div className="grid2">
        <Section title="Failed sign-ins">
          <p className="notice" role="note">
            Not recorded yet: Opsbook has no sign-in until access control lands. Failed sign-ins will show
            here.
          </p>
        </Section>
        <Section title="Access log">
          <p className="notice" role="note">
            Not recorded yet: the audit of sign-ins and changes comes with access control. Runbook approvals
            and database backend actions are already audited (see a run's audit or GET
            /api/v1/databases/&#123;id&#125;/backends/audit).
          </p>
        </Section>
      </div>
    </>
  );
}
