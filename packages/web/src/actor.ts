// Who is acting, until sign-in exists: a name and the roles they claim, kept in this browser.
import { useSyncExternalStore } from 'react';

export interface Actor {
  name: string;
  roles: string[];
}

const KEY = 'opsbook.actor';
const listeners = new Set<() => void>();
let cached: { raw: string | null; actor: Actor } | undefined;

function read(): Actor {
  const raw = localStorage.getItem(KEY);
  if (cached?.raw === raw) return cached.actor;
  let actor: Actor = { name: '', roles: ['responder'] };
  try {
    if (raw) actor = { ...actor, ...(JSON.parse(raw) as Partial<Actor>) };
  } catch {
    // A damaged entry is replaced at the next save.
  }
  cached = { raw, actor };
  return actor;
}

export function saveActor(actor: Actor): void {
  localStorage.setItem(KEY, JSON.stringify(actor));
  for (const listener of listeners) listener();
}

export function useActor(): Actor {
  return useSyncExternalStore((listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, read);
}

/** The name for a mutation, or an error telling the user where to give it. */
export function requireActor(actor: Actor): string {
  if (!actor.name.trim()) throw new Error('Enter your name in "Acting as" at the top of the page first.');
  return actor.name.trim();
}
