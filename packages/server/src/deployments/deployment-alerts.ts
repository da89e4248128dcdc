// What the deployments domain asks of alerting: which alerts fired for a service in a time window.
// It reads them through the alert service's history, never the alert tables.
import type { AlertService } from '../alerts/alert.service.js';

export interface FiredAlert {
  fingerprint: string;
  alertname: string;
  severity: string;
  /** When it went to firing. */
  at: number;
  summary: string;
}

export interface DeploymentAlerts {
  /** Every transition to firing for the service with from <= at <= to, in any order. */
  firedFor(service: string, from: number, to: number): Promise<FiredAlert[]>;
}

const PAGE = 1000;
/** Bounds the work for one window; a service with more state changes than this in 30 minutes is on fire anyway. */
const MAX_PAGES = 10;

export function alertHistoryWindow(
  alerts: () => Pick<AlertService, 'history'> | undefined,
): DeploymentAlerts {
  return {
    async firedFor(service, from, to) {
      const source = alerts();
      if (!source) return [];
      const fired: FiredAlert[] = [];
      let before: number | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const rows = await source.history({ service, from, to: to + 1, before, limit: PAGE });
        for (const row of rows)
          if (row.state === 'firing')
            fired.push({
              fingerprint: row.fingerprint,
              alertname: row.alertname,
              severity: row.severity,
              at: Number(row.at),
              summary: row.summary,
            });
        if (rows.length < PAGE) break;
        before = Number(rows.at(-1)!.id);
      }
      return fired;
    },
  };
}
