// The benches' Opsbook gets an admin token from its env (OPSBOOK_ADMIN_TOKEN), and every request sends
// it, as automation would (docs/access-control.md). Kept in the env so child processes share it.
import { randomBytes } from 'node:crypto';

process.env.BENCH_OPSBOOK_TOKEN ??= `opsb_bench_${randomBytes(24).toString('base64url')}`;

export const BENCH_TOKEN = process.env.BENCH_OPSBOOK_TOKEN;
export const benchAuth = { authorization: `Bearer ${BENCH_TOKEN}` };
/**
 * The env for an Opsbook a bench starts: nothing from the caller's shell but the token, and a first-admin
 * password so the bootstrap's "password file written" warning does not count among the run's log warnings.
 */
export const benchOpsbookEnv = {
  OPSBOOK_ADMIN_TOKEN: BENCH_TOKEN,
  OPSBOOK_ADMIN_PASSWORD: randomBytes(18).toString('base64url'),
};
