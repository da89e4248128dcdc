// Small shared pieces: status badges, sections, errors, and a clock for live countdowns.
import { useEffect, useState, type ReactNode } from 'react';
import { ApiError } from '../api.js';
import { duration } from '../format.js';

export function Badge({ tone, children }: { tone: string; children: ReactNode }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

const TONES: Record<string, string> = {
  healthy: 'ok',
  up: 'ok',
  succeeded: 'ok',
  passed: 'ok',
  resolved: 'ok',
  unhealthy: 'bad',
  down: 'bad',
  failed: 'bad',
  firing: 'bad',
  critical: 'bad',
  SEV1: 'bad',
  SEV2: 'warn',
  warning: 'warn',
  pending: 'warn',
  waiting: 'warn',
  running: 'info',
  'missed-target': 'warn',
  timed_out: 'bad',
  rejected: 'bad',
  success: 'ok',
  active: 'ok',
  failure: 'bad',
  denied: 'warn',
  disabled: 'bad',
  admin: 'info',
  responder: 'info',
};

export function Status({ value }: { value: string }) {
  return <Badge tone={TONES[value] ?? 'muted'}>{value}</Badge>;
}

export function Section({
  title,
  actions,
  children,
}: {
  title: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className="card" aria-labelledby={id}>
      <header className="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Problem({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const status = error instanceof ApiError ? ` (${error.status})` : '';
  return (
    <p role="alert" className="problem">
      {message}
      {status}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Time left before a deadline, or how late it is. */
export function Countdown({ due, label }: { due: number; label: string }) {
  const now = useNow();
  const left = due - now;
  return (
    <span className={left < 0 ? 'countdown late' : 'countdown'} title={new Date(due).toLocaleString()}>
      {label} {left < 0 ? `overdue by ${duration(-left)}` : `in ${duration(left)}`}
    </span>
  );
}
