// The SHA-256 sums of a backup: files hashed while pg_dump is still running must end up with the
// checksum of what is on disk at the end, whatever happened to them in between.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumTree, EarlyChecksums, sha256File, verifyFiles } from './backup-checksums.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('backup checksums', () => {
  let root: string;
  let dump: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'opsbook-sums-'));
    dump = join(root, 'dump');
    mkdirSync(dump);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('hashes a file larger than one read buffer to its SHA-256', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024 + 17);
    writeFileSync(join(dump, '1.dat'), big);
    expect(await sha256File(join(dump, '1.dat'))).toBe(sha(big));
  });

  it('reuses an early hash of an unchanged file and rehashes one that changed after it', async () => {
    writeFileSync(join(dump, '3354.dat.gz'), 'customers');
    writeFileSync(join(dump, '3355.dat.gz'), 'orders, first part');
    const early = new EarlyChecksums();
    early.addDataFile(dump, '3354');
    early.addDataFile(dump, '3355');
    early.addDataFile(dump, '9999'); // reported but never written: hashed by nobody, no error
    await early.settled();
    // Written to after its early hash (more data, and a later mtime): the early hash must not be used.
    appendFileSync(join(dump, '3355.dat.gz'), ', second part');
    utimesSync(join(dump, '3355.dat.gz'), new Date(), new Date(Date.now() + 5_000));
    writeFileSync(join(dump, 'toc.dat'), 'toc');

    const files = await checksumTree(root, 'dump', early);
    expect(files).toEqual([
      { path: 'dump/3354.dat.gz', bytes: 9, sha256: sha('customers') },
      { path: 'dump/3355.dat.gz', bytes: 31, sha256: sha('orders, first part, second part') },
      { path: 'dump/toc.dat', bytes: 3, sha256: sha('toc') },
    ]);
    await expect(verifyFiles(root, files)).resolves.toBe(3);
  });

  it('hashes nothing early once the backup is cancelled', async () => {
    writeFileSync(join(dump, '7.dat'), 'data');
    const controller = new AbortController();
    controller.abort();
    const early = new EarlyChecksums(controller.signal);
    early.addDataFile(dump, '7');
    await early.settled();
    expect(
      early.lookup(join(dump, '7.dat'), statSync(join(dump, '7.dat'), { bigint: true })),
    ).toBeUndefined();
  });
});
