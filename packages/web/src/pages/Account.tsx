// The signed-in user's own page: who they are, a password change and their personal API tokens.
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { post } from '../api.js';
import { time } from '../format.js';
import { useSession } from '../session.js';
import { Field, FormProblem, fieldError } from '../components/forms.js';
import { Section } from '../components/ui.js';
import { Tokens } from '../components/Tokens.js';

export function Account() {
  const { user, via, expiresAt } = useSession();
  return (
    <>
      <h1>Your account</h1>
      <Section title="Signed in">
        <dl className="facts-list">
          <dt>Username</dt>
          <dd>{user.username}</dd>
          <dt>Name</dt>
          <dd>{user.name || '—'}</dd>
          <dt>Role</dt>
          <dd>{user.role}</dd>
          <dt>Groups</dt>
          <dd>{user.groups.join(', ') || '—'}</dd>
          <dt>Session</dt>
          <dd>
            {via === 'token' ? 'API token' : 'browser session'}
            {expiresAt !== null && `, ends ${time(expiresAt)} at the latest`}
          </dd>
        </dl>
      </Section>
      {via === 'session' && user.id !== null && <ChangePassword />}
      <Tokens scope="mine" />
    </>
  );
}

const FIELDS = ['current', 'password'];

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const change = useMutation({
    mutationFn: () => post('/auth/password', { current, password }),
    onSuccess: () => {
      setCurrent('');
      setPassword('');
      setRepeat('');
    },
  });
  const mismatch = repeat !== '' && repeat !== password ? 'the two new passwords differ' : undefined;
  return (
    <Section title="Change your password">
      <form
        className="grid-form"
        aria-label="Change your password"
        onSubmit={(e) => {
          e.preventDefault();
          if (!mismatch) change.mutate();
        }}
      >
        <Field label="Current password" error={fieldError(change.error, 'current')}>
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            required
          />
        </Field>
        <Field
          label="New password"
          error={fieldError(change.error, 'password')}
          hint="at least 12 characters"
        >
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </Field>
        <Field label="New password again" error={mismatch}>
          <input
            type="password"
            autoComplete="new-password"
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
            required
          />
        </Field>
        <div className="field submit">
          <button type="submit" disabled={change.isPending}>
            Change password
          </button>
        </div>
        <FormProblem error={change.error} fields={FIELDS} />
        {change.isSuccess && (
          <p role="status" className="ok-text">
            Password changed.
          </p>
        )}
      </form>
    </Section>
  );
}
