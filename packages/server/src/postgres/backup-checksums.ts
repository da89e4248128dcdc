// SHA-256 of every file of a backup, written as SHA256SUMS in the format `sha256sum -c` reads.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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

export async function sha256File(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/** Every file under `root/dir`, hashed, with paths relative to root ("dump/toc.dat"), sorted. */
export async function checksumTree(root: string, dir: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile())
        files.push({
          path: relative(root, path).split(sep).join('/'),
          bytes: (await stat(path)).size,
          sha256: await sha256File(path),
        });
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
