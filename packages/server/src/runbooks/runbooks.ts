// Wiring for the runtime: the `runbooks:` config section plus the services steps need -> one engine.
import { resolve } from 'node:path';
import type { Diagnostic } from '../config/load.js';
import type { Store } from '../storage/db.js';
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
  const engine = new RunbookEngine({
    store: options.store,
    runbooks,
    now: options.now,
    secrets: () => [...databasePasswords, ...(options.secrets?.() ?? [])],
    services: {
      checks: options.checks,
      metrics: options.metrics,
      databases: (name) => config.databases[name]?.url,
      allowShell: config.allowShell,
    },
  });
  return { engine, diagnostics };
}
