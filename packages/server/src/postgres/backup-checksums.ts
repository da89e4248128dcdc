// SHA-256 of every file of a backup, written as SHA256SUMS in the format `sha256sum -c` reads.
import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ManifestFile } from './backup.types.js';

export const SUMS_FILE = 'SHA256SUMS';
export const MANIFEST_FILE = 'manifest.json';
export const DUMP_DIR = 'dump';

/** A file whose content does not match its recorded checksum (or that is missing). */
export class ChecksumError extends Error {
  constructor(
    readonly file: string,
    readonly reason: 'missing' | 'size' | 'checksum',
    detail: string,
  ) {
    super(detail);
  }
}

/** SHA-256 (with SHA-NI) outruns 64 KiB reads, the stream default; 1 MiB reads halve the time. */
const READ_BYTES = 1024 * 1024;

export async function sha256File(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BYTES })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/**
 * Hashes data files while pg_dump is still writing others (it reports each table it finishes), so
 * little is left to hash once it exits. A hash is reused only if the file's size and mtime are
 * unchanged since it was taken; anything else is hashed again by checksumTree.
 */
export class EarlyChecksums {
  private readonly hashes = new Map<string, { size: bigint; mtimeNs: bigint; sha256: string }>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly signal?: AbortSignal) {}

  /** Queues the data file of pg_dump's TOC entry `dumpId` ("3354.dat.gz") in `dir`; one file at a time. */
  addDataFile(dir: string, dumpId: string): void {
    this.queue = this.queue.then(async () => {
      if (this.signal?.aborted) return;
      try {
        const name = (await readdir(dir)).find((n) => n.startsWith(`${dumpId}.dat`));
        if (!name) return;
        const path = join(dir, name);
        const before = await stat(path, { bigint: true });
        const sha256 = await sha256File(path);
        const after = await stat(path, { bigint: true });
        if (before.size === after.size && before.mtimeNs === after.mtimeNs)
          this.hashes.set(path, { size: after.size, mtimeNs: after.mtimeNs, sha256 });
      } catch {
        // hashed again at the end
      }
    });
  }

  /** Resolves once every queued file is hashed. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** The early hash of `path`, if the file has not changed since. */
  lookup(path: string, current: BigIntStats): string | undefined {
    const early = this.hashes.get(path);
    return early && early.size === current.size && early.mtimeNs === current.mtimeNs
      ? early.sha256
      : undefined;
  }
}

/** Every file under `root/dir`, hashed, with paths relative to root ("dump/toc.dat"), sorted. */
export async function checksumTree(
  root: string,
  dir: string,
  early?: EarlyChecksums,
): Promise<ManifestFile[]> {
  await early?.settled();
  const files: ManifestFile[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const stats = await stat(path, { bigint: true });
        files.push({
          path: relative(root, path).split(sep).join('/'),
          bytes: Number(stats.size),
          sha256: early?.lookup(path, stats) ?? (await sha256File(path)),
        });
      }
    }
  };
  await walk(join(root, dir));
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function sumsText(files: ManifestFile[]): string {
  return files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
}

export async function writeSums(root: string, files: ManifestFile[]): Promise<void> {
  await writeFile(join(root, SUMS_FILE), sumsText(files));
}

/**
 * Checks every file against its recorded size and SHA-256; throws a ChecksumError naming the first
 * bad one. Sizes first, so a truncated copy fails before any file is read in full.
 */
export async function verifyFiles(
  root: string,
  files: ManifestFile[],
  onBytes?: (bytes: number) => void,
): Promise<number> {
  for (const file of files) {
    const path = join(root, ...file.path.split('/'));
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new ChecksumError(file.path, 'missing', `${file.path} is missing from ${root}`);
    }
    if (size !== file.bytes)
      throw new ChecksumError(
        file.path,
        'size',
        `${file.path} is ${size} bytes, the manifest says ${file.bytes}`,
      );
  }
  for (const file of files) {
    const actual = await sha256File(join(root, ...file.path.split('/')), onBytes);
    if (actual !== file.sha256)
      throw new ChecksumError(
        file.path,
        'checksum',
        `${file.path} does not match its SHA-256 (expected ${file.sha256.slice(0, 12)}..., found ${actual.slice(0, 12)}...): the file changed after the backup`,
      );
  }
  return files.length;
}
