// Placeholder until the query engine lands: accepts any non-empty expression.
export class PromqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

export type Expr = { type: 'raw'; text: string };

export function parseExpr(text: string): Expr {
  if (!text.trim()) throw new PromqlSyntaxError('empty expression', 0);
  return { type: 'raw', text };
}
