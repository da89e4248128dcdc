// Turns config into check definitions: stable ids, a hash that tells changed from unchanged on
// reload, and a redacted copy of the spec that is safe to store and show.
import { createHash } from 'node:crypto';
import type { CheckRole, OpsbookConfig, ProbeSpec, ProbeTiming } from '../config/schema.js';
import { probeTarget, redactUrl } from './probe.js';

export interface CheckDefinition {
  id: string;
  serviceId: string;
  name: string;
  description: string | undefined;
  role: CheckRole;
  timing: ProbeTiming;
  probe: ProbeSpec;
  target: string;
  specHash: string;
}

export function checkId(service: string, check: string): string {
  return `${service}/${check}`;
}

export function definitionsFromConfig(config: OpsbookConfig, baseDir: string): CheckDefinition[] {
  return config.services.flatMap((service) =>
    service.checks.map((check) => {
      return {
        id: checkId(service.name, check.name),
        serviceId: service.name,
        name: check.name,
        description: check.description,
        role: check.role,
        timing: check.timing,
        probe: check.probe,
        target: probeTarget(check.probe),
        specHash: createHash('sha256')
          .update(JSON.stringify({ role: check.role, timing: check.timing, probe: check.probe, baseDir }))
          .digest('hex')
          .slice(0, 16),
      };
    }),
  );
}

const SECRET_HEADER = /authorization|cookie|token|secret|api-?key|password/i;

/** The probe spec without secrets: passwords dropped, URLs and sensitive headers masked. */
export function redactSpec(spec: ProbeSpec): Record<string, unknown> {
  switch (spec.kind) {
    case 'http':
      return {
        ...spec,
        url: redactUrl(spec.url),
        headers: Object.fromEntries(
          Object.entries(spec.headers).map(([name, value]) => [
            name,
            SECRET_HEADER.test(name) ? '***' : value,
          ]),
        ),
      };
    case 'postgres': {
      const { password: _password, ...rest } = spec;
      return { ...rest, url: redactUrl(spec.url) };
    }
    case 'tcp':
    case 'tls':
    case 'dns':
      return { ...spec };
  }
}
