// The one place the console talks to the server: the session cookie travels with every call, every
// mutation carries the session's CSRF token, and a 401 (an expired session) goes back to sign-in.
import type { z } from 'zod';
import type {
  AlertHistoryList,
  AuditList,
  AuthProviders,
  CreatedToken as CreatedTokenBody,
  AlertList,
  BackupSummary,
  CheckList,
  DatabaseSummary,
  DrillSummary,
  EventList,
  HealthReport,
  IncidentDetail,
  IncidentList,
  MaintenanceList,
  PostmortemView,
  RunbookRunView,
  RuleList,
  ServiceList,
  SilenceList,
  TokenList,
  UserList,
} from '@opsbook/contracts';
export type { AuditEntry, Role, SessionView, TokenView, UserView } from '@opsbook/contracts';

export type Infer<T extends z.ZodType> = z.infer<T>;

export interface FieldIssue {
  field: string;
  message: string;
}

/** The server's error body, kept whole so forms can show each field's message next to the field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly field: string | undefined,
    readonly issues: FieldIssue[],
  ) {
    super(message);
  }

  messageFor(field: string): string | undefined {
    return (
      this.issues.find((i) => i.field === field)?.message ?? (this.field === field ? this.message : undefined)
    );
  }
}

let csrfToken: string | null = null;
let onUnauthenticated: (() => void) | undefined;

/** The session provider hands over the token it got from GET /auth/session or sign-in. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the server says the caller is not signed in (the session expired or was revoked). */
export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> =
    body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' };
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed: unknown =
    text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  if (!response.ok) {
    const error = (
      parsed as { error?: { message?: string; code?: string; field?: string; issues?: FieldIssue[] } }
    )?.error;
    const failure = new ApiError(
      response.status,
      error?.message ?? `${method} ${path} answered ${response.status}`,
      error?.code ?? 'http',
      error?.field,
      error?.issues ?? [],
    );
    // Only "not signed in" ends the session here; a wrong password at sign-in is the form's business.
    if (failure.status === 401 && failure.code === 'unauthenticated') onUnauthenticated?.();
    throw failure;
  }
  return parsed as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

export const streamUrl = '/api/v1/stream';

export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export type Services = Infer<typeof ServiceList>;
export type Service = Services['items'][number];
export type Checks = Infer<typeof CheckList>;
export type Check = Checks['items'][number];
export type Alerts = Infer<typeof AlertList>;
export type Alert = Alerts['items'][number];
export type AlertHistory = Infer<typeof AlertHistoryList>;
export type Silences = Infer<typeof SilenceList>;
export type Maintenance = Infer<typeof MaintenanceList>;
export type Rules = Infer<typeof RuleList>;
export type Events = Infer<typeof EventList>;
export type Incidents = Infer<typeof IncidentList>;
export type Incident = Incidents['items'][number];
export type IncidentWithTimeline = Infer<typeof IncidentDetail>;
export type Postmortem = Infer<typeof PostmortemView>;
export type Run = Infer<typeof RunbookRunView>;
export type Backup = Infer<typeof BackupSummary>;
export type Drill = Infer<typeof DrillSummary>;
export type Database = Infer<typeof DatabaseSummary>;
export type Health = Infer<typeof HealthReport>;
export type Users = Infer<typeof UserList>;
export type Tokens = Infer<typeof TokenList>;
export type Audit = Infer<typeof AuditList>;
export type Providers = Infer<typeof AuthProviders>;
export type CreatedToken = Infer<typeof CreatedTokenBody>;

export interface RunbookParameter {
  type?: 'string' | 'number' | 'boolean';
  description?: string;
  required?: boolean;
  default?: string | number | boolean;
  enum?: (string | number)[];
}
export interface Runbook {
  id: string;
  title: string;
  description: string | null;
  triggers: Record<string, unknown>;
  parameters: Record<string, RunbookParameter>;
  steps: { id: string; title: string; kind: string; phase: string }[];
}

/** Prometheus's range-query answer, as /api/v1/query_range gives it (times in seconds). */
export interface Matrix {
  status: string;
  data: { resultType: 'matrix'; result: { metric: Record<string, string>; values: [number, string][] }[] };
}
export interface Vector {
  status: string;
  data: { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] };
}
