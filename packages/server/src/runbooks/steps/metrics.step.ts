import { evaluateInstant } from '../../telemetry/promql/engine.js';
import { parseExpr } from '../../telemetry/promql/parser.js';
import type { RunbookStep } from '../runbook.schema.js';
import { failed, type StepRunner } from './step.js';

const MAX_SAMPLES = 200;

const COMPARE = {
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
  '==': (a: number, b: number) => a === b,
  '!=': (a: number, b: number) => a !== b,
};

/** A PromQL query now; fails when any sample crosses the threshold. */
export const metricsStep: StepRunner<Extract<RunbookStep, { kind: 'metrics' }>> = async (step, context) => {
  try {
    const result = await evaluateInstant(parseExpr(step.query), context.now(), context.metrics);
    const samples = result.type === 'scalar' ? [{ labels: {}, value: result.value }] : result.samples;
    const breaching = step.failIf
      ? samples.filter((s) => COMPARE[step.failIf!.op](s.value, step.failIf!.value))
      : [];
    const evidence = {
      query: step.query,
      failIf: step.failIf,
      samples: samples.slice(0, MAX_SAMPLES),
      truncated: samples.length > MAX_SAMPLES,
    };
    if (breaching.length > 0)
      return failed(
        `${breaching.length} of ${samples.length} series ${step.failIf!.op} ${step.failIf!.value}`,
        { ...evidence, breaching: breaching.slice(0, MAX_SAMPLES) },
      );
    return {
      status: 'succeeded',
      message: `${samples.length} series, none crossing the threshold`,
      evidence,
    };
  } catch (error) {
    return failed(`query failed: ${(error as Error).message}`, { query: step.query });
  }
};
