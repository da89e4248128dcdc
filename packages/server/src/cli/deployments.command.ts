import type { Command } from 'commander';
import type { DeploymentList, DeploymentView } from '@opsbook/contracts';
import pc from 'picocolors';
import { actorName, api, apiUrl, postJson } from './api-client.js';
import { ago, fail, printJson, printList, timestamp } from './output.js';

const STATUSES = ['in_progress', 'succeeded', 'failed', 'rolled_back'];

function statusColour(status: string): string {
  return status === 'succeeded'
    ? pc.green(status)
    : status === 'failed'
      ? pc.red(status)
      : status === 'in_progress'
        ? pc.cyan(status)
        : pc.yellow(status);
}

/** "until 14:32 UTC" while the service is under watch, "while deploying" before it ends. */
function watch(d: DeploymentView): string {
  if (d.status === 'in_progress') return 'while deploying';
  if (d.watching && d.watchUntil !== null) return `until ${timestamp(d.watchUntil).slice(11, 16)} UTC`;
  return '-';
}

function alerts(d: DeploymentView): string {
  if (d.alerts.length === 0) return '-';
  return pc.red(d.alerts.map((a) => a.alertname).join(', '));
}

function statusOption(value: string | undefined): string | undefined {
  if (value !== undefined && !STATUSES.includes(value))
    throw new Error(`--status "${value}" is not one of ${STATUSES.join(', ')}`);
  return value;
}

/** "2026-11-26T14:00:00Z" or epoch ms as the API takes them. */
function timeOption(name: string, value: string | undefined): string | number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (Number.isNaN(Date.parse(value)))
    throw new Error(`${name} "${value}" is not a time; use ISO 8601 (2026-11-26T14:00:00Z) or epoch ms`);
  return new Date(value).toISOString();
}

function details(d: DeploymentView): string {
  const lines = [
    `deployment ${d.id}: ${d.service} ${d.version} to ${d.environment}, ${statusColour(d.status)}${d.by ? ` by ${d.by}` : ''}`,
    `  started   ${timestamp(d.startedAt)} UTC${d.finishedAt !== null ? `, finished ${timestamp(d.finishedAt)} UTC` : ''}`,
  ];
  if (d.status === 'in_progress') lines.push('  watch     while deploying, then for deployments.watchFor');
  else if (d.watchUntil !== null)
    lines.push(`  watch     ${d.watching ? 'until' : 'ended'} ${timestamp(d.watchUntil)} UTC`);
  if (d.url) lines.push(`  url       ${d.url}`);
  if (d.description) lines.push(`  about     ${d.description}`);
  lines.push(
    d.alerts.length === 0
      ? `  alerts    none fired for ${d.service} in the window`
      : `  alerts    ${pc.red(`${d.alerts.length} fired for ${d.service} in the window`)}`,
  );
  for (const a of d.alerts)
    lines.push(`            ${timestamp(a.firedAt)} UTC  ${a.severity}  ${a.alertname}  ${a.summary}`);
  return `${lines.join('\n')}\n`;
}

async function run(json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    fail((error as Error).message, 1, json);
  }
}

export function registerDeploymentCommands(program: Command): void {
  const deployments = program
    .command('deployments')
    .alias('deployment')
    .description(
      'deployments recorded by pipelines and people, and the alerts that fired while each was under watch',
    );

  deployments
    .command('list')
    .description('deployments, newest first')
    .option('-s, --service <name>', 'only this service')
    .option('-e, --environment <name>', 'only this environment')
    .option('--status <status>', STATUSES.join(', '))
    .option('-n, --limit <n>', 'how many (at most 200)', '20')
    .option('--url <url>', 'Opsbook server URL (default $OPSBOOK_URL or http://localhost:8080)')
    .option('--json', 'print as JSON')
    .action(
      (options: {
        service?: string;
        environment?: string;
        status?: string;
        limit: string;
        url?: string;
        json?: boolean;
      }) =>
        run(options.json, async () => {
          const params = new URLSearchParams({ limit: options.limit });
          if (options.service) params.set('service', options.service);
          if (options.environment) params.set('environment', options.environment);
          const status = statusOption(options.status);
          if (status) params.set('status', status);
          const list = await api<DeploymentList>(apiUrl(options.url), `/api/v1/deployments?${params}`);
          printList(
            options.json,
            list,
            list.items,
            'no deployments recorded yet; a pipeline records one with POST /api/v1/deployments or opsbook deployments record',
            ['ID', 'SERVICE', 'VERSION', 'ENV', 'STATUS', 'BY', 'STARTED', 'WATCH', 'ALERTS'],
            (d) => [
              d.id,
              d.service,
              d.version,
              d.environment,
              statusColour(d.status),
              d.by ?? '-',
              ago(d.startedAt),
              watch(d),
              alerts(d),
            ],
          );
        }),
    );

  deployments
    .command('show')
    .description('one deployment, its watch window and the alerts that fired in it')
    .argument('<id>', 'deployment id (see deployments list)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action((id: string, options: { url?: string; json?: boolean }) =>
      run(options.json, async () => {
        const d = await api<DeploymentView>(
          apiUrl(options.url),
          `/api/v1/deployments/${encodeURIComponent(id)}`,
        );
        if (options.json) return printJson(d);
        process.stdout.write(details(d));
      }),
    );

  deployments
    .command('record')
    .description(
      'record a deployment, e.g. from a pipeline: opsbook deployments record --service shop --version 1.4.2 --url $CI_JOB_URL',
    )
    .requiredOption('-s, --service <name>', 'the service deployed (as configured under services:)')
    .requiredOption('-v, --version <version>', 'what was deployed: a tag, a commit, a chart version')
    .option('-e, --environment <name>', "default: the service's environment")
    .option('--status <status>', `${STATUSES.join(', ')} (default succeeded)`)
    .option('--link <url>', 'link to the pipeline run or change request')
    .option('-d, --description <text>', 'what changed')
    .option('--started-at <time>', 'ISO 8601 or epoch ms (default: now)')
    .option('--finished-at <time>', 'ISO 8601 or epoch ms (default: now unless in_progress)')
    .option('--as <name>', 'who deployed (default $OPSBOOK_USER or the OS user)')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action(
      (options: {
        service: string;
        version: string;
        environment?: string;
        status?: string;
        link?: string;
        description?: string;
        startedAt?: string;
        finishedAt?: string;
        as?: string;
        url?: string;
        json?: boolean;
      }) =>
        run(options.json, async () => {
          const recorded = await postJson<DeploymentView>(apiUrl(options.url), '/api/v1/deployments', {
            service: options.service,
            version: options.version,
            environment: options.environment,
            status: statusOption(options.status),
            url: options.link,
            description: options.description,
            startedAt: timeOption('--started-at', options.startedAt),
            finishedAt: timeOption('--finished-at', options.finishedAt),
            by: actorName(options.as),
          });
          if (options.json) return printJson(recorded);
          process.stdout.write(details(recorded));
        }),
    );

  deployments
    .command('update')
    .description(
      'finish a deployment or mark it rolled back: opsbook deployments update <id> --status succeeded',
    )
    .argument('<id>', 'deployment id (recorded with --status in_progress)')
    .option('--status <status>', 'succeeded, failed or rolled_back')
    .option('--finished-at <time>', 'ISO 8601 or epoch ms (default: now)')
    .option('--link <url>', 'link to the pipeline run or change request')
    .option('-d, --description <text>', 'what changed')
    .option('--url <url>', 'Opsbook server URL')
    .option('--json', 'print as JSON')
    .action(
      (
        id: string,
        options: {
          status?: string;
          finishedAt?: string;
          link?: string;
          description?: string;
          url?: string;
          json?: boolean;
        },
      ) =>
        run(options.json, async () => {
          const updated = await api<DeploymentView>(
            apiUrl(options.url),
            `/api/v1/deployments/${encodeURIComponent(id)}`,
            {
              method: 'PATCH',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                status: statusOption(options.status),
                finishedAt: timeOption('--finished-at', options.finishedAt),
                url: options.link,
                description: options.description,
              }),
            },
          );
          if (options.json) return printJson(updated);
          process.stdout.write(details(updated));
        }),
    );
}
