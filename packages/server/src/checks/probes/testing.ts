// Test helpers for the probe tests: certificates made with the openssl CLI, servers on free ports, contexts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProbeContext } from '../probe.js';
import { Cancellation } from '../../lib/cancellation.js';

export interface KeyPair {
  keyPath: string;
  certPath: string;
  key: string;
  cert: string;
}

export interface CertificateOptions {
  days: number;
  /** subjectAltName entries, e.g. ['DNS:localhost', 'IP:127.0.0.1']. */
  altNames: string[];
}

const EC_KEY = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

/** Runs openssl in dir; the arguments are one space-separated line (no argument contains a space). */
function openssl(dir: string, args: string): void {
  execFileSync('openssl', args.trim().split(/\s+/), { cwd: dir, stdio: 'pipe' });
}

function pair(dir: string, name: string): KeyPair {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.crt`);
  return { keyPath, certPath, key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
}

/** A scratch directory for certificates; call remove() when done. */
export class CertificateDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'opsbook-certs-'));

  selfSigned(name: string, { days, altNames }: CertificateOptions): KeyPair {
    openssl(
      this.dir,
      `req -x509 ${EC_KEY} -keyout ${name}.key -out ${name}.crt -days ${days} -subj /CN=${name}
       -addext subjectAltName=${altNames.join(',')}`,
    );
    return pair(this.dir, name);
  }

  authority(name: string): KeyPair {
    openssl(this.dir, `req -x509 ${EC_KEY} -keyout ${name}.key -out ${name}.crt -days 365 -subj /CN=${name}`);
    return pair(this.dir, name);
  }

  /** A certificate signed by ca; negative days give one that has already expired. */
  issue(ca: KeyPair, name: string, { days, altNames }: CertificateOptions): KeyPair {
    writeFileSync(
      join(this.dir, `${name}.ext`),
      `subjectAltName=${altNames.join(',')}\nextendedKeyUsage=serverAuth\n`,
    );
    openssl(this.dir, `req -new ${EC_KEY} -keyout ${name}.key -out ${name}.csr -subj /CN=${name}`);
    openssl(
      this.dir,
      `x509 -req -in ${name}.csr -CA ${ca.certPath} -CAkey ${ca.keyPath} -CAcreateserial
       -out ${name}.crt -days ${days} -extfile ${name}.ext`,
    );
    return pair(this.dir, name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Listens on a free port of 127.0.0.1 and returns it. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

/** Closes a server, cutting open connections (some tests leave requests hanging on purpose). */
export async function close(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections?.();
  await closed;
}

export function probeContext(timeoutMs = 5_000, baseDir = process.cwd()): ProbeContext {
  return { cancel: Cancellation.timeout(timeoutMs), timeoutMs, baseDir };
}
