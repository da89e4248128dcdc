import type { Command } from 'commander';
import pc from 'picocolors';
import { formatDiagnostic, loadConfigFile } from '../config/load.js';
import { printJson } from './output.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('work with opsbook.yaml files');
  config
    .command('validate')
    .description(
      'check a config file and report every problem with file:line:column (exit code 2 when invalid)',
    )
    .argument('<file>', 'the opsbook.yaml to check')
    .option('--json', 'print the result as JSON')
    .action((file: string, options: { json?: boolean }) => {
      const result = loadConfigFile(file);
      if (options.json) {
        printJson(
          result.ok
            ? {
                valid: true,
                file,
                services: result.config.services.length,
                checks: countChecks(result.config.services),
              }
            : { valid: false, file, problems: result.diagnostics },
        );
      } else if (result.ok) {
        const services = result.config.services.length;
        process.stdout.write(
          `${pc.green('valid:')} ${file} (${plural(services, 'service')}, ${plural(countChecks(result.config.services), 'check')})\n`,
        );
      } else {
        for (const d of result.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
        const n = result.diagnostics.length;
        process.stderr.write(`${pc.red(`${n} problem${n === 1 ? '' : 's'}`)} in ${file}\n`);
      }
      if (!result.ok) process.exitCode = 2;
    });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function countChecks(services: { checks: unknown[] }[]): number {
  return services.reduce((n, s) => n + s.checks.length, 0);
}
