// One runbook run: each step with its state and evidence, and the tick, approve and reject buttons.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { get, post, type Run } from '../api.js';
import { NeedsRole, useNeed, useSession } from '../session.js';
import { ago } from '../format.js';
import { Problem, Status } from './ui.js';

export function RunView({ id }: { id: string }) {
  const run = useQuery({ queryKey: ['run', id], queryFn: () => get<Run>(`/runbook-runs/${id}`) });
  if (run.error) return <Problem error={run.error} />;
  if (!run.data) return <p className="muted">Loading run {id}…</p>;
  const r = run.data;
  return (
    <article className="run" aria-label={`Runbook run ${r.title}`}>
      <h3>
        {r.title} <Status value={r.status} />{' '}
        <span className="muted">
          started {ago(r.createdAt)} by {r.startedBy}
        </span>
      </h3>
      <ol className="steps">
        {r.steps.map((step) => (
          <li key={step.id} className={`step ${step.status}`}>
            <div className="step-head">
              <Status value={step.status} /> <strong>{step.title}</strong>{' '}
              <span className="muted">
                {step.kind}
                {step.destructive ? ' · destructive' : ''}
                {step.actor ? ` · by ${step.actor}` : ''}
              </span>
            </div>
            {step.message && <p className="step-message">{step.message}</p>}
            {Object.keys(step.evidence).length > 0 && (
              <details>
                <summary>Evidence</summary>
                <pre>{JSON.stringify(step.evidence, null, 2)}</pre>
              </details>
            )}
            {step.status === 'waiting' && (
              <StepActions
                run={r}
                stepId={step.id}
                kind={step.kind}
                title={step.title}
                approver={typeof step.evidence.role === 'string' ? step.evidence.role : undefined}
              />
            )}
          </li>
        ))}
      </ol>
    </article>
  );
}

function StepActions({
  run,
  stepId,
  kind,
  title,
  approver,
}: {
  run: Run;
  stepId: string;
  kind: string;
  title: string;
  /** The role or group an approval step names. */
  approver: string | undefined;
}) {
  const client = useQueryClient();
  const { user } = useSession();
  const roleReason = useNeed('responder');
  // The server decides; this only spares a click that would be refused.
  const outsideGroup =
    kind === 'approval' &&
    approver !== undefined &&
    user.role !== 'admin' &&
    user.role !== approver &&
    !user.groups.includes(approver);
  const reason = roleReason ?? (outsideGroup ? `needs the ${approver} role or group` : undefined);
  const [note, setNote] = useState('');
  const act = useMutation({
    // Who acts is the signed-in user; the server checks the approval step's role against theirs.
    mutationFn: (action: 'tick' | 'approve' | 'reject') =>
      post<Run>(
        `/runbook-runs/${run.id}/steps/${stepId}/${action}`,
        action !== 'tick' && note ? { reason: note } : {},
      ),
    onSuccess: (updated) => {
      client.setQueryData(['run', run.id], updated);
      void client.invalidateQueries({ queryKey: ['runs'] });
    },
  });
  return (
    <div className="step-actions">
      {kind === 'approval' ? (
        <>
          <label>
            Reason{' '}
            <input
              value={note}
              onChange={(e) => setNote(e.target.value)}
              disabled={!!reason}
              aria-label={`Reason for ${title}`}
            />
          </label>
          <button
            type="button"
            onClick={() => act.mutate('approve')}
            disabled={act.isPending || !!reason}
            title={reason}
            aria-label={`Approve ${title}`}
          >
            Approve
          </button>
          <button
            type="button"
            className="danger"
            onClick={() => act.mutate('reject')}
            disabled={act.isPending || !!reason}
            title={reason}
            aria-label={`Reject ${title}`}
          >
            Reject
          </button>
        </>
      ) : (
        <button
          type="button"
          onClick={() => act.mutate('tick')}
          disabled={act.isPending || !!reason}
          title={reason}
          aria-label={`Tick ${title}`}
        >
          Mark done
        </button>
      )}
      <NeedsRole need="responder" />
      {!roleReason && outsideGroup && (
        <span className="needs-role">
          approving needs the {approver} role or group; an admin can add it to your account
        </span>
      )}
      <Problem error={act.error} />
    </div>
  );
}
