// Who is signed in: asked once at load (GET /auth/session), kept in the query cache, and dropped when
// any call answers 401 so the gate sends the user to sign-in with the page's address kept.
import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useId, type ReactNode } from 'react';
import {
  ApiError,
  get,
  setCsrfToken,
  setUnauthenticatedHandler,
  type Role,
  type SessionView,
} from './api.js';

const SESSION_KEY = ['session'];
const RANK: Record<Role, number> = { viewer: 0, responder: 1, admin: 2 };

/** Keeps the CSRF token in step with the cached session; every change of session goes through here. */
export function storeSession(client: QueryClient, session: SessionView | null): void {
  setCsrfToken(session?.csrfToken ?? null);
  client.setQueryData(SESSION_KEY, session);
}

/** The session, or null when nobody is signed in; other failures (server down) stay errors. */
export function useSessionQuery() {
  const client = useQueryClient();
  useEffect(() => {
    setUnauthenticatedHandler(() => storeSession(client, null));
    return () => setUnauthenticatedHandler(undefined);
  }, [client]);
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async () => {
      try {
        const session = await get<SessionView>('/auth/session');
        setCsrfToken(session.csrfToken);
        return session;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    retry: (failures, error) => !(error instanceof ApiError) && failures < 2,
  });
}

const SessionContext = createContext<SessionView | null>(null);

export function SessionProvider({ session, children }: { session: SessionView; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionView {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export function hasRole(session: SessionView, need: Role): boolean {
  return RANK[session.user.role] >= RANK[need];
}

/** Why the signed-in user may not do something that needs `need`, or undefined when they may. */
export function useNeed(need: Role): string | undefined {
  return hasRole(useSession(), need) ? undefined : `needs the ${need} role`;
}

/** A visible reason beside controls the user's role may not use. */
export function NeedsRole({ need }: { need: Role }) {
  const reason = useNeed(need);
  const session = useSession();
  if (!reason) return null;
  return (
    <span className="needs-role">
      {reason} (you are a {session.user.role})
    </span>
  );
}

/** Disables every control inside when the role is too low, and says why once above them. */
export function Guard({ need, children }: { need: Role; children: ReactNode }) {
  const reason = useNeed(need);
  const id = useId();
  if (!reason) return <>{children}</>;
  return (
    <fieldset className="guard" disabled title={reason} aria-describedby={id}>
      <p id={id}>
        <NeedsRole need={need} />
      </p>
      {children}
    </fieldset>
  );
}
