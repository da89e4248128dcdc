// How incidents reach people: pages from escalation and status updates, through the notification outbox.
import type { Incident } from './incident.types.js';

export interface PageRequest {
  incident: Incident;
  /** Receiver names (from notifications.receivers) to deliver the page to. */
  receivers: string[];
  /** Who is being paged, for the message and the timeline ("alice (on call: primary)"). */
  target: string;
  /** Escalation level (1-based) and loop (1-based) of the policy. */
  level: number;
  loop: number;
}

export interface StatusUpdateRequest {
  incident: Incident;
  text: string;
  actor: string;
  /** Receiver names; the incident's configured channels when omitted. */
  receivers?: string[];
}

export interface IncidentNotifier {
  page(request: PageRequest): Promise<void>;
  statusUpdate(request: StatusUpdateRequest): Promise<void>;
}
