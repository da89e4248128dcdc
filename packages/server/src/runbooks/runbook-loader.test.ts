import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbooks, loadRunbookText } from './runbook-loader.js';
import { resolveParameters } from './runbook.schema.js';

const VALID = `id: restart-api
title: Restart the API
parameters:
  replicas: { type: number, default: 2 }
  mode: { type: enum, values: [soft, hard], default: soft }
  note: { type: string }
steps:
  - id: look
    title: Look at it
    kind: manual
  - id: ok
    title: Approve
    kind: approval
    role: operator
  - id: restart
    title: Restart
    kind: action
    command: [kubectl, scale, "--replicas=\${replicas}", deployment/api]
`;

describe('runbook loader', () => {
  it('loads a valid runbook with defaults', () => {
    const result = loadRunbookText(VALID, 'rb.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.runbook.triggers).toEqual({ alerts: [], matchers: [], manual: true });
    expect(result.runbook.steps[2]).toMatchObject({
      kind: 'action',
      destructive: true,
      phase: 'investigation',
    });
  });

  it('refuses a free string parameter in a command, with file:line:column and path', () => {
    const text = VALID.replace('--replicas=${replicas}', '--note=${note}');
    const result = loadRunbookText(text, 'rb.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        file: 'rb.yaml',
        line: 18,
        column: 31,
        path: 'steps[2].command[2]',
        message: expect.stringContaining('free string parameter'),
      }),
    ]);
  });

  it('reports every problem with its position: unknown kind, bad PromQL', () => {
    const text = `id: bad
title: Bad
steps:
  - id: a
    title: A
    kind: teleport
  - id: b
    title: B
    kind: metrics
    query: "sum(rate(x[5m]"
`;
    const result = loadRunbookText(text, 'bad.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const summary = result.diagnostics.map((d) => `${d.line}:${d.column} ${d.path}`);
    expect(summary).toEqual(['6:11 steps[0].kind', '10:12 steps[1].query']);
    expect(result.diagnostics[1]!.message).toMatch(/invalid PromQL/);
  });

  it('refuses an action step with no approval step before it', () => {
    const text = VALID.replace(
      /  - id: ok\n    title: Approve\n    kind: approval\n    role: operator\n/,
      '',
    );
    const result = loadRunbookText(text, 'rb.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        line: 13,
        column: 11,
        path: 'steps[1].kind',
        message: expect.stringMatching(/after an approval step/),
      }),
    ]);
  });

  it('reports a YAML syntax error with its line', () => {
    const result = loadRunbookText('id: x\ntitle: [unclosed\n', 'x.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.diagnostics[0]).toMatchObject({ file: 'x.yaml', line: expect.any(Number) });
  });

  it('loads the five built-in runbooks from the guide', () => {
    const { runbooks, diagnostics } = loadRunbooks();
    expect(diagnostics).toEqual([]);
    expect([...runbooks.keys()].sort()).toEqual([
      'database-issues',
      'high-error-rate',
      'high-resource-utilization',
      'security-incident',
      'service-unavailable',
    ]);
    for (const runbook of runbooks.values()) {
      const phases = new Set(runbook.steps.map((s) => s.phase));
      expect(phases).toEqual(new Set(['investigation', 'resolution']));
      // Resolution steps are manual, approval or action steps only.
      for (const step of runbook.steps.filter((s) => s.phase === 'resolution'))
        expect(['manual', 'approval', 'action']).toContain(step.kind);
    }
    const db = runbooks.get('database-issues')!;
    expect(db.steps.filter((s) => s.kind === 'sql').map((s) => s.id)).toEqual([
      'database-health',
      'connection-count',
      'slow-queries',
      'long-running',
      'blocking',
    ]);
  });

  it('refuses a second runbook reusing an id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runbooks-'));
    try {
      writeFileSync(join(dir, 'dup.yaml'), VALID.replace('id: restart-api', 'id: database-issues'));
      const { runbooks, diagnostics } = loadRunbooks({ dirs: [dir] });
      expect(runbooks.size).toBe(5);
      expect(diagnostics).toEqual([
        expect.objectContaining({
          file: join(dir, 'dup.yaml'),
          message: expect.stringMatching(/already defined/),
        }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates run parameters against their types and allowed values', () => {
    const result = loadRunbookText(VALID, 'rb.yaml');
    if (!result.ok) throw new Error('invalid');
    expect(resolveParameters(result.runbook, {})).toEqual({
      ok: true,
      values: { replicas: 2, mode: 'soft' },
    });
    expect(resolveParameters(result.runbook, { mode: 'rm -rf /', replicas: '3', extra: 1 })).toEqual({
      ok: false,
      errors: [
        'extra: not a parameter of restart-api',
        'replicas: must be a number',
        'mode: must be one of soft, hard',
      ],
    });
  });
});
