// Starts on-call: schedules and overrides, and escalation of unacknowledged incidents.
import type { Logger } from 'pino';
import type { OncallConfig } from '../config/oncall.schema.js';
import type { IncidentNotifier } from '../incidents/incident-notifier.js';
import type { Store } from '../storage/db.js';
import { OncallRepository } from '../storage/oncall.repository.js';
import { EscalationService, type EscalationIncidents } from './escalation.service.js';
import { OncallService } from './oncall.service.js';

export interface OncallOptions {
  store: Store;
  config: OncallConfig;
  incidents: EscalationIncidents;
  notifier: IncidentNotifier;
  logger: Logger;
  now?: () => number;
  tickMs?: number;
}

export interface Oncall {
  schedules: OncallService;
  escalations: EscalationService;
  /** A reloaded config applies to the next page and the next question; running escalations carry on. */
  configure(config: OncallConfig): void;
  stop(): Promise<void>;
}

export async function startOncall(options: OncallOptions): Promise<Oncall> {
  const repository = new OncallRepository(options.store.db);
  const schedules = new OncallService({ repository, config: options.config, now: options.now });
  const escalations = new EscalationService({
    repository,
    oncall: schedules,
    incidents: options.incidents,
    notifier: options.notifier,
    logger: options.logger,
    now: options.now,
    tickMs: options.tickMs,
  });
  await escalations.load();
  escalations.start();
  return {
    schedules,
    escalations,
    configure: (config) => schedules.configure(config),
    stop: () => escalations.stop(),
  };
}
