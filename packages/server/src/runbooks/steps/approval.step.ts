import type { StepRunner } from './step.js';
import type { RunbookStep } from '../runbook.schema.js';

/** Waits for a user with the step's role; the engine enforces the role and the timeout. */
export const approvalStep: StepRunner<Extract<RunbookStep, { kind: 'approval' }>> = async (step) => ({
  status: 'waiting',
  message: `waiting for approval by a user with role ${step.role}`,
  evidence: { role: step.role },
});
