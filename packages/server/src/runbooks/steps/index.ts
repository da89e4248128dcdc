// The step kinds, one file each, in one typed table (DESIGN 5: small core, opt-in leaves).
import { actionStep } from './action.step.js';
import { approvalStep } from './approval.step.js';
import { checkStep } from './check.step.js';
import { httpStep } from './http.step.js';
import { manualStep } from './manual.step.js';
import { metricsStep } from './metrics.step.js';
import { shellStep } from './shell.step.js';
import { sqlStep } from './sql.step.js';
import type { StepTable } from './step.js';

export const STEP_TABLE: StepTable = {
  manual: manualStep,
  approval: approvalStep,
  http: httpStep,
  check: checkStep,
  metrics: metricsStep,
  sql: sqlStep,
  shell: shellStep,
  action: actionStep,
};

export type {
  CheckRunOutcome,
  StepContext,
  StepResult,
  StepRunner,
  StepServices,
  StepTable,
} from './step.js';
