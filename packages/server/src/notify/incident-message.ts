// What every channel shows of a message about an incident (a page, a status update, its follow-ups):
// the title line, the facts, the pseudo-alert labels and the group keys that keep them in order.
import type { IncidentMessage } from '@opsbook/contracts';

export type IncidentLane = 'page' | 'status';

/** Pages and their acknowledge/resolve follow-ups share a lane, so a follow-up never overtakes its page. */
export function incidentGroupKey(incidentId: string, lane: IncidentLane): string {
  return `incident/${incidentId}/${lane}`;
}

/** The incident and lane of an incident message's group key; undefined for alert groups. */
export function parseIncidentGroupKey(groupKey: string): { id: string; lane: IncidentLane } | undefined {
  const match = /^incident\/(INC-\d+)\/(page|status)$/.exec(groupKey);
  return match ? { id: match[1]!, lane: match[2] as IncidentLane } : undefined;
}

/** "alice (level 1)", with the loop once the policy has gone round. */
export function pageTarget(page: NonNullable<IncidentMessage['page']>): string {
  const where = `level ${page.level}${page.loop > 1 ? `, loop ${page.loop}` : ''}`;
  // A schedule's person comes as "alice (on call for Primary)": one parenthesis, not two in a row.
  const via = /^(.+) \(([^()]+)\)$/.exec(page.target);
  return via ? `${via[1]} (${where}, ${via[2]})` : `${page.target} (${where})`;
}

/** The first line of a status update, short enough for a title. */
export function headline(text: string, max = 120): string {
  const line = text.trim().split('\n')[0]!.trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** "[SEV1] INC-7 Payment API down — paged: alice (level 1)" or "[SEV2] INC-7 status update: …". */
export function incidentTitle(m: IncidentMessage): string {
  const head = `[${m.severity}] ${m.id}`;
  switch (m.kind) {
    case 'page':
      return `${head} ${m.title} — paged: ${m.page ? pageTarget(m.page) : m.actor}`;
    case 'status-update':
      return `${head} status update: ${headline(m.text)}`;
    case 'acknowledged':
      return `${head} ${m.title} — acknowledged by ${m.actor}`;
    case 'resolved':
      return `${head} ${m.title} — resolved by ${m.actor}`;
  }
}

export interface Fact {
  title: string;
  value: string;
}

/** Severity, stage, commander and services; who is paged or who wrote the update. */
export function incidentFacts(m: IncidentMessage): Fact[] {
  const facts: Fact[] = [
    { title: 'Incident', value: `${m.id} ${m.title}` },
    { title: 'Severity', value: m.severity },
    { title: 'Stage', value: m.stage },
    { title: 'Commander', value: m.commander ?? 'not assigned' },
    { title: 'Services', value: m.services.length > 0 ? m.services.join(', ') : '-' },
  ];
  if (m.kind === 'page' && m.page) facts.push({ title: 'Paged', value: pageTarget(m.page) });
  else if (m.kind === 'status-update') facts.push({ title: 'Posted by', value: m.actor });
  return facts;
}

// Alertmanager-format receivers see each kind as an alert; a resolve closes the page's pseudo-alert.
const ALERTNAMES: Record<IncidentMessage['kind'], string> = {
  page: 'IncidentPage',
  'status-update': 'IncidentStatusUpdate',
  acknowledged: 'IncidentAcknowledged',
  resolved: 'IncidentPage',
};

/** Labels of the pseudo-alert: alertname, incident, severity (SEV1..SEV4) and stage. */
export function incidentLabels(m: IncidentMessage): Record<string, string> {
  return { alertname: ALERTNAMES[m.kind], incident: m.id, severity: m.severity, stage: m.stage };
}
