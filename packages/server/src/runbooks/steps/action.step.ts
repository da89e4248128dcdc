import type { RunbookStep } from '../runbook.schema.js';
import { runHttp } from './http.step.js';
import { runCommand } from './shell.step.js';
import type { StepRunner } from './step.js';

/** A remediation: a command or a request. Always destructive; the engine runs it only once approved. */
export const actionStep: StepRunner<Extract<RunbookStep, { kind: 'action' }>> = (step, context) =>
  step.command
    ? runCommand(step.command, context.parameters, context)
    : runHttp({ ...step.request!, conditions: ['[STATUS] < 400'] }, context.parameters, context.signal);
