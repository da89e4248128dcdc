import { interpolate, type RunbookStep } from '../runbook.schema.js';
import { failed, type StepRunner } from './step.js';

/** Runs a configured check now, outside its schedule. */
export const checkStep: StepRunner<Extract<RunbookStep, { kind: 'check' }>> = async (step, context) => {
  const id = interpolate(step.check, context.parameters);
  try {
    const outcome = await context.checks.runNow(id, context.signal);
    const evidence = { check: id, ...outcome };
    return outcome.status === 'up'
      ? { status: 'succeeded', message: `${id} is up (${outcome.latencyMs} ms)`, evidence }
      : failed(`${id} is down${outcome.message ? `: ${outcome.message}` : ''}`, evidence);
  } catch (error) {
    return failed(`cannot run check ${id}: ${(error as Error).message}`, { check: id });
  }
};
