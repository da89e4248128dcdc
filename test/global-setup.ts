// Starts one throwaway PostgreSQL cluster for the whole test run; tests read its URL with inject('postgresUrl').
import type { TestProject } from 'vitest/node';
import { ensureCommand, startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

let cluster: PostgresCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  ensureCommand('openssl', 'openssl'); // TLS probe tests make their certificates with it
  cluster = await startPostgresCluster();
  project.provide('postgresUrl', cluster.url);
  project.provide('postgresBinDir', cluster.binDir);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    postgresBinDir: string;
  }
}
