// Wiring for the runtime: the `runbooks:` config section plus the services steps need -> one engine.
import { resolve } from 'node:path';
import type { Diagnostic } from '../config/load.js';
import type { Store } from '../storage/db.js';
import type { DatabaseConfig } from '../config/databases.schema.js';
import { readPassword, urlWithPassword } from '../postgres/pg-connection.js';
import { urlPassword } from './redact.js';
import { RunbookEngine } from './runbook-engine.js';
import { loadRunbooks } from './runbook-loader.js';
import type { RunbooksConfig } from './runbooks.schema.js';
import type { StepServices } from './steps/step.js';

export interface CreateRunbooksOptions {
  config: RunbooksConfig;
  /** The config file's folder: `dirs` are relative to it. */
  baseDir: string;
  store: Store;
  checks: StepServices['checks'];
  metrics: StepServices['metrics'];
  /** The `databases:` section: sql steps may name these ids too, so a database is configured once. */
  databaseConfigs?: () => readonly DatabaseConfig[];
  /** Other secret values from the config (tokens, passwords) to redact from evidence. */
  secrets?: () => readonly string[];
  now?: () => number;
}

/** Loads built-in and configured runbooks and builds the engine; call resume() and startSweeper() after. */
export function createRunbooks(options: CreateRunbooksOptions): {
  engine: RunbookEngine;
  diagnostics: Diagnostic[];
} {
  const { config } = options;
  const { runbooks, diagnostics } = loadRunbooks({
    builtin: config.builtin,
    dirs: config.dirs.map((dir) => resolve(options.baseDir, dir)),
  });
  const databasePasswords = Object.values(config.databases)
    .map((d) => urlPassword(d.url))
    .filter((p): p is string => p !== undefined);
  const configured = configuredDatabases(options);
  const engine = new RunbookEngine({
    store: options.store,
    runbooks,
    now: options.now,
    secrets: () => [...databasePasswords, ...configured.passwords(), ...(options.secrets?.() ?? [])],
    services: {
      checks: options.checks,
      metrics: options.metrics,
      databases: (name) => config.databases[name]?.url ?? configured.url(name),
      allowShell: config.allowShell,
    },
  });
  return { engine, diagnostics };
}

/** Lookups into the `databases:` section, read when a step runs so a reloaded config applies. */
function configuredDatabases(options: CreateRunbooksOptions): {
  url(id: string): string | undefined;
  passwords(): string[];
} {
  const password = (d: DatabaseConfig): string | undefined => {
    try {
      return readPassword(d, options.baseDir);
    } catch {
      return undefined; // an unreadable passwordFile fails the step when it connects
    }
  };
  let cached: { list: readonly DatabaseConfig[]; passwords: string[] } | undefined;
  return {
    url(id) {
      const database = options.databaseConfigs?.().find((d) => d.id === id);
      return database && urlWithPassword(database.url, password(database));
    },
    passwords() {
      const list = options.databaseConfigs?.() ?? [];
      if (cached?.list !== list)
        cached = { list, passwords: list.map(password).filter((p): p is string => p !== undefined) };
      return cached.passwords;
    },
  };
}
