// A copy to another directory (a second disk, an NFS or SMB share): copied into a hidden .partial
// folder, checksummed where it landed, then renamed into place.
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ManifestFile } from './backup.types.js';
import { verifyFiles } from './backup-checksums.js';
import type { OffsiteTarget } from './offsite.js';

export class DirectoryTarget implements OffsiteTarget {
  readonly kind = 'dir' as const;
  private readonly root: string;

  constructor(
    readonly name: string,
    dir: string,
    baseDir: string,
  ) {
    this.root = resolve(baseDir, dir);
  }

  location(database: string, backupId: string): string {
    return join(this.root, database, backupId);
  }

  async put(database: string, backupId: string, from: string, files: ManifestFile[], signal?: AbortSignal) {
    const target = this.location(database, backupId);
    const partial = join(dirname(target), `.${backupId}.partial`);
    await rm(partial, { recursive: true, force: true });
    try {
      for (const file of files) {
        signal?.throwIfAborted();
        const to = join(partial, ...file.path.split('/'));
        await mkdir(dirname(to), { recursive: true });
        await copyFile(join(from, ...file.path.split('/')), to);
      }
      await verifyFiles(partial, files);
      await rm(target, { recursive: true, force: true });
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { recursive: true, force: true }).catch(() => {});
      throw error;
    }
  }

  async verify(database: string, backupId: string, files: ManifestFile[]): Promise<void> {
    await verifyFiles(this.location(database, backupId), files);
  }

  async fetch(database: string, backupId: string, paths: string[], to: string, signal?: AbortSignal) {
    const from = this.location(database, backupId);
    for (const path of paths) {
      signal?.throwIfAborted();
      const target = join(to, ...path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await copyFile(join(from, ...path.split('/')), target);
    }
  }

  async remove(database: string, backupId: string): Promise<void> {
    await rm(this.location(database, backupId), { recursive: true, force: true });
  }
}
