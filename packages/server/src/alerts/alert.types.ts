// What the alerts domain hands to notifications: one alert's current state, Alertmanager-shaped.
import type { Labels } from '../telemetry/series.js';

export type AlertStatus = 'firing' | 'resolved';

export interface AlertSnapshot {
  /** Stable id from the labels (sorted name=value pairs, hashed). */
  fingerprint: string;
  labels: Labels;
  annotations: Record<string, string>;
  status: AlertStatus;
  /** Epoch ms. */
  startsAt: number;
  /** Epoch ms when resolved; null while firing. */
  endsAt: number | null;
  /** Where it came from: a rule's query or an external Prometheus. */
  generatorUrl: string;
  /** Why notifications for it are held back, empty when none. */
  suppressedBy: {
    silences: string[];
    inhibitedBy: string[];
    maintenance: string[];
  };
}

export function isSuppressed(alert: AlertSnapshot): boolean {
  const s = alert.suppressedBy;
  return s.silences.length + s.inhibitedBy.length + s.maintenance.length > 0;
}

/** The notification pipeline: receives every change of alert state (firing, resolved, suppression). */
export interface AlertSink {
  update(alerts: AlertSnapshot[]): void;
}
