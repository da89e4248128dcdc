// Identifier quoting and query-text redaction, the two helpers every part of postgres/ shares.
import { describe, expect, it } from 'vitest';
import { quoteIdent, redactQuery } from './sql-text.js';

describe('quoteIdent', () => {
  it('always quotes, so keywords and capitals keep their meaning, and doubles embedded quotes', () => {
    expect(quoteIdent('orders')).toBe('"orders"');
    expect(quoteIdent('user')).toBe('"user"');
    expect(quoteIdent('Mixed Case')).toBe('"Mixed Case"');
    expect(quoteIdent('a"; DROP TABLE x; --')).toBe('"a""; DROP TABLE x; --"');
  });
});

describe('redactQuery', () => {
  it('replaces string literals and dollar-quoted bodies, where passwords and personal data live', () => {
    expect(redactQuery("ALTER ROLE app PASSWORD 'hunter2'")).toBe("ALTER ROLE app PASSWORD '***'");
    expect(redactQuery("SELECT 'it''s' ,  $$secret$$, $x$more$x$, 42")).toBe(
      "SELECT '***' , '***', '***', 42",
    );
  });

  it('covers escape strings, quotes inside dollar bodies and literals cut off by the server', () => {
    expect(redactQuery("SELECT E'it\\'s secret' FROM t WHERE name = 'x'")).toBe(
      "SELECT '***' FROM t WHERE name = '***'",
    );
    expect(redactQuery("DO $body$ BEGIN PERFORM 'a''b'; END $body$; SELECT 'c'")).toBe(
      "DO '***'; SELECT '***'",
    );
    // pg_stat_activity keeps only the first track_activity_query_size bytes.
    expect(redactQuery("INSERT INTO cards VALUES (1, '4111 1111 1111")).toBe(
      "INSERT INTO cards VALUES (1, '***'",
    );
    expect(redactQuery('SELECT $1, $2::text FROM t')).toBe('SELECT $1, $2::text FROM t');
    expect(redactQuery("SELECT 'x', name FROM t", 12)).toBe("SELECT '*...");
  });
});
