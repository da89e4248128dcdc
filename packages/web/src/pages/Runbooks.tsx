// Runbooks: read their steps, start one with typed parameters, and follow recent runs.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, get, post, type Run, type Runbook } from '../api.js';
import { Guard } from '../session.js';
import { ago } from '../format.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';

export function Runbooks() {
  const books = useQuery({ queryKey: ['runbooks'], queryFn: () => get<{ items: Runbook[] }>('/runbooks') });
  const runs = useQuery({
    queryKey: ['runs'],
    queryFn: () => get<{ items: Run[] }>('/runbook-runs?limit=30'),
  });
  const [open, setOpen] = useState<string>();
  return (
    <>
      <h1>Runbooks</h1>
      <div className="grid2 wide-left">
        <Section title="Runbooks">
          <Problem error={books.error} />
          {!books.data && <Loading what="runbooks" />}
          <ul className="books">
            {books.data?.items.map((b) => (
              <li key={b.id}>
                <button
                  type="button"
                  className="link"
                  aria-expanded={open === b.id}
                  onClick={() => setOpen(open === b.id ? undefined : b.id)}
                >
                  {b.title}
                </button>{' '}
                <span className="muted">{b.id}</span>
                {open === b.id && <RunbookDetail book={b} />}
              </li>
            ))}
          </ul>
        </Section>
        <Section title="Recent runs">
          <Problem error={runs.error} />
          {runs.data?.items.length === 0 && <p className="empty">No runs yet.</p>}
          <ul className="rows small">
            {runs.data?.items.map((r) => (
              <li key={r.id}>
                <Status value={r.status} /> <Link to={`/runbooks/runs/${r.id}`}>{r.title}</Link>{' '}
                <span className="muted">
                  {ago(r.createdAt)} by {r.startedBy}
                  {typeof r.trigger.incident === 'string' ? ` for ${r.trigger.incident}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </Section>
      </div>
    </>
  );
}

function RunbookDetail({ book }: { book: Runbook }) {
  const navigate = useNavigate();
  const params = Object.entries(book.parameters);
  const [values, setValues] = useState<Record<string, string | boolean>>(() =>
    Object.fromEntries(
      params.map(([name, p]) => [name, p.type === 'boolean' ? p.default === true : String(p.default ?? '')]),
    ),
  );
  const [incident, setIncident] = useState('');
  const start = useMutation({
    mutationFn: () => {
      const parameters: Record<string, string | number | boolean> = {};
      for (const [name, p] of params) {
        const v = values[name];
        if (v === '' || v === undefined) continue;
        parameters[name] = p.type === 'number' ? Number(v) : v;
      }
      return post<Run>(`/runbooks/${book.id}/runs`, {
        parameters,
        ...(incident ? { incident } : {}),
      });
    },
    onSuccess: (run) => void navigate(`/runbooks/runs/${run.id}`),
  });
  const fieldError = (f: string) => (start.error instanceof ApiError ? start.error.messageFor(f) : undefined);
  return (
    <div className="book">
      {book.description && <p>{book.description}</p>}
      <ol className="steps">
        {book.steps.map((s) => (
          <li key={s.id}>
            {s.title}{' '}
            <span className="muted">
              {s.kind} · {s.phase}
            </span>
          </li>
        ))}
      </ol>
      <Guard need="responder">
        <form
          className="inline-form"
          aria-label={`Start ${book.title}`}
          onSubmit={(e) => {
            e.preventDefault();
            start.mutate();
          }}
        >
          {params.map(([name, p]) => (
            <label key={name} title={p.description}>
              {name}
              {p.required ? ' *' : ''}{' '}
              {p.type === 'boolean' ? (
                <input
                  type="checkbox"
                  checked={values[name] === true}
                  onChange={(e) => setValues({ ...values, [name]: e.target.checked })}
                />
              ) : p.enum ? (
                <select
                  value={String(values[name])}
                  onChange={(e) => setValues({ ...values, [name]: e.target.value })}
                >
                  {p.enum.map((o) => (
                    <option key={String(o)}>{String(o)}</option>
                  ))}
                </select>
              ) : (
                <input
                  type={p.type === 'number' ? 'number' : 'text'}
                  value={String(values[name] ?? '')}
                  required={p.required === true}
                  onChange={(e) => setValues({ ...values, [name]: e.target.value })}
                />
              )}
              {fieldError(`parameters.${name}`) && (
                <span className="field-error">{fieldError(`parameters.${name}`)}</span>
              )}
            </label>
          ))}
          <label>
            For incident{' '}
            <input
              value={incident}
              onChange={(e) => setIncident(e.target.value)}
              placeholder="INC-1 (optional)"
              size={8}
            />
          </label>
          <button type="submit" disabled={start.isPending}>
            Start run
          </button>
          <Problem error={start.error} />
        </form>
      </Guard>
    </div>
  );
}
