// Incidents, newest first, with response timers; open one by hand.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, get, post, qs, type Incident, type Incidents as IncidentList } from '../api.js';
import { Guard } from '../session.js';
import { ago } from '../format.js';
import { Countdown, Loading, Problem, Section, Status } from '../components/ui.js';

export function Incidents() {
  const [open, setOpen] = useState(true);
  const [severity, setSeverity] = useState('');
  const q = useQuery({
    queryKey: ['incidents', 'list', open, severity],
    queryFn: () =>
      get<IncidentList>(`/incidents${qs({ open: open ? 'true' : undefined, severity, limit: 200 })}`),
  });
  return (
    <>
      <h1>Incidents</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          <input type="checkbox" checked={open} onChange={(e) => setOpen(e.target.checked)} /> Open only
        </label>
        <label>
          Severity{' '}
          <select value={severity} onChange={(e) => setSeverity(e.target.value)}>
            <option value="">any</option>
            {['SEV1', 'SEV2', 'SEV3', 'SEV4'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      <Section title={open ? 'Open incidents' : 'Incidents'}>
        <Problem error={q.error} />
        {!q.data ? (
          <Loading what="incidents" />
        ) : q.data.items.length === 0 ? (
          <p className="empty">No incidents.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Incident</th>
                <th scope="col">Severity</th>
                <th scope="col">Stage</th>
                <th scope="col">Services</th>
                <th scope="col">Commander</th>
                <th scope="col">Opened</th>
                <th scope="col">Timer</th>
              </tr>
            </thead>
            <tbody>
              {q.data.items.map((i) => (
                <tr key={i.id}>
                  <th scope="row">
                    <Link to={`/incidents/${i.id}`}>{i.id}</Link> {i.title}
                  </th>
                  <td>
                    <Status value={i.severity} />
                  </td>
                  <td>
                    <Status value={i.stage} />
                  </td>
                  <td>{i.services.join(', ')}</td>
                  <td>{i.commander ?? '—'}</td>
                  <td>{ago(i.createdAt)}</td>
                  <td>
                    <Timer incident={i} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <OpenIncident />
    </>
  );
}

export function Timer({ incident: i }: { incident: Incident }) {
  if (i.acknowledgedAt === null && i.resolvedAt === null)
    return <Countdown due={i.responseDueAt} label="acknowledge" />;
  if (i.resolutionDueAt !== null && i.resolvedAt === null)
    return <Countdown due={i.resolutionDueAt} label="resolve" />;
  return (
    <span className="muted">
      {i.resolvedAt ? `resolved ${ago(i.resolvedAt)}` : `acknowledged ${ago(i.acknowledgedAt)}`}
    </span>
  );
}

function OpenIncident() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState('SEV3');
  const [services, setServices] = useState('');
  const create = useMutation({
    mutationFn: () =>
      post<Incident>('/incidents', {
        title,
        severity,
        services: services
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      }),
    onSuccess: (incident) => {
      void client.invalidateQueries({ queryKey: ['incidents'] });
      void navigate(`/incidents/${incident.id}`);
    },
  });
  const fieldError = (f: string) =>
    create.error instanceof ApiError ? create.error.messageFor(f) : undefined;
  return (
    <Section title="Open an incident">
      <Guard need="responder">
        <form
          className="inline-form"
          aria-label="Open an incident"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <label>
            Title <input value={title} onChange={(e) => setTitle(e.target.value)} required size={30} />
          </label>
          {fieldError('title') && <span className="field-error">{fieldError('title')}</span>}
          <label>
            Severity{' '}
            <select value={severity} onChange={(e) => setSeverity(e.target.value)}>
              {['SEV1', 'SEV2', 'SEV3', 'SEV4'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Services{' '}
            <input
              value={services}
              onChange={(e) => setServices(e.target.value)}
              placeholder="comma-separated"
            />
          </label>
          <button type="submit" disabled={create.isPending}>
            Open incident
          </button>
          {!fieldError('title') && <Problem error={create.error} />}
        </form>
      </Guard>
    </Section>
  );
}
