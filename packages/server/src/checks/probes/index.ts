import type { ProbeSpec } from '../../config/schema.js';
import { Cancellation } from '../../lib/cancellation.js';
import type { Probe, ProbeContext, ProbeOutcome, ProbeTable } from '../probe.js';
import { abortedOutcome, describeError, down, startClock } from './common.js';
import { dnsProbe } from './dns.probe.js';
import { httpProbe } from './http.probe.js';
import { postgresProbe } from './postgres.probe.js';
import { tcpProbe } from './tcp.probe.js';
import { tlsProbe } from './tls.probe.js';

export const probes: ProbeTable = {
  http: httpProbe,
  tcp: tcpProbe,
  tls: tlsProbe,
  dns: dnsProbe,
  postgres: postgresProbe,
};

/**
 * Runs the probe for spec.kind. Never throws, and returns within ctx.timeoutMs even if a probe
 * ignores its cancellation: the probe gets one that also aborts at the deadline.
 */
export function runProbe(spec: ProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  const elapsed = startClock();
  const probe = probes[spec.kind] as Probe | undefined;
  if (!probe)
    return Promise.resolve(down(elapsed(), `unknown probe kind "${(spec as { kind: unknown }).kind}"`));
  if (ctx.cancel.aborted) return Promise.resolve(abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed()));

  const own = new Cancellation();
  const unlink = ctx.cancel.onAbort(() => own.abort(ctx.cancel.reason));
  const deadline = setTimeout(
    () => own.abort(new DOMException(`timed out after ${ctx.timeoutMs}ms`, 'TimeoutError')),
    ctx.timeoutMs,
  );
  // Whichever comes first: the probe's own answer or its cancellation (a probe may ignore it).
  return new Promise<ProbeOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      unlink();
      resolve(outcome);
    };
    own.onAbort(() => finish(abortedOutcome(own, ctx.timeoutMs, elapsed())));
    settle(probe, spec, { cancel: own, timeoutMs: ctx.timeoutMs, baseDir: ctx.baseDir }, elapsed).then(
      finish,
      finish,
    );
  });
}

/** A probe that throws (even synchronously) is a bug, but the check is simply down. */
async function settle(
  probe: Probe,
  spec: ProbeSpec,
  ctx: ProbeContext,
  elapsed: () => number,
): Promise<ProbeOutcome> {
  try {
    return await probe(spec, ctx);
  } catch (error) {
    return down(elapsed(), `probe failed: ${describeError(error)}`);
  }
}
