import type { Command } from 'commander';
import type { ProbeRun } from '@opsbook/contracts';
import { loadConfigFile, formatDiagnostic } from '../config/load.js';
import { definitionsFromConfig } from '../checks/check-definitions.js';
import { runProbe } from '../checks/probes/index.js';
import { Cancellation } from '../lib/cancellation.js';
import { api, apiUrl } from './api-client.js';
import { colourStatus, fail, printJson } from './output.js';

export function registerCheckCommands(program: Command): void {
  const check = program.command('check').description('run and inspect checks');
  check
    .command('run')
    .description('run one check now and print the result (through the server, or locally with --config)')
    .argument('<id>', 'the check id: service/check')
    .option('-c, --config <file>', 'run locally from this config file instead of asking the server')
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { config?: string; url?: string; json?: boolean }) => {
      let result: ProbeRun;
      try {
        result = options.config ? await runLocally(id, options.config) : await runRemotely(id, options.url);
      } catch (error) {
        return fail((error as Error).message, (error as { exitCode?: number }).exitCode ?? 1, options.json);
      }
      if (options.json) printJson(result);
      else {
        process.stdout.write(
          `${result.checkId}: ${colourStatus(result.status)} in ${result.latencyMs.toFixed(1)} ms\n  ${result.message}\n`,
        );
        for (const [key, value] of Object.entries(result.detail))
          process.stdout.write(
            `  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}\n`,
          );
      }
      if (result.status === 'down') process.exitCode = 1;
    });
}

async function runRemotely(id: string, url: string | undefined): Promise<ProbeRun> {
  const [service, name, extra] = id.split('/');
  if (!service || !name || extra !== undefined)
    throw new Error(`"${id}" is not a check id; write service/check (see \`opsbook status\`)`);
  return api<ProbeRun>(
    apiUrl(url),
    `/api/v1/checks/${encodeURIComponent(service)}/${encodeURIComponent(name)}/run`,
    {
      method: 'POST',
    },
  );
}

async function runLocally(id: string, file: string): Promise<ProbeRun> {
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    const error = new Error(`${file} is invalid:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`);
    throw Object.assign(error, { exitCode: 2 });
  }
  const definitions = definitionsFromConfig(loaded.config, loaded.baseDir);
  const definition = definitions.find((d) => d.id === id);
  if (!definition)
    throw new Error(
      `no check "${id}" in ${file}; it has: ${definitions.map((d) => d.id).join(', ') || 'none'}`,
    );
  const timeoutMs = definition.timing.timeoutSeconds * 1000;
  const outcome = await runProbe(definition.probe, {
    cancel: new Cancellation(),
    timeoutMs,
    baseDir: loaded.baseDir,
  });
  return { checkId: id, ...outcome };
}
