import { connect } from 'node:net';
import type { TcpProbeSpec } from '../../config/schema.js';
import type { Probe, ProbeOutcome } from '../probe.js';
import { abortedOutcome, describeError, down, errorDetail, startClock, up } from './common.js';

/** Like a Kubernetes tcpSocket probe: up when the connection opens; it is closed at once. */
export const tcpProbe: Probe<TcpProbeSpec> = async (spec, ctx) => {
  const elapsed = startClock();
  if (ctx.cancel.aborted) return abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed());
  const target = `${spec.host}:${spec.port}`;
  return new Promise((resolve) => {
    const socket = connect({ host: spec.host, port: spec.port });
    const finish = (outcome: ProbeOutcome) => {
      unsubscribe();
      socket.destroy();
      resolve(outcome);
    };
    socket.once('connect', () =>
      finish(
        up(elapsed(), `connected to ${target}`, { address: socket.remoteAddress, port: socket.remotePort }),
      ),
    );
    socket.on('error', (error) => finish(down(elapsed(), describeError(error), errorDetail(error))));
    const unsubscribe = ctx.cancel.onAbort(() =>
      finish(abortedOutcome(ctx.cancel, ctx.timeoutMs, elapsed())),
    );
  });
};
