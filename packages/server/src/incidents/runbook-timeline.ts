// Runbook runs started for an incident, mirrored onto its timeline: the start, every step that waits or
// finishes (with its evidence, and who ticked, approved or rejected it), and the end of the run.
import type { Logger } from 'pino';
import type { RunbookChange } from '../runbooks/runbook-engine.js';
import type { IncidentService } from './incident.service.js';
import { SYSTEM_ACTOR } from './incident.types.js';

export type RunbookTimelineIncidents = Pick<IncidentService, 'record'>;

// Changes before the incidents domain runs (a restart resuming runs) wait here, up to this many.
const MAX_BUFFERED = 1000;

export class RunbookTimeline {
  private incidents: RunbookTimelineIncidents | undefined;
  private buffered: RunbookChange[] = [];

  constructor(private readonly logger: Logger) {}

  /** Starts recording, beginning with the changes buffered so far. */
  attach(incidents: RunbookTimelineIncidents): void {
    this.incidents = incidents;
    for (const change of this.buffered.splice(0)) this.mirror(incidents, change);
  }

  /** The engine's observer. Called in order per run, so entries land in the order things happened. */
  readonly observe = (change: RunbookChange): void => {
    if (incidentOf(change) === undefined) return;
    if (this.incidents) this.mirror(this.incidents, change);
    else if (this.buffered.length < MAX_BUFFERED) this.buffered.push(change);
  };

  private mirror(incidents: RunbookTimelineIncidents, change: RunbookChange): void {
    const id = incidentOf(change)!;
    const { run } = change;
    const base = { runId: run.id, runbookId: run.runbookId };
    let entry: { text: string; actor: string; data: Record<string, unknown> };
    switch (change.type) {
      case 'run.started':
        entry = { text: `Runbook "${run.title}" started (${run.id})`, actor: run.startedBy, data: base };
        break;
      case 'step': {
        const { step } = change;
        entry = {
          text: `${step.title}: ${step.status}${step.message ? ` (${step.message})` : ''}`,
          actor: step.actor ?? SYSTEM_ACTOR,
          data: {
            ...base,
            stepId: step.id,
            kind: step.kind,
            status: step.status,
            destructive: step.destructive,
            evidence: step.evidence,
          },
        };
        break;
      }
      case 'run.finished':
        entry = {
          text: `Runbook "${run.title}" finished: ${run.status}`,
          actor: SYSTEM_ACTOR,
          data: { ...base, status: run.status },
        };
        break;
    }
    // record() queues in call order, so entries keep the order of the engine's changes.
    incidents
      .record(id, 'runbook.step', entry.text, entry.actor, entry.data)
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, incident: id, runId: run.id },
          'could not record a runbook change on the incident timeline',
        ),
      );
  }
}

function incidentOf(change: RunbookChange): string | undefined {
  const incident = change.run.trigger.incident;
  return typeof incident === 'string' ? incident : undefined;
}
