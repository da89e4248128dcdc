// The frame around every page: the session gate, navigation, the live-connection state and who is
// signed in.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from 'react-router';
import { post } from './api.js';
import { useLiveUpdates } from './live.js';
import { hasRole, SessionProvider, storeSession, useSession, useSessionQuery } from './session.js';
import { Problem } from './components/ui.js';
import { SignIn, signInPath } from './pages/SignIn.js';
import { Overview } from './pages/Overview.js';
import { Services } from './pages/Services.js';
import { ServiceDetail } from './pages/ServiceDetail.js';
import { Alerts } from './pages/Alerts.js';
import { Incidents } from './pages/Incidents.js';
import { IncidentPage } from './pages/IncidentPage.js';
import { Runbooks } from './pages/Runbooks.js';
import { RunPage } from './pages/RunPage.js';
import { Application } from './pages/Application.js';
import { Infrastructure } from './pages/Infrastructure.js';
import { DatabasePage } from './pages/Database.js';
import { Security } from './pages/Security.js';
import { Admin } from './pages/Admin.js';
import { Account } from './pages/Account.js';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/services', 'Services'],
  ['/alerts', 'Alerts'],
  ['/incidents', 'Incidents'],
  ['/runbooks', 'Runbooks'],
  ['/dashboards/application', 'Application'],
  ['/dashboards/infrastructure', 'Infrastructure'],
  ['/dashboards/database', 'Database'],
  ['/dashboards/security', 'Security'],
];

/** Nothing but the sign-in page shows until the server says who is signed in. */
export function App() {
  const location = useLocation();
  const session = useSessionQuery();
  if (session.isPending)
    return (
      <p className="muted gate" role="status">
        Checking your session…
      </p>
    );
  if (session.isError)
    return (
      <div className="gate">
        <Problem error={session.error} />
        <button type="button" onClick={() => void session.refetch()}>
          Try again
        </button>
      </div>
    );
  if (location.pathname === '/sign-in') return <SignIn session={session.data} />;
  if (!session.data)
    return <Navigate to={signInPath(location.pathname + location.search + location.hash)} replace />;
  return (
    <SessionProvider session={session.data}>
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const live = useLiveUpdates(useQueryClient());
  const session = useSession();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Opsbook</span>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <NavLink key={to} to={to} end={to === '/'}>
              {label}
            </NavLink>
          ))}
          {hasRole(session, 'admin') && <NavLink to="/admin">Admin</NavLink>}
        </nav>
        <span className={`live ${live}`} role="status" aria-live="polite">
          {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting' : '○ reconnecting'}
        </span>
        <SignedIn />
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/services" element={<Services />} />
          <Route path="/services/:name" element={<ServiceDetail />} />
          <Route path="/alerts" element={<Alerts />} />
          <Route path="/incidents" element={<Incidents />} />
          <Route path="/incidents/:id" element={<IncidentPage />} />
          <Route path="/runbooks" element={<Runbooks />} />
          <Route path="/runbooks/runs/:id" element={<RunPage />} />
          <Route path="/dashboards/application" element={<Application />} />
          <Route path="/dashboards/infrastructure" element={<Infrastructure />} />
          <Route path="/dashboards/database" element={<DatabasePage />} />
          <Route path="/dashboards/security" element={<Security />} />
          <Route path="/admin" element={hasRole(session, 'admin') ? <Admin /> : <NotAdmin />} />
          <Route path="/account" element={<Account />} />
          <Route path="*" element={<p>No such page. Pick one from the navigation above.</p>} />
        </Routes>
      </main>
    </div>
  );
}

function SignedIn() {
  const session = useSession();
  const client = useQueryClient();
  const navigate = useNavigate();
  const signOut = useMutation({
    mutationFn: () => post('/auth/sign-out'),
    // Signed out either way: a session that already expired needs no server-side ending.
    onSettled: () => {
      client.clear();
      storeSession(client, null);
      void navigate('/sign-in', { replace: true });
    },
  });
  const { user } = session;
  return (
    <div className="who">
      <Link to="/account" title={`Signed in as ${user.username}`}>
        {user.name || user.username}
      </Link>{' '}
      <span className="badge info">{user.role}</span>
      <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
        Sign out
      </button>
    </div>
  );
}

function NotAdmin() {
  return (
    <p className="notice" role="note">
      The admin page needs the admin role. Ask an admin to change your role, or sign in as an admin.
    </p>
  );
}
