import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText, loadConfigFile } from './load.js';
import { PROBE_DEFAULTS } from './defaults.js';

const valid = `
services:
  - name: web
    owner: team-web
    checks:
      - name: live
        role: liveness
        http: { url: "http://localhost:8081/actuator/health/liveness" }
      - name: ready
        http: { url: "http://localhost:8081/actuator/health/readiness" }
        periodSeconds: 2
`;

describe('config loading', () => {
  it('applies the guide 6.1 timing defaults per role and the engine defaults', () => {
    const result = loadConfigText(valid, 'opsbook.yaml', {});
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const [live, ready] = result.config.services[0]!.checks;
    expect(live!.timing).toEqual(PROBE_DEFAULTS.liveness);
    expect(live!.timing).toEqual({
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(ready!.role).toBe('readiness');
    expect(ready!.timing).toEqual({ ...PROBE_DEFAULTS.readiness, periodSeconds: 2 });
    expect(result.config.storage.url).toBe('sqlite:./data/opsbook.db');
    expect(result.config.retention.results).toBe(7 * 86_400_000);
    expect(result.config.retention.rollups).toBe(400 * 86_400_000);
    expect(result.config.retention.notifications).toBe(90 * 86_400_000);
  });

  it('reports every problem at once with line, column and key path', () => {
    const text = [
      'server:',
      '  port: 70000', // line 2
      'services:',
      '  - name: Web', // line 4
      '    owner: team',
      '    checks:',
      '      - name: a', // line 7
      '      - name: b',
      '        role: liveness',
      '        successThreshold: 2', // line 10
      '        http: { url: "http://x/", conditions: ["[NOPE] == 1"] }', // line 11
      '        colour: blue',
    ].join('\n');
    const result = loadConfigText(text, 'bad.yaml', {});
    expect(result.ok).toBe(false);
    const problems = result.diagnostics.map((d) => `${d.line}:${d.column} ${d.path}`);
    expect(problems).toEqual([
      '2:9 server.port',
      '4:11 services[0].name',
      '7:9 services[0].checks[0]',
      '8:9 services[0].checks[1]',
      '10:27 services[0].checks[1].successThreshold',
      '11:48 services[0].checks[1].http.conditions[0]',
    ]);
    expect(result.diagnostics.find((d) => d.path === 'services[0].checks[0]')!.message).toMatch(
      /needs one probe/,
    );
    expect(result.diagnostics.find((d) => d.path === 'services[0].checks[1]')!.message).toMatch(
      /unknown key: colour/,
    );
    expect(result.diagnostics.every((d) => d.file === 'bad.yaml')).toBe(true);
  });

  it('reports YAML syntax errors with their position', () => {
    const result = loadConfigText('services:\n  - name: [unclosed\n', 'x.yaml', {});
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]!.line).toBeGreaterThan(0);
  });

  it('interpolates ${ENV}, defaults and numbers, and names missing variables', () => {
    const text = `
server:
  port: \${PORT:-9000}
services:
  - name: web
    owner: \${OWNER}
    checks:
      - name: a
        tcp:
          host: \${HOST}
          port: \${TARGET_PORT}
`;
    const ok = loadConfigText(text, 'c.yaml', { OWNER: 'team-x', HOST: 'db.internal', TARGET_PORT: '5432' });
    if (!ok.ok) throw new Error(JSON.stringify(ok.diagnostics));
    expect(ok.config.server.port).toBe(9000);
    expect(ok.config.services[0]!.owner).toBe('team-x');
    expect(ok.config.services[0]!.checks[0]!.probe).toEqual({ kind: 'tcp', host: 'db.internal', port: 5432 });

    const missing = loadConfigText(text, 'c.yaml', {});
    expect(missing.ok).toBe(false);
    expect(missing.diagnostics.map((d) => d.message).join('\n')).toMatch(/OWNER is not set/);
    expect(missing.diagnostics.find((d) => d.message.includes('OWNER'))).toMatchObject({
      line: 6,
      path: 'services[0].owner',
    });
  });

  it('refuses secrets written in the YAML and reads them from env or files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbook-config-'));
    writeFileSync(join(dir, 'pg-password'), 's3cret\n');
    const literal = `
services:
  - name: db
    owner: dba
    checks:
      - name: a
        postgres: { url: "postgres://app:hunter2@db/app" }
      - name: b
        postgres: { url: "postgres://app@db/app", password: hunter2 }
`;
    const rejected = loadConfigText(literal, join(dir, 'opsbook.yaml'), {});
    expect(rejected.ok).toBe(false);
    expect(rejected.diagnostics.map((d) => d.path)).toEqual([
      'services[0].checks[0].postgres.url',
      'services[0].checks[1].postgres.password',
    ]);

    const fromEnvAndFile = `
services:
  - name: db
    owner: dba
    checks:
      - name: a
        postgres: { url: "postgres://app:\${PGPASSWORD}@db/app" }
      - name: b
        postgres: { url: "postgres://app@db/app", password: "\${file:pg-password}" }
      - name: c
        postgres: { url: "postgres://app@db/app", passwordFile: missing-file }
`;
    const result = loadConfigText(fromEnvAndFile, join(dir, 'opsbook.yaml'), { PGPASSWORD: 'from-env' });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ path: 'services[0].checks[2].postgres.passwordFile' });
    expect(result.diagnostics[0]!.message).toMatch(/file not found/);
  });

  it('names an unreadable file', () => {
    const result = loadConfigFile('/nonexistent/opsbook.yaml');
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]!.message).toMatch(/cannot read the config file/);
  });

  it('rejects duplicate service and check names', () => {
    const text = `
services:
  - { name: a, owner: t, checks: [ { name: x, tcp: { host: h, port: 1 } }, { name: x, tcp: { host: h, port: 2 } } ] }
  - { name: a, owner: t }
`;
    const result = loadConfigText(text, 'd.yaml', {});
    expect(result.diagnostics.map((d) => d.message)).toEqual([
      'duplicate check name "x"',
      'duplicate service name "a"',
    ]);
  });
});

describe('config loading, sharper edges', () => {
  it('says what type was expected rather than "required" for a wrong type', () => {
    const result = loadConfigText('server:\n  port: abc\n', 'x.yaml', {});
    expect(result.diagnostics[0]!.message).not.toMatch(/required/);
    expect(result.diagnostics[0]!.message).toMatch(/number/);
  });

  it('reports an unset variable once, not again as a schema error', () => {
    const result = loadConfigText('services:\n  - name: a\n    owner: ${OWNER}\n', 'x.yaml', {});
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]!.message).toMatch(/OWNER is not set/);
  });

  it('keeps an all-digit secret a string and insists secrets are whole references', () => {
    const ok = loadConfigText(
      'services:\n  - name: a\n    owner: t\n    checks:\n      - name: db\n        postgres:\n          url: postgres://u@h/db\n          password: ${PGPASSWORD}\n',
      'x.yaml',
      { PGPASSWORD: '123456' },
    );
    if (!ok.ok) throw new Error(JSON.stringify(ok.diagnostics));
    expect(ok.config.services[0]!.checks[0]!.probe).toMatchObject({ password: '123456' });
    const mixed = loadConfigText(
      'services:\n  - name: a\n    owner: t\n    checks:\n      - name: db\n        postgres:\n          url: postgres://u@h/db\n          password: hunter2${X:-}\n',
      'x.yaml',
      {},
    );
    expect(mixed.diagnostics.map((d) => d.message).join()).toMatch(/exactly one/);
  });

  it('rejects a condition on something the probe kind never observes', () => {
    const result = loadConfigText(
      'services:\n  - name: a\n    owner: t\n    checks:\n      - name: d\n        dns:\n          name: example.com\n          conditions: ["[STATUS] == 200"]\n',
      'x.yaml',
      {},
    );
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ path: 'services[0].checks[0].dns.conditions[0]' });
    expect(result.diagnostics[0]!.message).toMatch(/a dns probe never fills \[STATUS\]/);
  });
});

describe('alerting config', () => {
  it('a rule with an unknown function or a bad window is an error at its line', () => {
    const text = [
      'alerting:',
      '  rules:',
      '    - alert: Broken',
      '      expr: rte(http_requests_total[5m]) > 1',
      '      severity: critical',
      '    - alert: BadWindow',
      '      expr: rate(http_requests_total[$window]) > 1',
      '      window: 5 minutes',
      '      severity: warning',
      '      annotations: { summary: "{{ $value | shout }}" }',
    ].join('\n');
    const result = loadConfigText(text, 'rules.yaml', {});
    expect(result.ok).toBe(false);
    const byPath = Object.fromEntries(result.diagnostics.map((d) => [d.path, d]));
    expect(byPath['alerting.rules[0].expr']).toMatchObject({ line: 4 });
    expect(byPath['alerting.rules[0].expr']!.message).toMatch(/unknown function "rte"/);
    expect(byPath['alerting.rules[1].window']).toMatchObject({ line: 8 });
    expect(byPath['alerting.rules[1].window']!.message).toMatch(/not a duration/);
    expect(byPath['alerting.rules[1].annotations.summary']!.message).toMatch(/unknown function "shout"/);
  });

  it('a route naming a receiver that does not exist is an error', () => {
    const result = loadConfigText('notifications:\n  route:\n    receiver: pager\n', 'n.yaml', {});
    expect(result.diagnostics[0]).toMatchObject({ path: 'notifications.route.receiver' });
    expect(result.diagnostics[0]!.message).toMatch(/no receiver named "pager"/);
  });
});

describe('default rule names', () => {
  it('a misspelled rule in defaultRules.disable is an error listing the real names', () => {
    const result = loadConfigText(
      'alerting:\n  defaultRules:\n    disable: [HighCpuUtilisation]\n',
      'd.yaml',
      {},
    );
    expect(result.diagnostics[0]).toMatchObject({ path: 'alerting.defaultRules.disable[0]', line: 3 });
    expect(result.diagnostics[0]!.message).toMatch(
      /no default rule "HighCpuUtilisation"; they are .*HighCpuUtilization/,
    );
  });
});

describe('databases', () => {
  it('refuses a database URL that cannot be parsed, before anything connects', () => {
    const result = loadConfigText(
      'databases:\n  - id: main\n    url: postgres://app@db:99999/app\n',
      'opsbook.yaml',
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toMatchObject([
      { line: 3, path: 'databases[0].url', message: expect.stringMatching(/not a valid URL/) },
    ]);
  });
});
