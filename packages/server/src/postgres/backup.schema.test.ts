// The backup config as users write it: defaults from the guide, and each mistake named with its path.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';

const HOUR = 3_600_000;

function load(yaml: string, env: Record<string, string> = {}) {
  return loadConfigText(yaml, 'opsbook.yaml', env);
}

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  const result = load(yaml, env);
  if (result.ok) return [];
  return result.diagnostics.map((d) => `${d.path}: ${d.message}`);
}

const db = (backup: string) =>
  `databases:\n  - id: orders\n    url: postgres://app@db:5432/orders\n    backup: ${backup}\n`;

describe('backup config', () => {
  it('defaults to the guide: daily, 35 days, one copy kept whatever its age, missed after 26 h', () => {
    const result = load(db('{}'));
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.config.databases[0]!.backup).toEqual({
      enabled: true,
      schedule: '0 2 * * *',
      timeZone: 'UTC',
      jobs: 2,
      compression: 6,
      retention: 35 * 24 * HOUR,
      keepLast: 1,
      maxAge: 26 * HOUR,
    });
    expect(result.config.backups).toEqual({ dir: 'data/backups', copies: [] });
  });

  it('names each bad policy field', () => {
    expect(
      problems(
        db(
          '{ schedule: "every night", timeZone: Mars/Olympus, compression: 12, keepLast: 0, retention: 5 weeks }',
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^databases\[0\]\.backup\.schedule: "every night" is not a cron expression/),
      expect.stringMatching(/^databases\[0\]\.backup\.timeZone: unknown time zone "Mars\/Olympus"/),
      expect.stringMatching(/^databases\[0\]\.backup\.compression: /),
      expect.stringMatching(/^databases\[0\]\.backup\.keepLast: /),
      expect.stringMatching(/^databases\[0\]\.backup\.retention: "5 weeks" is not a duration/),
    ]);
  });

  it('copies: a directory or Azure Blob, each named once; the connection string must come from the environment', () => {
    const yaml = (connectionString: string) => `
backups:
  copies:
    - { name: nas, dir: /mnt/nas/backups }
    - name: azure
      azureBlob: { connectionString: "${connectionString}", container: pg-backups, prefix: /prod/ }
`;
    const ok = load(yaml('${AZURE_BACKUPS}'), {
      AZURE_BACKUPS: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k',
    });
    if (!ok.ok) throw new Error(JSON.stringify(ok.diagnostics));
    expect(ok.config.backups.copies[1]).toEqual({
      name: 'azure',
      azureBlob: {
        connectionString: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k',
        container: 'pg-backups',
        prefix: 'prod',
      },
    });
    expect(problems(yaml('AccountName=a;AccountKey=secret'))).toEqual([
      expect.stringMatching(
        /^backups\.copies\[1\]\.azureBlob\.connectionString: a secret must be exactly one \$\{ENV_VAR\}/,
      ),
    ]);
  });

  it('a copy target has exactly one kind, a unique name and a valid container', () => {
    expect(
      problems(
        `
backups:
  copies:
    - { name: both, dir: /a, azureBlob: { connectionString: "\${X}", container: ok-name } }
    - { name: neither }
    - { name: both, dir: /b }
    - { name: bad, azureBlob: { connectionString: "\${X}", container: Bad_Name } }
`,
        { X: 'x' },
      ),
    ).toEqual([
      expect.stringMatching(/^backups\.copies\[0\]: a copy target has exactly one of dir or azureBlob/),
      expect.stringMatching(/^backups\.copies\[1\]: a copy target has exactly one of dir or azureBlob/),
      expect.stringMatching(/^backups\.copies\[2\]\.name: duplicate copy target name "both"/),
      expect.stringMatching(
        /^backups\.copies\[3\]\.azureBlob\.container: an Azure container name is 3-63 lowercase/,
      ),
    ]);
  });
});
