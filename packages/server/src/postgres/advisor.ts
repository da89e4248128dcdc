// The health advisor: every rule of advisor.rules.ts over the latest snapshot, most severe first.
import type { Finding, FindingSeverity, HealthReport } from '@opsbook/contracts';
import { ADVISOR_RULES, type AdvisorContext } from './advisor.rules.js';

const ORDER: Record<FindingSeverity, number> = { critical: 0, warning: 1, info: 2 };

export function advise(context: AdvisorContext): HealthReport {
  const findings: Finding[] = [];
  for (const rule of ADVISOR_RULES) {
    if (rule.needsConnection && !context.snapshot.up) continue;
    findings.push(...rule.check(context));
  }
  // Stable: within a severity, findings keep the rule table's order.
  findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    database: context.database,
    collectedAt: context.snapshot.collectedAt,
    up: context.snapshot.up,
    counts,
    findings,
  };
}
