// Off-site copies of a backup (guide 9.1: geo-redundant backups): one interface, one file per kind.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyTargetConfig } from './backup.schema.js';
import type { BackupManifest, ManifestFile } from './backup.types.js';
import { MANIFEST_FILE, sha256File, SUMS_FILE } from './backup-checksums.js';
import { DirectoryTarget } from './offsite-dir.js';
import { AzureBlobTarget } from './offsite-azure.js';

export interface OffsiteTarget {
  readonly name: string;
  readonly kind: 'dir' | 'azureBlob';
  /** Where the copy of a backup lives, without credentials. */
  location(database: string, backupId: string): string;
  /** Copies the files from the local backup folder, then verifies them where they landed. */
  put(
    database: string,
    backupId: string,
    from: string,
    files: ManifestFile[],
    signal?: AbortSignal,
  ): Promise<void>;
  /** Throws a ChecksumError naming the first file that is missing or differs. */
  verify(database: string, backupId: string, files: ManifestFile[]): Promise<void>;
  /** Downloads the copy into a folder (a restore when the local folder is gone). */
  fetch(database: string, backupId: string, paths: string[], to: string, signal?: AbortSignal): Promise<void>;
  remove(database: string, backupId: string): Promise<void>;
}

export function createOffsiteTarget(config: CopyTargetConfig, baseDir: string): OffsiteTarget {
  if (config.azureBlob) return new AzureBlobTarget(config.name, config.azureBlob);
  return new DirectoryTarget(config.name, config.dir!, baseDir);
}

/** Every file of a backup folder: the dump files from the manifest, then the manifest and SHA256SUMS. */
export async function backupFiles(folder: string, manifest: BackupManifest): Promise<ManifestFile[]> {
  const extra: ManifestFile[] = [];
  for (const path of [SUMS_FILE, MANIFEST_FILE]) {
    const full = join(folder, path);
    extra.push({ path, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  // The manifest goes last: a copy that has it is complete.
  return [...manifest.files, ...extra];
}
