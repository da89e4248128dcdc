// One incident: its timers and stage, the response actions, the live timeline, its runbook runs and
// the post-mortem once drafted.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, get, post, type IncidentWithTimeline, type Postmortem } from '../api.js';
import { Guard } from '../session.js';
import { ago, time } from '../format.js';
import { RunView } from '../components/RunView.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';
import { Timer } from './Incidents.js';

const STAGES = ['detection', 'triage', 'investigation', 'resolution', 'post-incident', 'closed'];

export function IncidentPage() {
  const id = useParams().id!;
  const q = useQuery({
    queryKey: ['incident', id],
    queryFn: () => get<IncidentWithTimeline>(`/incidents/${id}`),
  });
  if (q.error) return <Problem error={q.error} />;
  if (!q.data) return <Loading what={id} />;
  const i = q.data;
  const runIds = [
    ...new Set(i.timeline.map((t) => t.data.runId).filter((r): r is string => typeof r === 'string')),
  ];
  return (
    <>
      <p>
        <Link to="/incidents">← Incidents</Link>
      </p>
      <h1>
        {i.id} {i.title}
      </h1>
      <p className="facts">
        <Status value={i.severity} /> stage <Status value={i.stage} /> <Timer incident={i} /> · services{' '}
        {i.services.join(', ') || '—'} · commander {i.commander ?? 'none'} · opened {time(i.createdAt)} by{' '}
        {i.createdBy}
        {Object.entries(i.roles)
          .filter(([role]) => role !== 'commander')
          .map(([role, person]) => ` · ${role} ${person}`)}
      </p>
      {i.stage !== 'closed' && <Actions incident={i} />}
      <div className="grid2 wide-left">
        <Section title="Timeline">
          <ol className="timeline" aria-label="Timeline" aria-live="polite">
            {[...i.timeline].reverse().map((t) => (
              <li key={t.id} className={`tl ${t.kind.replace('.', '-')}`}>
                <span className="muted" title={time(t.at)}>
                  {ago(t.at)}
                </span>{' '}
                <Status value={t.kind} /> <strong>{t.actor}</strong> {t.text}
              </li>
            ))}
          </ol>
        </Section>
        <Section title="Alerts">
          {i.alerts.length === 0 && <p className="empty">No linked alerts.</p>}
          <ul className="rows small">
            {i.alerts.map((a) => (
              <li key={a.fingerprint}>
                <Status value={a.status} /> {a.alertname}{' '}
                <span className="muted">
                  {Object.entries(a.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}
                </span>
              </li>
            ))}
          </ul>
        </Section>
      </div>
      <Section title="Runbook runs">
        {runIds.length === 0 && <p className="empty">No runbook has run for this incident.</p>}
        {runIds.map((r) => (
          <RunView key={r} id={r} />
        ))}
      </Section>
      {(i.stage === 'post-incident' || i.stage === 'closed') && <PostmortemView id={i.id} />}
    </>
  );
}

function useAction(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ path, body }: { path: string; body: Record<string, unknown> }) =>
      post<IncidentWithTimeline>(`/incidents/${id}/${path}`, body),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['incident', id] });
      void client.invalidateQueries({ queryKey: ['incidents'] });
    },
  });
}

function Actions({ incident: i }: { incident: IncidentWithTimeline }) {
  const action = useAction(i.id);
  const [note, setNote] = useState('');
  const [update, setUpdate] = useState('');
  const [role, setRole] = useState('commander');
  const [person, setPerson] = useState('');
  // Follows the incident's stage until someone picks another one.
  const [chosen, setChosen] = useState<string>();
  const stage = chosen ?? i.stage;
  const run = (path: string, body: Record<string, unknown> = {}, done?: () => void) =>
    action.mutate({ path, body }, { onSuccess: done });
  const submit = (fn: () => void) => (e: FormEvent) => {
    e.preventDefault();
    fn();
  };
  const fieldError = (f: string) =>
    action.error instanceof ApiError ? action.error.messageFor(f) : undefined;
  return (
    <Section title="Respond">
      <Guard need="responder">
        <div className="actions" role="group" aria-label="Incident actions">
          <button
            type="button"
            disabled={i.acknowledgedAt !== null || action.isPending}
            onClick={() => run('acknowledge')}
          >
            Acknowledge
          </button>
          <button
            type="button"
            disabled={i.stage === 'post-incident' || action.isPending}
            onClick={() => run('resolve')}
            className="primary"
          >
            Resolve
          </button>
          <form
            className="inline"
            onSubmit={submit(() => run('stage', { stage }, () => setChosen(undefined)))}
            aria-label="Change stage"
          >
            <label>
              Stage{' '}
              <select value={stage} onChange={(e) => setChosen(e.target.value)}>
                {STAGES.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <button type="submit">Change stage</button>
          </form>
          <form
            className="inline"
            onSubmit={submit(() => run('assign', { role, person }, () => setPerson('')))}
            aria-label="Assign"
          >
            <label>
              Role <input value={role} onChange={(e) => setRole(e.target.value)} size={10} />
            </label>
            <label>
              Person <input value={person} onChange={(e) => setPerson(e.target.value)} size={10} required />
            </label>
            <button type="submit">Assign</button>
          </form>
        </div>
        <Field error={fieldError('role') ?? fieldError('person')} />
        <form
          className="inline-form"
          onSubmit={submit(() => run('notes', { text: note }, () => setNote('')))}
          aria-label="Add a note"
        >
          <label className="grow">
            Note <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={2} required />
          </label>
          <button type="submit">Add note</button>
        </form>
        <Field error={fieldError('text')} />
        <form
          className="inline-form"
          onSubmit={submit(() => run('status-updates', { text: update }, () => setUpdate('')))}
          aria-label="Post a status update"
        >
          <label className="grow">
            Status update{' '}
            <textarea value={update} onChange={(e) => setUpdate(e.target.value)} rows={2} required />
          </label>
          <button type="submit">Post status update</button>
        </form>
        {!(
          action.error instanceof ApiError && ['role', 'person', 'text'].includes(action.error.field ?? '')
        ) && <Problem error={action.error} />}
      </Guard>
    </Section>
  );
}

function Field({ error }: { error: ReactNode }) {
  return error ? <p className="field-error">{error}</p> : null;
}

function PostmortemView({ id }: { id: string }) {
  const q = useQuery({
    queryKey: ['incident', id, 'postmortem'],
    queryFn: () => get<Postmortem>(`/incidents/${id}/postmortem`),
    retry: false,
  });
  const pm = q.data;
  return (
    <Section title="Post-mortem">
      {q.error instanceof ApiError && q.error.status === 404 ? (
        <p className="empty">
          Not drafted yet; Opsbook drafts it from the timeline shortly after resolution.
        </p>
      ) : (
        <Problem error={q.error} />
      )}
      {pm && (
        <div className="postmortem">
          <p>
            <Status value={pm.status} /> version {pm.version} · updated {ago(pm.updatedAt)} by {pm.updatedBy}
            {pm.dueAt && ` · due ${time(pm.dueAt)}`}
            {pm.overdue && <span className="problem"> overdue</span>}{' '}
            <a href={`/api/v1/incidents/${id}/postmortem?format=markdown`}>Markdown</a>
          </p>
          {(
            [
              ['Summary', pm.summary],
              ['Impact', pm.impact],
              ['Trigger', pm.trigger],
              ['Root cause', pm.rootCause],
              ['Resolution', pm.resolution],
              ['What went well', pm.lessons.wentWell],
              ['What went wrong', pm.lessons.wentWrong],
              ['Where we got lucky', pm.lessons.gotLucky],
            ] as const
          ).map(([label, text]) => (
            <div key={label}>
              <h3>{label}</h3>
              <p className="prose">{text || <span className="muted">(empty)</span>}</p>
            </div>
          ))}
          <h3>Action items</h3>
          {pm.actionItems.length === 0 && <p className="empty">None yet.</p>}
          <ul className="rows small">
            {pm.actionItems.map((a) => (
              <li key={a.id}>
                <Status value={a.status} /> {a.title} <span className="muted">{a.owner ?? ''}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Section>
  );
}
