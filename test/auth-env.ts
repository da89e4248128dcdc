// Every test file's Opsbook gets an admin token from the env (OPSBOOK_ADMIN_TOKEN, as automation would
// provision it), and the CLI and test/api-caller.ts send it (OPSBOOK_TOKEN). Tests of access control
// itself sign in or create their own users and tokens.
import { randomBytes } from 'node:crypto';

const token = `opsb_test_${randomBytes(24).toString('base64url')}`;
process.env.OPSBOOK_ADMIN_TOKEN ??= token;
process.env.OPSBOOK_TOKEN ??= process.env.OPSBOOK_ADMIN_TOKEN;
