// One service: its checks and their state, recent deployments, latency percentiles and availability over a
// chosen range.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { get, post, qs, type Checks, type Infer, type Services } from '../api.js';
import { ago, ms } from '../format.js';
import { Chart, RangePicker, type Range } from '../components/Chart.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';
import type { DeploymentList } from '@opsbook/contracts';
import { DeploymentsTable } from './Overview.js';
import { NeedsRole, useNeed } from '../session.js';

export function ServiceDetail() {
  const name = useParams().name!;
  const [range, setRange] = useState<Range>('1h');
  const services = useQuery({ queryKey: ['services'], queryFn: () => get<Services>('/services') });
  const service = services.data?.items.find((s) => s.name === name);
  const checks = useQuery({
    queryKey: ['checks', 'service', name],
    queryFn: () => get<Checks>(`/checks${qs({ service: name, limit: 1000 })}`),
  });
  const sel = `service="${name.replaceAll('"', '\\"')}"`;
  return (
    <>
      <p>
        <Link to="/services">← Services</Link>
      </p>
      <h1>
        {name} {service && <Status value={service.status} />}
      </h1>
      {service && (
        <p className="muted">
          {service.description ?? ''} owner {service.owner} · {service.environment} ·{' '}
          {service.tags.join(', ')}
        </p>
      )}
      <Problem error={services.error} />
      <Section title="Checks" actions={<NeedsRole need="responder" />}>
        <Problem error={checks.error} />
        {!checks.data ? (
          <Loading what="checks" />
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Since</th>
                <th scope="col">Last result</th>
                <th scope="col">Latency</th>
                <th scope="col">Run</th>
              </tr>
            </thead>
            <tbody>
              {checks.data.items.map((c) => (
                <tr key={c.id} data-check={c.id} data-status={c.status}>
                  <th scope="row">
                    {c.name}{' '}
                    <span className="muted">
                      {c.kind} {c.target}
                    </span>
                  </th>
                  <td>{c.role}</td>
                  <td>
                    <Status value={c.status} />
                  </td>
                  <td>{ago(c.since)}</td>
                  <td>{c.lastResult ? `${c.lastResult.status}: ${c.lastResult.message}` : '—'}</td>
                  <td>{ms(c.lastResult?.latencyMs)}</td>
                  <td>
                    <RunNow id={c.id} name={c.name} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <ServiceDeployments name={name} />
      <Section title="Latency and availability" actions={<RangePicker value={range} onChange={setRange} />}>
        <div className="charts">
          <Chart
            title="Probe latency p50 / p95 / p99"
            unit="s"
            range={range}
            lines={[0.5, 0.95, 0.99].map((q) => ({
              label: `p${Math.round(q * 100)}`,
              query: `max(quantile_over_time(${q}, opsbook_check_latency_seconds{${sel}}[$window]))`,
            }))}
          />
          <Chart
            title="Availability"
            unit="%"
            range={range}
            lines={[
              {
                label: 'availability',
                query: `100 * avg(avg_over_time(opsbook_check_success{${sel}}[$window]))`,
              },
            ]}
          />
        </div>
      </Section>
    </>
  );
}

function RunNow({ id, name }: { id: string; name: string }) {
  const client = useQueryClient();
  const reason = useNeed('responder');
  const run = useMutation({
    mutationFn: () => post<{ status: string; message: string }>(`/checks/${id}/run`),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['checks'] }),
  });
  return (
    <>
      <button
        type="button"
        onClick={() => run.mutate()}
        disabled={run.isPending || !!reason}
        title={reason}
        aria-label={`Run ${name} now`}
      >
        Run now
      </button>
      {run.data && <span className="muted"> {run.data.status}</span>}
      <Problem error={run.error} />
    </>
  );
}

function ServiceDeployments({ name }: { name: string }) {
  const q = useQuery({
    queryKey: ['deployments', 'service', name],
    queryFn: () => get<Infer<typeof DeploymentList>>(`/deployments${qs({ service: name, limit: 10 })}`),
  });
  return (
    <Section title="Recent deployments">
      <Problem error={q.error} />
      {!q.data ? (
        q.error ? null : (
          <Loading what="deployments" />
        )
      ) : q.data.items.length === 0 ? (
        <p className="empty">No deployments of {name} recorded yet.</p>
      ) : (
        <DeploymentsTable items={q.data.items} showService={false} />
      )}
    </Section>
  );
}
