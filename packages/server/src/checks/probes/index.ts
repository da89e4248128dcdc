import type { ProbeSpec } from '../../config/schema.js';
import type { Probe, ProbeContext, ProbeOutcome, ProbeTable } from '../probe.js';
import { abortedOutcome, describeError, down, startClock, whenAborted } from './common.js';
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
 * ignores its signal: the probe gets a signal that also aborts at the deadline.
 */
export async function runProbe(spec: ProbeSpec, ctx: ProbeContext): Promise<ProbeOutcome> {
  const elapsed = startClock();
  const probe = probes[spec.kind] as Probe | undefined;
  if (!probe) return down(elapsed(), `unknown probe kind "${(spec as { kind: unknown }).kind}"`);
  if (ctx.signal.aborted) return abortedOutcome(ctx.signal, ctx.timeoutMs, elapsed());

  const controller = new AbortController();
  const stopped = new Promise<ProbeOutcome>((resolve) => {
    const onAbort = () => resolve(abortedOutcome(controller.signal, ctx.timeoutMs, elapsed()));
    controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  const unsubscribe = whenAborted(ctx.signal, () => controller.abort(ctx.signal.reason));
  const deadline = setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ctx.timeoutMs}ms`, 'TimeoutError')),
    ctx.timeoutMs,
  );
  try {
    return await Promise.race([settle(probe, spec, { ...ctx, signal: controller.signal }, elapsed), stopped]);
  } finally {
    clearTimeout(deadline);
    unsubscribe();
  }
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
