// API tokens: the list, a form to create one (its secret shown once, with a copy button) and revoke.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { del, get, post, type CreatedToken, type Role, type Tokens as TokenList } from '../api.js';
import { ago, time } from '../format.js';
import { hasRole, useSession } from '../session.js';
import { Field, FormProblem, fieldError } from './forms.js';
import { Problem, Section, Status } from './ui.js';

const ROLES: Role[] = ['viewer', 'responder', 'admin'];

/** `all`: every token (the admin page); `mine`: the signed-in user's personal tokens. */
export function Tokens({ scope }: { scope: 'all' | 'mine' }) {
  const session = useSession();
  const q = useQuery({ queryKey: ['tokens'], queryFn: () => get<TokenList>('/tokens') });
  const [created, setCreated] = useState<CreatedToken>();
  const items = (q.data?.items ?? []).filter((t) => scope === 'all' || t.owner === session.user.username);
  return (
    <Section title={scope === 'all' ? 'API tokens' : 'Your API tokens'}>
      <p className="muted">
        Tokens let the CLI (<code>OPSBOOK_TOKEN=…</code>) and integrations call the API with a role. Intake
        tokens can only push alerts and metrics.
      </p>
      <Problem error={q.error} />
      {q.data && items.length === 0 && <p className="empty">No tokens yet.</p>}
      {items.length > 0 && (
        <table aria-label={scope === 'all' ? 'API tokens' : 'Your API tokens'}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Role</th>
              {scope === 'all' && <th scope="col">Acts as</th>}
              <th scope="col">Starts with</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.id}>
                <th scope="row">{t.name}</th>
                <td>{t.kind}</td>
                <td>
                  <Status value={t.role} />
                </td>
                {scope === 'all' && <td>{t.owner ?? <span className="muted">itself (integration)</span>}</td>}
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td>{t.source === 'config' ? 'in the config file' : ago(t.createdAt)}</td>
                <td>
                  {t.expiresAt === null ? (
                    'never'
                  ) : t.expiresAt < Date.now() ? (
                    <Status value="expired" />
                  ) : (
                    time(t.expiresAt)
                  )}
                </td>
                <td>{t.lastUsedAt === null ? 'never' : ago(t.lastUsedAt)}</td>
                <td>
                  <Revoke id={t.id} name={t.name} fromConfig={t.source === 'config'} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {created ? (
        <CreatedSecret created={created} onDone={() => setCreated(undefined)} />
      ) : (
        <CreateToken
          integrationAllowed={scope === 'all' && hasRole(session, 'admin')}
          callerRole={session.user.role}
          onCreated={setCreated}
        />
      )}
    </Section>
  );
}

function Revoke({ id, name, fromConfig }: { id: string; name: string; fromConfig: boolean }) {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation({
    mutationFn: () => del(`/tokens/${id}`),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['tokens'] }),
  });
  if (fromConfig)
    return (
      <button type="button" disabled title="set in the configuration file; remove it there">
        Revoke
      </button>
    );
  return (
    <span className="confirm">
      {confirming ? (
        <>
          <button
            type="button"
            className="danger"
            onClick={() => revoke.mutate()}
            disabled={revoke.isPending}
            aria-label={`Confirm revoking ${name}`}
          >
            Revoke now
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </>
      ) : (
        <button
          type="button"
          className="danger"
          onClick={() => setConfirming(true)}
          aria-label={`Revoke ${name}`}
        >
          Revoke…
        </button>
      )}
      <Problem error={revoke.error} />
    </span>
  );
}

const FIELDS = ['name', 'kind', 'role', 'expiresInDays', 'personal'];

function CreateToken({
  integrationAllowed,
  callerRole,
  onCreated,
}: {
  integrationAllowed: boolean;
  callerRole: Role;
  onCreated(created: CreatedToken): void;
}) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'api' | 'intake'>('api');
  const [role, setRole] = useState<Role>(callerRole);
  const [days, setDays] = useState('90');
  const [integration, setIntegration] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      post<CreatedToken>('/tokens', {
        name,
        kind,
        role,
        ...(days.trim() ? { expiresInDays: Number(days) } : {}),
        personal: !integration,
      }),
    onSuccess: (created) => {
      void client.invalidateQueries({ queryKey: ['tokens'] });
      setName('');
      onCreated(created);
    },
  });
  const allowedRoles = ROLES.slice(0, ROLES.indexOf(callerRole) + 1);
  return (
    <form
      className="grid-form"
      aria-label="Create a token"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h3>Create a token</h3>
      <Field label="Name" error={fieldError(create.error, 'name')}>
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
      </Field>
      <Field label="Kind" error={fieldError(create.error, 'kind')}>
        <select value={kind} onChange={(e) => setKind(e.target.value as 'api' | 'intake')}>
          <option value="api">api (REST API and CLI)</option>
          <option value="intake">intake (alert and metric push only)</option>
        </select>
      </Field>
      <Field label="Role" error={fieldError(create.error, 'role')}>
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {allowedRoles.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </Field>
      <Field
        label="Expires in (days)"
        error={fieldError(create.error, 'expiresInDays')}
        hint="empty: never expires"
      >
        <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
      </Field>
      {integrationAllowed && (
        <div className="field">
          <label>
            <input type="checkbox" checked={integration} onChange={(e) => setIntegration(e.target.checked)} />{' '}
            Integration token (acts under its own name, not yours)
          </label>
        </div>
      )}
      <div className="field submit">
        <button type="submit" disabled={create.isPending}>
          Create token
        </button>
      </div>
      <FormProblem error={create.error} fields={FIELDS} />
    </form>
  );
}

function CreatedSecret({ created, onDone }: { created: CreatedToken; onDone(): void }) {
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      // No clipboard (an http:// address other than localhost): select it for Ctrl+C instead.
      const input = document.getElementById('created-secret') as HTMLInputElement | null;
      input?.select();
      setCopied('Selected: press Ctrl+C to copy.');
    }
  };
  return (
    <div className="secret" role="group" aria-label="New token secret">
      <p>
        <strong>Copy the secret of “{created.token.name}” now.</strong> It is shown only this once; Opsbook
        keeps only its hash.
      </p>
      <div className="secret-row">
        <label htmlFor="created-secret">Secret</label>
        <input
          id="created-secret"
          readOnly
          value={created.secret}
          size={Math.min(created.secret.length, 60)}
          onFocus={(e) => e.target.select()}
        />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
      <p role="status" className="muted">
        {copied ?? ''}
      </p>
    </div>
  );
}
