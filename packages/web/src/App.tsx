// The frame around every page: navigation, the live-connection state and who is acting.
import { useQueryClient } from '@tanstack/react-query';
import { NavLink, Route, Routes } from 'react-router';
import { saveActor, useActor } from './actor.js';
import { useLiveUpdates } from './live.js';
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

export function App() {
  const live = useLiveUpdates(useQueryClient());
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
        </nav>
        <span className={`live ${live}`} role="status" aria-live="polite">
          {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting' : '○ reconnecting'}
        </span>
        <ActingAs />
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
          <Route path="*" element={<p>No such page. Pick one from the navigation above.</p>} />
        </Routes>
      </main>
    </div>
  );
}

/** Until sign-in exists, mutations carry the name (and claimed roles) given here. */
function ActingAs() {
  const actor = useActor();
  return (
    <div className="acting">
      <label>
        Acting as{' '}
        <input
          value={actor.name}
          placeholder="your name"
          onChange={(e) => saveActor({ ...actor, name: e.target.value })}
          size={12}
        />
      </label>
      <label>
        Roles{' '}
        <input
          defaultValue={actor.roles.join(', ')}
          onChange={(e) =>
            saveActor({
              ...actor,
              roles: e.target.value
                .split(',')
                .map((r) => r.trim())
                .filter(Boolean),
            })
          }
          size={12}
          title="Claimed until sign-in exists; runbook approvals check them"
        />
      </label>
    </div>
  );
}
