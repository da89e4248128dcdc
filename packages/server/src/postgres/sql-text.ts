// SQL text Opsbook writes or shows: the identifiers it quotes, and query texts from the server, whose
// literals (passwords, customer data) are redacted before they reach the API, logs or the audit table.

/** Always quoted, so keywords, capitals and odd characters all round-trip. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * One pass, left to right, so a quote inside a dollar-quoted body (or the reverse) cannot open a
 * literal. A literal cut off at the end (pg_stat_activity keeps only track_activity_query_size bytes)
 * is redacted up to the end.
 */
const LITERAL =
  /(?<![A-Za-z0-9_])[Ee]'(?:[^'\\]|\\[\s\S]|'')*(?:'|$)|'(?:[^']|'')*(?:'|$)|\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?(?:\$\1\$|$)/g;

/** Query text with string literals and dollar-quoted bodies replaced by '***', on one line. */
export function redactQuery(query: string, maxChars = Infinity): string {
  const redacted = query.replace(LITERAL, "'***'").replace(/\s+/g, ' ').trim();
  return redacted.length > maxChars ? `${redacted.slice(0, maxChars - 3)}...` : redacted;
}
