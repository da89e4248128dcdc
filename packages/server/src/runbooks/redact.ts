// Evidence is stored and shown: passwords in URLs, secret-named fields and known secret values go.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^@\s/]+@/gi;
const SECRET_KEY =
  /^(password|passwd|pass|token|secret|apikey|api_key|authorization|cookie|set-cookie|client_secret)$/i;
export const REDACTED = '***';

/** A copy of `value` with secrets replaced; `secrets` are literal values (short ones are ignored). */
export function redact<T>(value: T, secrets: readonly string[] = []): T {
  const known = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  const text = (s: string): string => {
    let out = s.replace(URL_PASSWORD, `$1${REDACTED}@`);
    for (const secret of known) out = out.split(secret).join(REDACTED);
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(v))
        out[key] = SECRET_KEY.test(key) && inner !== null && inner !== undefined ? REDACTED : walk(inner);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** The password of a connection URL, to add to the known secrets. */
export function urlPassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password || undefined;
  } catch {
    return undefined;
  }
}
