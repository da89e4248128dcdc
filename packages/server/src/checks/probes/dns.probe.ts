import { Resolver } from 'node:dns/promises';
import type { DnsProbeSpec } from '../../config/schema.js';
import type { Probe, ProbeOutcome } from '../probe.js';
import { abortedOutcome, describeError, down, errorCode, judgeConditions, startClock, up } from './common.js';

type RecordType = DnsProbeSpec['type'];

/** c-ares error codes as the DNS response codes people know from dig. */
const RCODES: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN',
  ENODATA: 'NOERROR',
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED',
  ETIMEOUT: 'TIMEOUT',
};

/** Every record type as one string per answer, so [BODY] and the detail read the same for all. */
async function lookup(resolver: Resolver, name: string, type: RecordType): Promise<string[]> {
  switch (type) {
    case 'A':
      return resolver.resolve4(name);
    case 'AAAA':
      return resolver.resolve6(name);
    case 'CNAME':
      return resolver.resolveCname(name);
    case 'NS':
      return resolver.resolveNs(name);
    case 'MX':
      return (await resolver.resolveMx(name)).map((mx) => `${mx.priority} ${mx.exchange}`);
    case 'TXT':
      return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    case 'SRV':
      return (await resolver.resolveSrv(name)).map(
        (srv) => `${srv.priority} ${srv.weight} ${srv.port} ${srv.name}`,
      );
    case 'SOA': {
      const soa = await resolver.resolveSoa(name);
      return [
        `${soa.nsname} ${soa.hostmaster} ${soa.serial} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minttl}`,
      ];
    }
  }
}

interface Answer {
  rcode: string;
  answers: string[];
  error?: unknown;
}

async function query(spec: DnsProbeSpec, resolver: Resolver): Promise<Answer> {
  try {
    return { rcode: 'NOERROR', answers: await lookup(resolver, spec.name, spec.type) };
  } catch (error) {
    const code = errorCode(error);
    return { rcode: (code && RCODES[code]) ?? code ?? 'ERROR', answers: [], error };
  }
}

/** Codes that mean the server answered; anything else (TIMEOUT, ECONNREFUSED...) means no reply. */
const REPLIED = new Set(['NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED']);

function failureLine(question: string, answer: Answer): string {
  if (answer.rcode === 'NOERROR') return `${question}: no answers`;
  return REPLIED.has(answer.rcode) || answer.rcode === 'TIMEOUT'
    ? `${question}: ${answer.rcode}`
    : `${question}: ${describeError(answer.error)}`;
}

function judgeAnswer(spec: DnsProbeSpec, answer: Answer, latencyMs: number): ProbeOutcome {
  const { rcode, answers } = answer;
  const detail: Record<string, unknown> = { rcode, answers };
  const question = `${spec.type} ${spec.name}`;
  const line = answers.length > 0 ? `${question}: ${answers.join(', ')}` : failureLine(question, answer);
  if (!spec.conditions)
    return rcode === 'NOERROR' && answers.length > 0
      ? up(latencyMs, line, detail)
      : down(latencyMs, line, detail);
  const verdict = judgeConditions(spec.conditions, {
    responseTimeMs: latencyMs,
    connected: REPLIED.has(rcode),
    dnsRcode: rcode,
    body: answers[0],
    ip: spec.type === 'A' || spec.type === 'AAAA' ? answers[0] : undefined,
  });
  detail.conditions = verdict.results;
  return verdict.ok ? up(latencyMs, line, detail) : down(latencyMs, verdict.failure!, detail);
}

export const dnsProbe: Probe<DnsProbeSpec> = async (spec, ctx) => {
  const elapsed = startClock();
  if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
  const resolver = new Resolver({ timeout: ctx.timeoutMs, tries: 1 });
  try {
    if (spec.server) resolver.setServers([spec.server]);
  } catch (error) {
    return down(elapsed(), `bad DNS server "${spec.server}": ${describeError(error)}`);
  }
  const unsubscribe = ctx.cancel.onAbort(() => resolver.cancel());
  try {
    const answer = await query(spec, resolver);
    if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
    return judgeAnswer(spec, answer, elapsed());
  } finally {
    unsubscribe();
  }
};
