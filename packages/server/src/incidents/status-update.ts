// "Communicate status" (guide 4.2): the update goes on the incident's timeline at once, then to its
// channels through the notification outbox.
import { ConflictError, InputError } from '../errors.js';
import { incidentGroupKey } from '../notify/incident-message.js';
import type { IncidentService } from './incident.service.js';
import type { IncidentNotifier } from './incident-notifier.js';

export interface StatusUpdateNotifier extends Pick<IncidentNotifier, 'statusUpdate'> {
  /** The receivers an update goes to (the named ones, else incidents.channels); InputError if none or unknown. */
  statusReceivers(receivers?: readonly string[]): string[];
}

export interface StatusUpdateInput {
  id: string;
  text: string;
  actor: string;
  receivers?: string[];
}

export interface StatusUpdateResult {
  incidentId: string;
  text: string;
  actor: string;
  receivers: string[];
  groupKey: string;
}

export async function postStatusUpdate(
  incidents: Pick<IncidentService, 'get' | 'record'>,
  notifier: StatusUpdateNotifier,
  input: StatusUpdateInput,
): Promise<StatusUpdateResult> {
  const text = input.text.trim();
  if (!text) throw new InputError('a status update needs text', 'text');
  const { timeline: _timeline, ...current } = await incidents.get(input.id);
  if (current.stage === 'closed')
    throw new ConflictError(
      `${current.id} is closed; status updates go to incidents that are open or in post-incident`,
    );
  // Checked before anything is stored, so a bad receiver name leaves no half-posted update.
  const receivers = notifier.statusReceivers(input.receivers);
  const incident = await incidents.record(current.id, 'status', `Status update: ${text}`, input.actor, {
    update: true,
    text,
    receivers,
  });
  await notifier.statusUpdate({ incident, text, actor: input.actor, receivers });
  return {
    incidentId: incident.id,
    text,
    actor: input.actor,
    receivers,
    groupKey: incidentGroupKey(incident.id, 'status'),
  };
}
