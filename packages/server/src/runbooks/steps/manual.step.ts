import type { StepRunner } from './step.js';
import type { RunbookStep } from '../runbook.schema.js';

/** A checklist item: the run waits until a person ticks it. */
export const manualStep: StepRunner<Extract<RunbookStep, { kind: 'manual' }>> = async (step) => ({
  status: 'waiting',
  message: 'waiting for a person to tick this step',
  evidence: { checklist: step.checklist },
});
