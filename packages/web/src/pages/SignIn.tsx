// Sign-in: a password form and, when configured, single sign-on. Afterwards the user lands on the
// address they were sent away from (`next`).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { get, post, type Providers, type SessionView } from '../api.js';
import { storeSession } from '../session.js';

/** Only a path on this site: `next` comes from the address bar, so it must not send anyone elsewhere. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next === '/sign-in' || next.startsWith('/sign-in?')) return '/';
  return next;
}

export function signInPath(path: string): string {
  return path === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(path)}`;
}

export function SignIn({ session }: { session: SessionView | null }) {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const client = useQueryClient();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const providers = useQuery({
    queryKey: ['auth', 'providers'],
    queryFn: () => get<Providers>('/auth/providers'),
    staleTime: Infinity,
    refetchInterval: false,
  });
  const signIn = useMutation({
    mutationFn: () => post<SessionView>('/auth/sign-in', { username, password }),
    onSuccess: (signedIn) => {
      // Nothing cached for whoever was signed in before may show to this user.
      client.clear();
      storeSession(client, signedIn);
      void navigate(next, { replace: true });
    },
  });
  if (session) return <Navigate to={next} replace />;
  const passwordAllowed = providers.data?.password ?? true;
  const oidc = providers.data?.oidc;
  return (
    <main id="main" className="sign-in">
      <div className="card sign-in-card">
        <p className="brand">Opsbook</p>
        <h1>Sign in</h1>
        {/* Single sign-on that failed comes back here with the reason (shown as text, never as markup). */}
        {params.get('error') && (
          <p className="problem" role="alert">
            {params.get('error')}
          </p>
        )}
        {passwordAllowed && (
          <form
            aria-label="Sign in"
            className="stacked"
            onSubmit={(e) => {
              e.preventDefault();
              signIn.mutate();
            }}
          >
            <label htmlFor="sign-in-username">Username</label>
            <input
              id="sign-in-username"
              name="username"
              autoComplete="username"
              autoFocus
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
            <label htmlFor="sign-in-password">Password</label>
            <input
              id="sign-in-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <SignInProblem error={signIn.error} />
            <button type="submit" className="primary" disabled={signIn.isPending}>
              {signIn.isPending ? 'Signing in…' : 'Sign in'}
            </button>
          </form>
        )}
        {oidc?.enabled && (
          <>
            {passwordAllowed && <p className="or">or</p>}
            <button
              type="button"
              className="wide"
              onClick={() =>
                window.location.assign(`/api/v1/auth/oidc/start?next=${encodeURIComponent(next)}`)
              }
            >
              Sign in with {oidc.label}
            </button>
          </>
        )}
        {next !== '/' && <p className="muted small">You will return to {next}.</p>}
      </div>
    </main>
  );
}

/** The server's words: one generic message for a wrong name or password, or how long a lockout lasts. */
function SignInProblem({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="problem">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}
