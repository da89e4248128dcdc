// The drill report as Markdown: what an auditor or the next on-call reads (guide 9.3 "document results").
import type { DrillReport } from '@opsbook/contracts';

const VERDICT: Record<DrillReport['status'], string> = {
  passed: 'PASSED',
  failed: 'FAILED',
  'missed-target': 'MISSED TARGET',
  running: 'RUNNING',
};

const PHASE_TITLE: Record<DrillReport['phases'][number]['name'], string> = {
  'select-backup': 'Select the latest backup',
  restore: 'Restore (checksums verified)',
  'row-counts': 'Exact row counts',
  'sample-checksums': 'Sample checksums',
  amcheck: 'amcheck',
  cleanup: 'Drop the scratch database',
};

export function renderDrillMarkdown(report: DrillReport): string {
  const out: string[] = [];
  out.push(`# Disaster-recovery drill ${report.id}: ${VERDICT[report.status]}`, '');
  out.push(
    `Database **${report.database}**, started ${time(report.startedAt)} (${report.trigger === 'schedule' ? 'scheduled' : `on demand by ${report.actor}`})` +
      (report.finishedAt === null ? ', still running.' : `, finished ${time(report.finishedAt)}.`),
    '',
  );
  out.push(verdictLine(report), '');

  out.push('| | measured | target | |', '|---|---:|---:|---|');
  out.push(targetRow('RTO: drill start to verified restore', report.rto));
  out.push(targetRow("RPO: age of the backup's data at drill start", report.rpo));
  out.push('');

  out.push('## Backup used', '');
  if (!report.backup) out.push('None: no backup was restored.', '');
  else {
    const b = report.backup;
    out.push(
      `- backup \`${b.id}\`, data as of ${time(b.snapshotAt)}${b.walLsn ? ` (WAL LSN ${b.walLsn})` : ''}`,
      `- finished ${time(b.finishedAt)}, ${bytes(b.sizeBytes)}, ${b.tables} tables, PostgreSQL ${b.serverVersion}`,
      `- scratch database \`${report.scratch.database}\` on ${report.scratch.server}: ${scratchFate(report)}`,
      '',
    );
  }

  out.push('## Problems', '');
  out.push(...(report.problems.length === 0 ? ['None.'] : report.problems.map((p) => `- ${p}`)), '');
  if (report.warnings.length > 0) out.push('## Warnings', '', ...report.warnings.map((w) => `- ${w}`), '');

  out.push('## Row counts', '');
  if (report.tables.length === 0) out.push('Not checked.', '');
  else {
    const bad = report.tables.filter((t) => !t.ok).length;
    out.push(
      bad === 0
        ? `All ${report.tables.length} tables match the backup manifest.`
        : `${bad} of ${report.tables.length} tables differ from the backup manifest.`,
      '',
      '| table | backup | restored | |',
      '|---|---:|---:|---|',
      ...report.tables.map(
        (t) =>
          `| ${t.schema}.${t.name} | ${t.expected} | ${t.actual ?? 'missing'} | ${t.ok ? 'ok' : '**MISMATCH**'} |`,
      ),
      '',
    );
  }

  out.push('## Sample checksums', '');
  if (report.samples.length === 0) out.push('Not checked.', '');
  else if (report.samples.every((s) => s.status === 'unavailable'))
    out.push('Not available in this backup: its manifest carries no sample checksums.', '');
  else
    out.push(
      '| table | rows | backup md5 | restored md5 | |',
      '|---|---:|---|---|---|',
      ...report.samples.map(
        (s) =>
          `| ${s.schema}.${s.name} | ${s.rows ?? '-'} | ${s.expected ?? '-'} | ${s.actual ?? '-'} | ${SAMPLE_RESULT[s.status]} |`,
      ),
      '',
    );

  out.push('## amcheck', '');
  if (!report.amcheck) out.push('Not run.', '');
  else if (!report.amcheck.available) out.push(`Not available: ${report.amcheck.message}`, '');
  else {
    out.push(`${report.amcheck.message}.`, '');
    if (report.amcheck.indexes.length > 0)
      out.push(
        '| index | table | result |',
        '|---|---|---|',
        ...report.amcheck.indexes.map(
          (i) => `| ${i.schema}.${i.index} | ${i.table} | ${checkResult(i.status, i.message)} |`,
        ),
        '',
      );
    if (report.amcheck.heap.length > 0)
      out.push(
        '| table (heap) | result |',
        '|---|---|',
        ...report.amcheck.heap.map((h) => `| ${h.schema}.${h.table} | ${checkResult(h.status, h.message)} |`),
        '',
      );
  }

  out.push('## Phases', '', '| phase | status | duration | note |', '|---|---|---:|---|');
  for (const p of report.phases)
    out.push(
      `| ${PHASE_TITLE[p.name]} | ${p.status} | ${p.durationMs === null ? '-' : duration(p.durationMs)} | ${cell(p.message)} |`,
    );
  out.push('');
  return out.join('\n');
}

const SAMPLE_RESULT: Record<DrillReport['samples'][number]['status'], string> = {
  match: 'ok',
  mismatch: '**MISMATCH**',
  unavailable: 'not available',
  error: '**ERROR**',
};

function verdictLine(report: DrillReport): string {
  switch (report.status) {
    case 'passed':
      return 'The backup restored, its data verified, and recovery met both targets.';
    case 'missed-target': {
      const missed = [report.rto.met === false ? 'RTO' : '', report.rpo.met === false ? 'RPO' : ''].filter(
        Boolean,
      );
      return `The backup restored and its data verified, but recovery missed the ${missed.join(' and ')} target${missed.length > 1 ? 's' : ''}.`;
    }
    case 'failed':
      return `The drill failed: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} below.`;
    case 'running':
      return `In progress${report.progress ? `: ${report.progress.phase}, ${report.progress.message}` : ''}.`;
  }
}

function targetRow(label: string, target: DrillReport['rto']): string {
  const measured = target.ms === null ? '-' : duration(target.ms);
  const met = target.met === null ? 'not measured' : target.met ? 'met' : '**MISSED**';
  return `| ${label} | ${measured} | ${duration(target.targetMs)} | ${met} |`;
}

function scratchFate(report: DrillReport): string {
  if (report.scratch.dropped) return 'dropped after verification';
  if (report.scratch.kept)
    return `kept for inspection (keepScratch); drop it with DROP DATABASE ${report.scratch.database}`;
  if (report.finishedAt === null) return 'in use';
  const cleanup = report.phases.find((p) => p.name === 'cleanup');
  return cleanup?.message || 'not dropped (see warnings)';
}

function checkResult(status: 'ok' | 'corrupt' | 'error', message: string): string {
  return status === 'ok' ? 'ok' : `**${status.toUpperCase()}**: ${cell(message)}`;
}

/** Keeps a table cell on one line and its pipes literal. */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replaceAll('|', '\\|');
}

export function time(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** 850 ms, 4.2 s, 3m 12s, 5h 2m, 25h, 12d 3h: the two largest units are precise enough. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  const s = Math.round(ms / 1000);
  const units: [string, number][] =
    s >= 7 * 86_400
      ? [
          ['d', Math.floor(s / 86_400)],
          ['h', Math.floor((s % 86_400) / 3600)],
        ]
      : [
          ['h', Math.floor(s / 3600)],
          ['m', Math.floor((s % 3600) / 60)],
          ['s', s % 60],
        ];
  const first = units.findIndex(([, n]) => n > 0);
  return units
    .slice(first, first + 2)
    .filter(([, n]) => n > 0)
    .map(([unit, n]) => `${n}${unit}`)
    .join(' ');
}

export function bytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
