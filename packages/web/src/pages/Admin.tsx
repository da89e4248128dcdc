// Admin: people (roles, groups, lockouts, password resets) and every API token.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { del, get, patch, post, type Role, type Users, type UserView } from '../api.js';
import { ago, duration } from '../format.js';
import { useSession } from '../session.js';
import { Field, FormProblem, fieldError } from '../components/forms.js';
import { Loading, Problem, Section, Status } from '../components/ui.js';
import { Tokens } from '../components/Tokens.js';

const ROLES: Role[] = ['viewer', 'responder', 'admin'];

const splitGroups = (text: string) =>
  text
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);

export function Admin() {
  return (
    <>
      <h1>Admin</h1>
      <UserTable />
      <CreateUser />
      <Tokens scope="all" />
    </>
  );
}

function useUserUpdate(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (change: Record<string, unknown>) => patch<UserView>(`/users/${id}`, change),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['users'] }),
  });
}

function UserTable() {
  const q = useQuery({ queryKey: ['users'], queryFn: () => get<Users>('/users') });
  const [editing, setEditing] = useState<string>();
  return (
    <Section title="Users">
      <Problem error={q.error} />
      {!q.data ? (
        <Loading what="users" />
      ) : (
        <table aria-label="Users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Groups</th>
              <th scope="col">State</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.flatMap((u) => [
              <UserRow
                key={u.id}
                user={u}
                editing={editing === u.id}
                onEdit={() => setEditing(editing === u.id ? undefined : u.id)}
              />,
              ...(editing === u.id
                ? [
                    <tr key={`${u.id}-edit`} className="editing">
                      <td colSpan={6}>
                        <EditUser user={u} onDone={() => setEditing(undefined)} />
                      </td>
                    </tr>,
                  ]
                : []),
            ])}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function UserRow({ user: u, editing, onEdit }: { user: UserView; editing: boolean; onEdit(): void }) {
  const session = useSession();
  const update = useUserUpdate(u.id);
  const locked = u.lockedUntil !== null && u.lockedUntil > Date.now();
  const self = session.user.id === u.id;
  return (
    <tr data-user={u.username}>
      <th scope="row">
        {u.username}
        {u.name && u.name !== u.username && <span className="muted"> {u.name}</span>}
        {u.source === 'oidc' && <span className="badge muted">single sign-on</span>}
        {self && <span className="muted"> (you)</span>}
      </th>
      <td>
        <select
          aria-label={`Role of ${u.username}`}
          value={u.role}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ role: e.target.value })}
        >
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>{u.groups.join(', ') || <span className="muted">—</span>}</td>
      <td>
        {u.disabled ? <Status value="disabled" /> : <Status value="active" />}{' '}
        {locked && (
          <span className="badge bad" title={`until ${new Date(u.lockedUntil!).toLocaleString()}`}>
            locked, {duration(u.lockedUntil! - Date.now())} left
          </span>
        )}
      </td>
      <td>{u.lastSignInAt === null ? 'never' : ago(u.lastSignInAt)}</td>
      <td>
        <div className="row-actions">
          {locked && (
            <button
              type="button"
              onClick={() => update.mutate({ unlock: true })}
              aria-label={`Unlock ${u.username}`}
            >
              Unlock
            </button>
          )}
          <button
            type="button"
            onClick={() => update.mutate({ disabled: !u.disabled })}
            disabled={update.isPending}
            aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}
          >
            {u.disabled ? 'Enable' : 'Disable'}
          </button>
          <button type="button" aria-expanded={editing} onClick={onEdit} aria-label={`Edit ${u.username}`}>
            Edit…
          </button>
          <DeleteUser user={u} />
        </div>
        <Problem error={update.error} />
      </td>
    </tr>
  );
}

function DeleteUser({ user }: { user: UserView }) {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => del(`/users/${user.id}`),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['users'] }),
  });
  return confirming ? (
    <>
      <button
        type="button"
        className="danger"
        disabled={remove.isPending}
        onClick={() => remove.mutate()}
        aria-label={`Confirm deleting ${user.username}`}
      >
        Delete now
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Keep
      </button>
      <Problem error={remove.error} />
    </>
  ) : (
    <button
      type="button"
      className="danger"
      onClick={() => setConfirming(true)}
      aria-label={`Delete ${user.username}`}
    >
      Delete…
    </button>
  );
}

const EDIT_FIELDS = ['name', 'groups', 'password'];

function EditUser({ user, onDone }: { user: UserView; onDone(): void }) {
  const update = useUserUpdate(user.id);
  const [name, setName] = useState(user.name);
  const [groups, setGroups] = useState(user.groups.join(', '));
  const [password, setPassword] = useState('');
  return (
    <form
      className="grid-form"
      aria-label={`Edit ${user.username}`}
      onSubmit={(e) => {
        e.preventDefault();
        update.mutate(
          { name, groups: splitGroups(groups), ...(password ? { password } : {}) },
          { onSuccess: onDone },
        );
      }}
    >
      <Field label="Name" error={fieldError(update.error, 'name')}>
        <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />
      </Field>
      <Field label="Groups" error={fieldError(update.error, 'groups')} hint="comma-separated, e.g. dba, sre">
        <input value={groups} onChange={(e) => setGroups(e.target.value)} />
      </Field>
      {user.source === 'password' && (
        <Field
          label="New password"
          error={fieldError(update.error, 'password')}
          hint="leave empty to keep the current one"
        >
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
      )}
      <div className="field submit">
        <button type="submit" disabled={update.isPending}>
          Save
        </button>{' '}
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      <FormProblem error={update.error} fields={EDIT_FIELDS} />
    </form>
  );
}

const CREATE_FIELDS = ['username', 'name', 'role', 'password', 'groups'];

function CreateUser() {
  const client = useQueryClient();
  const [username, setUsername] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('responder');
  const [groups, setGroups] = useState('');
  const [password, setPassword] = useState('');
  const create = useMutation({
    mutationFn: () =>
      post<UserView>('/users', {
        username,
        role,
        password,
        groups: splitGroups(groups),
        ...(name ? { name } : {}),
      }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['users'] });
      setUsername('');
      setName('');
      setGroups('');
      setPassword('');
    },
  });
  const err = (f: string) => fieldError(create.error, f);
  return (
    <Section title="Create a user">
      <form
        className="grid-form"
        aria-label="Create a user"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Field label="Username" error={err('username')}>
          <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
        </Field>
        <Field label="Full name" error={err('name')}>
          <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <Field label="Role" error={err('role')}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </Field>
        <Field label="Groups" error={err('groups')} hint="comma-separated, e.g. dba, sre">
          <input value={groups} onChange={(e) => setGroups(e.target.value)} />
        </Field>
        <Field label="Password" error={err('password')} hint="at least 12 characters">
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </Field>
        <div className="field submit">
          <button type="submit" disabled={create.isPending}>
            Create user
          </button>
        </div>
        <FormProblem error={create.error} fields={CREATE_FIELDS} />
        {create.isSuccess && (
          <p role="status" className="ok-text">
            Created {create.data.username} ({create.data.role}).
          </p>
        )}
      </form>
    </Section>
  );
}
