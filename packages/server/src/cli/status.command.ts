import type { Command } from 'commander';
import type { CheckList, CheckView, ServiceView } from '@opsbook/contracts';
import pc from 'picocolors';
import { api, apiUrl } from './api-client.js';
import { ago, colourStatus, fail, printJson, printTable } from './output.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('services and their checks, as the running server sees them')
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('-s, --service <name>', 'only this service')
    .option('--json', 'print services and checks as JSON')
    .action(async (options: { url?: string; service?: string; json?: boolean }) => {
      const base = apiUrl(options.url);
      let services: ServiceView[];
      let checks: CheckView[];
      try {
        services = (await api<{ items: ServiceView[] }>(base, '/api/v1/services')).items;
        checks = await allChecks(base, options.service);
      } catch (error) {
        return fail((error as Error).message, 1, options.json);
      }
      if (options.service) services = services.filter((s) => s.name === options.service);
      if (options.json) return printJson({ services, checks });

      printTable(
        ['SERVICE', 'STATUS', 'OWNER', 'ENV', 'CHECKS'],
        services.map((s) => [
          s.name,
          colourStatus(s.status),
          s.owner,
          s.environment,
          `${s.checks.healthy}/${s.checks.total} healthy${s.checks.unhealthy ? pc.red(`, ${s.checks.unhealthy} unhealthy`) : ''}`,
        ]),
      );
      process.stdout.write('\n');
      printTable(
        ['CHECK', 'ROLE', 'STATUS', 'SINCE', 'LAST', 'LATENCY', 'MESSAGE'],
        checks.map((c) => [
          c.id,
          c.role,
          colourStatus(c.status),
          ago(c.since),
          c.lastResult ? colourStatus(c.lastResult.status) : '-',
          c.lastResult ? `${c.lastResult.latencyMs.toFixed(1)} ms` : '-',
          c.lastResult?.message ??
            `not run yet (first run after initialDelaySeconds: ${c.timing.initialDelaySeconds}, or once startup passes)`,
        ]),
      );
      if (services.some((s) => s.status === 'unhealthy')) process.exitCode = 1;
    });
}

async function allChecks(base: string, service: string | undefined): Promise<CheckView[]> {
  const items: CheckView[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ limit: '1000' });
    if (service) params.set('service', service);
    if (cursor) params.set('cursor', cursor);
    const page: CheckList = await api<CheckList>(base, `/api/v1/checks?${params}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
