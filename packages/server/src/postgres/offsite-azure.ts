// A copy to Azure Blob Storage: each file a block blob under <prefix>/<database>/<backupId>/, its
// SHA-256 in the blob's metadata. Verified by listing: every blob present with the expected size and
// checksum metadata. Tested against Azurite, Microsoft's emulator.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { IntegrationError } from '../errors.js';
import type { ManifestFile } from './backup.types.js';
import { ChecksumError } from './backup-checksums.js';
import type { OffsiteTarget } from './offsite.js';

export interface AzureBlobSettings {
  connectionString: string;
  container: string;
  prefix: string;
}

export class AzureBlobTarget implements OffsiteTarget {
  readonly kind = 'azureBlob' as const;
  private readonly container: ContainerClient;
  private containerReady: Promise<unknown> | undefined;

  constructor(
    readonly name: string,
    private readonly settings: AzureBlobSettings,
  ) {
    let service: BlobServiceClient;
    try {
      // One try per call: Opsbook retries the whole copy with its own backoff and records each attempt.
      service = BlobServiceClient.fromConnectionString(settings.connectionString, {
        retryOptions: { maxTries: 1, tryTimeoutInMs: 5 * 60_000 },
      });
    } catch (error) {
      // The SDK's message may quote the connection string; say only what is wrong with it.
      throw new IntegrationError(
        `copy target ${name}: the Azure connection string is not valid (${(error as Error).name})`,
      );
    }
    this.container = service.getContainerClient(settings.container);
  }

  private prefixOf(database: string, backupId: string): string {
    return [this.settings.prefix, database, backupId].filter(Boolean).join('/') + '/';
  }

  location(database: string, backupId: string): string {
    const url = new URL(this.container.url);
    url.search = ''; // a SAS token in the connection string must not show
    return `${url.toString().replace(/\/$/, '')}/${this.prefixOf(database, backupId)}`;
  }

  async put(database: string, backupId: string, from: string, files: ManifestFile[], signal?: AbortSignal) {
    // Created once per process; forgotten after any failure, in case the container was deleted since.
    this.containerReady ??= this.container.createIfNotExists({ abortSignal: signal });
    try {
      await this.call('create the container', () => this.containerReady!);
      await this.upload(database, backupId, from, files, signal);
    } catch (error) {
      this.containerReady = undefined;
      throw error;
    }
    await this.verify(database, backupId, files);
  }

  private async upload(
    database: string,
    backupId: string,
    from: string,
    files: ManifestFile[],
    signal?: AbortSignal,
  ) {
    const prefix = this.prefixOf(database, backupId);
    for (const file of files) {
      await this.call(`upload ${file.path}`, () =>
        this.container
          .getBlockBlobClient(prefix + file.path)
          .uploadFile(join(from, ...file.path.split('/')), {
            metadata: { sha256: file.sha256 },
            blobHTTPHeaders: { blobContentType: contentType(file.path) },
            abortSignal: signal,
          }),
      );
    }
  }

  async verify(database: string, backupId: string, files: ManifestFile[]): Promise<void> {
    const prefix = this.prefixOf(database, backupId);
    const found = new Map<string, { bytes: number; sha256: string | undefined }>();
    await this.call('list the copy', async () => {
      for await (const blob of this.container.listBlobsFlat({ prefix, includeMetadata: true }))
        found.set(blob.name.slice(prefix.length), {
          bytes: blob.properties.contentLength ?? -1,
          sha256: blob.metadata?.sha256,
        });
    });
    for (const file of files) {
      const blob = found.get(file.path);
      if (!blob)
        throw new ChecksumError(
          file.path,
          'missing',
          `${file.path} is missing from ${this.location(database, backupId)}`,
        );
      if (blob.bytes !== file.bytes)
        throw new ChecksumError(
          file.path,
          'size',
          `${file.path} is ${blob.bytes} bytes in Azure, expected ${file.bytes}`,
        );
      if (blob.sha256 !== file.sha256)
        throw new ChecksumError(
          file.path,
          'checksum',
          `${file.path} in Azure carries SHA-256 ${blob.sha256 ?? '(none)'}, expected ${file.sha256}`,
        );
    }
  }

  async fetch(database: string, backupId: string, paths: string[], to: string, signal?: AbortSignal) {
    const prefix = this.prefixOf(database, backupId);
    for (const path of paths) {
      const target = join(to, ...path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await this.call(`download ${path}`, () =>
        this.container
          .getBlobClient(prefix + path)
          .downloadToFile(target, 0, undefined, { abortSignal: signal }),
      );
    }
  }

  async remove(database: string, backupId: string): Promise<void> {
    const prefix = this.prefixOf(database, backupId);
    await this.call('delete the copy', async () => {
      const names: string[] = [];
      for await (const blob of this.container.listBlobsFlat({ prefix })) names.push(blob.name);
      for (const name of names) await this.container.deleteBlob(name, { deleteSnapshots: 'include' });
    });
  }

  /** Azure errors carry request details; keep the status and code, and say which step failed. */
  private async call<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof ChecksumError) throw error;
      const e = error as { statusCode?: number; code?: string; message?: string };
      const detail = e.statusCode
        ? `HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ''}`
        : (e.code ?? e.message ?? 'failed');
      throw new IntegrationError(`Azure Blob (${this.name}): cannot ${what}: ${detail}`, { cause: error });
    }
  }
}

function contentType(path: string): string {
  if (path.endsWith('.json')) return 'application/json';
  if (path.endsWith('SHA256SUMS')) return 'text/plain';
  return 'application/octet-stream';
}
