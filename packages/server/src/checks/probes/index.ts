import type { ProbeSpec } from '../../config/schema.js';
import { Cancellation } from '../../lib/cancellation.js';
import type { Probe, ProbeContext, ProbeOutcome, ProbeTable } from '../probe.js';
import { performance } from 'node:perf_hooks';
import { abortedOutcome, describeError, down, elapsedSince } from './common.js';
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
  const probe = probes[spec.kind] as Probe | undefined;
  if (!probe) return Promise.resolve(down(0, `unknown probe kind "${(spec as { kind: unknown }).kind}"`));
  if (ctx.cancel.aborted) return Promise.resolve(abortedOutcome(ctx.cancel, ctx.timeoutMs, 0));
  return new Promise<ProbeOutcome>((resolve) => new GuardedRun(probe, spec, ctx, resolve));
}

/**
 * One run with its deadline: resolves with the probe's answer or, whichever comes first, with the
 * aborted outcome (a probe may ignore its cancellation). A class keeps the hot path to one object.
 */
class GuardedRun {
  private readonly started = performance.now();
  private readonly own = new Cancellation();
  private readonly unlink: () => void;
  private readonly deadline: NodeJS.Timeout;
  private settled = false;

  constructor(
    probe: Probe,
    spec: ProbeSpec,
    private readonly ctx: ProbeContext,
    private readonly resolve: (outcome: ProbeOutcome) => void,
  ) {
    this.unlink = ctx.cancel.onAbort(() => this.own.abort(ctx.cancel.reason));
    this.deadline = setTimeout(() => this.timeout(), ctx.timeoutMs);
    this.own.onAbort(() => this.finish(abortedOutcome(this.own, ctx.timeoutMs, this.elapsed())));
    void settle(probe, spec, { cancel: this.own, timeoutMs: ctx.timeoutMs, baseDir: ctx.baseDir }, () =>
      this.elapsed(),
    ).then((outcome) => this.finish(outcome));
  }

  private elapsed(): number {
    return elapsedSince(this.started);
  }

  private timeout(): void {
    this.own.abort(new DOMException(`timed out after ${this.ctx.timeoutMs}ms`, 'TimeoutError'));
  }

  private finish(outcome: ProbeOutcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.unlink();
    this.resolve(outcome);
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
