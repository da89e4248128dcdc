// The CLI's token: $OPSBOOK_TOKEN, the file $OPSBOOK_TOKEN_FILE names, or the one `opsbook login` saved
// for that URL in ~/.config/opsbook/credentials.json (mode 0600). Never a command-line flag (ps shows those).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface SavedLogin {
  token: string;
  tokenId: string;
  username: string;
}

export function credentialsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'opsbook', 'credentials.json');
}

function readAll(): Record<string, SavedLogin> {
  try {
    return JSON.parse(readFileSync(credentialsFile(), 'utf8')) as Record<string, SavedLogin>;
  } catch {
    return {};
  }
}

export function savedLogin(base: string): SavedLogin | undefined {
  return readAll()[base];
}

export function saveLogin(base: string, login: SavedLogin | undefined): void {
  const all = readAll();
  if (login) all[base] = login;
  else delete all[base];
  const file = credentialsFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function tokenFor(base: string): string | undefined {
  if (process.env.OPSBOOK_TOKEN) return process.env.OPSBOOK_TOKEN;
  if (process.env.OPSBOOK_TOKEN_FILE) return readFileSync(process.env.OPSBOOK_TOKEN_FILE, 'utf8').trim();
  return savedLogin(base)?.token;
}
