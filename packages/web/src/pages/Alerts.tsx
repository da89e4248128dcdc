// Alerts held now and their history; silence an alert or put a service into maintenance from here.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState } from 'react';
import {
  del,
  get,
  post,
  qs,
  ApiError,
  type Alert,
  type Alerts as AlertList,
  type AlertHistory,
  type Maintenance,
  type Services,
  type Silences,
} from '../api.js';
import { NeedsRole, useNeed, Guard } from '../session.js';
import { ago, time } from '../format.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';

export function Alerts() {
  const [state, setState] = useState('');
  const [severity, setSeverity] = useState('');
  const q = useQuery({
    queryKey: ['alerts', 'list', state, severity],
    queryFn: () => get<AlertList>(`/alerts${qs({ state, severity, limit: 1000 })}`),
  });
  const items = q.data?.items ?? [];
  const box = useRef<HTMLDivElement>(null);
  const [silencing, setSilencing] = useState<string>();
  const reason = useNeed('responder');
  const virtual = useVirtualizer({
    count: items.length,
    getScrollElement: () => box.current,
    estimateSize: (i) => (items[i]?.fingerprint === silencing ? 200 : 44),
    overscan: 8,
  });
  return (
    <>
      <h1>Alerts</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">any</option>
            <option value="firing">firing</option>
            <option value="pending">pending</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <label>
          Severity{' '}
          <select value={severity} onChange={(e) => setSeverity(e.target.value)}>
            <option value="">any</option>
            <option value="critical">critical</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </label>
        <span className="muted">{q.data ? `${q.data.total} alerts` : ''}</span>
      </form>
      <Section title="Active alerts" actions={<NeedsRole need="responder" />}>
        <Problem error={q.error} />
        {!q.data ? (
          <Loading what="alerts" />
        ) : items.length === 0 ? (
          <p className="empty">No alerts match.</p>
        ) : (
          <div
            ref={box}
            className="vlist"
            style={{ height: Math.min(items.length * 44 + (silencing ? 160 : 0), 560) + 4 }}
          >
            <ul aria-label="Alerts" style={{ height: virtual.getTotalSize(), position: 'relative' }}>
              {virtual.getVirtualItems().map((row) => {
                const a = items[row.index]!;
                return (
                  <li
                    key={a.fingerprint}
                    ref={virtual.measureElement}
                    data-index={row.index}
                    className="vrow alert-row"
                    style={{ transform: `translateY(${row.start}px)` }}
                  >
                    <div>
                      <Status value={a.state} /> <Status value={a.severity} /> <strong>{a.alertname}</strong>{' '}
                      {a.service ?? ''}{' '}
                      <span className="muted">
                        {a.annotations.summary ?? ''} · since {ago(a.firedAt ?? a.activeAt)}
                      </span>
                      {a.suppressed && (
                        <>
                          {' '}
                          <span className="badge muted">silenced</span>
                        </>
                      )}{' '}
                      <button
                        type="button"
                        aria-expanded={silencing === a.fingerprint}
                        disabled={!!reason}
                        title={reason}
                        onClick={() => setSilencing(silencing === a.fingerprint ? undefined : a.fingerprint)}
                        aria-label={`Silence ${a.alertname}${a.service ? ` on ${a.service}` : ''}`}
                      >
                        Silence…
                      </button>
                    </div>
                    {silencing === a.fingerprint && (
                      <SilenceForm alert={a} onDone={() => setSilencing(undefined)} />
                    )}
                  </li>
                );
              })}
            </ul>
          </div>
        )}
      </Section>
      <div className="grid2">
        <SilenceList />
        <MaintenanceForm />
      </div>
      <History />
    </>
  );
}

function SilenceForm({ alert, onDone }: { alert: Alert; onDone(): void }) {
  const client = useQueryClient();
  const [duration, setDuration] = useState('2h');
  const [comment, setComment] = useState('');
  const matchers = [
    `alertname="${alert.alertname}"`,
    ...(alert.service ? [`service="${alert.service}"`] : []),
  ];
  const create = useMutation({
    mutationFn: () => post('/silences', { matchers, duration, comment }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['alerts'] });
      void client.invalidateQueries({ queryKey: ['silences'] });
      onDone();
    },
  });
  const fieldError = (f: string) =>
    create.error instanceof ApiError ? create.error.messageFor(f) : undefined;
  return (
    <form
      className="inline-form"
      aria-label={`Silence ${alert.alertname}`}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <p className="muted">Matchers: {matchers.join(', ')}</p>
      <label>
        Duration <input value={duration} onChange={(e) => setDuration(e.target.value)} size={6} />
      </label>
      {fieldError('duration') && <span className="field-error">{fieldError('duration')}</span>}
      <label>
        Comment{' '}
        <input value={comment} onChange={(e) => setComment(e.target.value)} required placeholder="why" />
      </label>
      {fieldError('comment') && <span className="field-error">{fieldError('comment')}</span>}
      <button type="submit" disabled={create.isPending}>
        Create silence
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      {!fieldError('duration') && !fieldError('comment') && <Problem error={create.error} />}
    </form>
  );
}

function SilenceList() {
  const client = useQueryClient();
  const reason = useNeed('responder');
  const q = useQuery({ queryKey: ['silences'], queryFn: () => get<Silences>('/silences') });
  const expire = useMutation({
    mutationFn: (id: string) => del(`/silences/${id}`),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['silences'] });
      void client.invalidateQueries({ queryKey: ['alerts'] });
    },
  });
  const current = q.data?.items.filter((s) => s.status !== 'expired') ?? [];
  return (
    <Section title="Silences" actions={<NeedsRole need="responder" />}>
      <Problem error={q.error ?? expire.error} />
      {current.length === 0 && <p className="empty">No active silences.</p>}
      <ul className="rows small" aria-label="Silences">
        {current.map((s) => (
          <li key={s.id}>
            <Status value={s.status} /> {s.matchers.join(', ')}{' '}
            <span className="muted">
              until {s.untilResolved ? 'resolved' : time(s.endsAt)} by {s.createdBy}: {s.comment}
            </span>{' '}
            <button
              type="button"
              onClick={() => expire.mutate(s.id)}
              disabled={!!reason}
              title={reason}
              aria-label={`Expire silence ${s.matchers.join(', ')}`}
            >
              Expire
            </button>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function MaintenanceForm() {
  const client = useQueryClient();
  const services = useQuery({ queryKey: ['services'], queryFn: () => get<Services>('/services') });
  const windows = useQuery({ queryKey: ['maintenance'], queryFn: () => get<Maintenance>('/maintenance') });
  const [service, setService] = useState('');
  const [duration, setDuration] = useState('1h');
  const [comment, setComment] = useState('');
  const create = useMutation({
    mutationFn: () =>
      post('/maintenance', {
        name: `${service} maintenance`,
        services: [service],
        startsAt: Date.now(),
        duration,
        comment,
      }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['maintenance'] });
      void client.invalidateQueries({ queryKey: ['alerts'] });
    },
  });
  const fieldError = (f: string) =>
    create.error instanceof ApiError ? create.error.messageFor(f) : undefined;
  return (
    <Section title="Maintenance">
      <Guard need="responder">
        <form
          className="inline-form"
          aria-label="Put a service into maintenance"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <label>
            Service{' '}
            <select value={service} onChange={(e) => setService(e.target.value)} required>
              <option value="">choose…</option>
              {services.data?.items.map((s) => (
                <option key={s.name}>{s.name}</option>
              ))}
            </select>
          </label>
          <label>
            For <input value={duration} onChange={(e) => setDuration(e.target.value)} size={5} />
          </label>
          {fieldError('duration') && <span className="field-error">{fieldError('duration')}</span>}
          <label>
            Comment <input value={comment} onChange={(e) => setComment(e.target.value)} />
          </label>
          <button type="submit" disabled={create.isPending}>
            Start maintenance
          </button>
          {!fieldError('duration') && <Problem error={create.error} />}
        </form>
      </Guard>
      <ul className="rows small" aria-label="Maintenance windows">
        {windows.data?.items
          .filter((w) => w.expiredAt === null)
          .map((w) => (
            <li key={w.id}>
              <Status value={w.active ? 'active' : 'scheduled'} /> {w.name}{' '}
              <span className="muted">
                {w.services.join(', ')} {w.endsAt ? `until ${time(w.endsAt)}` : (w.schedule ?? '')}
              </span>
            </li>
          ))}
      </ul>
    </Section>
  );
}

function History() {
  const [cursor, setCursor] = useState<string | null>(null);
  const [pages, setPages] = useState<AlertHistory['items']>([]);
  const q = useQuery({
    queryKey: ['alerts', 'history', cursor],
    queryFn: () => get<AlertHistory>(`/alerts/history${qs({ limit: 50, cursor })}`),
  });
  const items = [...pages, ...(q.data?.items ?? [])];
  return (
    <Section title="History">
      <Problem error={q.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">State</th>
            <th scope="col">Alert</th>
            <th scope="col">Service</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>
          {items.map((h) => (
            <tr key={h.id}>
              <td>{time(h.at)}</td>
              <td>
                <Status value={h.state} />
              </td>
              <td>{h.alertname}</td>
              <td>{h.service ?? ''}</td>
              <td>{h.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {q.data?.nextCursor && (
        <button
          type="button"
          onClick={() => {
            setPages(items);
            setCursor(q.data.nextCursor);
          }}
        >
          Older
        </button>
      )}
    </Section>
  );
}
