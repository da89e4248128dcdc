// Form fields with a real label and the server's message for that field right under it.
import { cloneElement, useId, type ReactElement } from 'react';
import { ApiError } from '../api.js';
import { Problem } from './ui.js';

interface Control {
  id?: string;
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
}

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: string;
  children: ReactElement<Control>;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : '', hint ? hintId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, {
        id,
        'aria-invalid': error ? true : undefined,
        'aria-describedby': describedBy,
      })}
      {hint && (
        <span id={hintId} className="hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={errorId} className="field-error">
          {error}
        </span>
      )}
    </div>
  );
}

/** The server's message for one field of a failed request. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.messageFor(field) : undefined;
}

/** The error as a whole, unless every part of it already shows beside one of `fields`. */
export function FormProblem({ error, fields }: { error: unknown; fields: string[] }) {
  if (error instanceof ApiError) {
    const named =
      error.issues.length > 0 ? error.issues.map((i) => i.field) : error.field ? [error.field] : [];
    if (named.length > 0 && named.every((f) => fields.includes(f))) return null;
  }
  return <Problem error={error} />;
}
