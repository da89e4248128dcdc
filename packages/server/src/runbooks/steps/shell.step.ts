import { execFile } from 'node:child_process';
import { interpolate, type ParameterValue, type RunbookStep } from '../runbook.schema.js';
import { failed, type StepResult, type StepRunner } from './step.js';

const MAX_OUTPUT_CHARS = 16 * 1024;

/**
 * Runs an argv written in the runbook file, without a shell; only enum/number/boolean parameters
 * (checked at load) are interpolated, never trigger or API text.
 */
export function runCommand(
  command: string[],
  parameters: Record<string, ParameterValue>,
  context: { allowShell: boolean; signal: AbortSignal; timeoutMs: number },
): Promise<StepResult> {
  if (!context.allowShell)
    return Promise.resolve(failed('shell steps are disabled (set runbooks.allowShell in the config)'));
  const argv = command.map((arg) => interpolate(arg, parameters));
  return new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { shell: false, signal: context.signal, timeout: context.timeoutMs, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? ((error as NodeJS.ErrnoException & { code?: unknown }).code ?? null) : 0;
        const evidence = {
          argv,
          exitCode: typeof code === 'number' ? code : null,
          stdout: String(stdout).slice(0, MAX_OUTPUT_CHARS),
          stderr: String(stderr).slice(0, MAX_OUTPUT_CHARS),
          truncated: String(stdout).length > MAX_OUTPUT_CHARS || String(stderr).length > MAX_OUTPUT_CHARS,
        };
        if (!error) resolve({ status: 'succeeded', message: 'exit code 0', evidence });
        else resolve(failed(`command failed: ${error.message.split('\n')[0]}`, evidence));
      },
    );
  });
}

export const shellStep: StepRunner<Extract<RunbookStep, { kind: 'shell' }>> = (step, context) =>
  runCommand(step.command, context.parameters, context);
