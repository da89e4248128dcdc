import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startTarget, waitFor, type Target } from '../../../../test/target-server.js';
import type { ProbeJob, ProbeReport } from './probe-executor.js';
import { wantsProbeThread } from './probe-executor.js';
import { ThreadProbeExecutor } from './probe-thread.js';

const logger = pino({ level: 'silent' });

function job(target: Target, path: string, extra: Partial<ProbeJob> = {}): ProbeJob {
  return {
    id: `shop${path}`,
    probe: {
      kind: 'http',
      url: `${target.url}${path}`,
      method: 'GET',
      headers: {},
      insecure: false,
      followRedirects: true,
    },
    periodMs: 100,
    firstDueAt: Date.now(),
    timeoutMs: 2_000,
    baseDir: '.',
    tag: 'v1',
    ...extra,
  };
}

describe('probes on their own thread', () => {
  let target: Target;
  let executor: ThreadProbeExecutor | undefined;
  const reports: ProbeReport[] = [];
  const lags: number[] = [];

  beforeEach(async () => {
    target = await startTarget();
    reports.length = 0;
    lags.length = 0;
    executor = new ThreadProbeExecutor(
      8,
      { onReport: (r) => reports.push(r), onLag: (lag) => lags.push(lag), onSkip: () => {} },
      logger,
    );
  });
  afterEach(async () => {
    await executor?.stop();
    await target.close();
  });

  it('runs each job at its period and reports outcomes with the job tag, start time and lag', async () => {
    target.status.set('/down', 503);
    executor!.schedule(job(target, '/up'));
    executor!.schedule(job(target, '/down', { tag: 'v7' }));
    executor!.start();
    await waitFor(() => reports.filter((r) => r.id === 'shop/down').length >= 3, 5_000, 'three reports');
    const up = reports.find((r) => r.id === 'shop/up')!;
    expect(up).toMatchObject({ tag: 'v1', outcome: { status: 'up', detail: { statusCode: 200 } } });
    expect(up.detailJson).toBe('{"statusCode":200}');
    expect(Math.abs(up.startedAt - Date.now())).toBeLessThan(5_000);
    const down = reports.find((r) => r.id === 'shop/down')!;
    expect(down).toMatchObject({ tag: 'v7', outcome: { status: 'down', message: 'HTTP 503' } });
    expect(lags.length).toBeGreaterThanOrEqual(reports.length);
    expect(executor!.size).toBe(2);
    expect(executor!.has('shop/up')).toBe(true);
  });

  it('stops reporting a job once unscheduled, and a replaced job reports its new tag', async () => {
    executor!.schedule(job(target, '/a'));
    executor!.schedule(job(target, '/b'));
    executor!.start();
    await waitFor(() => reports.some((r) => r.id === 'shop/a'), 5_000, 'a report');
    executor!.unschedule('shop/a');
    executor!.schedule(job(target, '/b', { tag: 'v2' }));
    await waitFor(() => reports.some((r) => r.id === 'shop/b' && r.tag === 'v2'), 5_000, 'v2 report');
    const hitsOfA = target.hits.get('/a');
    const count = reports.length;
    await waitFor(() => reports.length >= count + 3, 5_000, 'more reports');
    expect(target.hits.get('/a')).toBe(hitsOfA);
    expect(executor!.has('shop/a')).toBe(false);
  });

  it('reports a timeout, and cancels a hanging run on stop without reporting it', async () => {
    target.delayMs = 60_000;
    executor!.schedule(job(target, '/slow', { id: 'slow', timeoutMs: 150, periodMs: 10_000 }));
    executor!.start();
    await waitFor(() => reports.some((r) => r.id === 'slow'), 5_000, 'timeout report');
    expect(reports.find((r) => r.id === 'slow')!.outcome).toMatchObject({
      status: 'down',
      message: 'timed out after 150ms',
    });

    executor!.schedule(job(target, '/slow', { id: 'hang', timeoutMs: 60_000, periodMs: 60_000 }));
    await waitFor(() => (target.hits.get('/slow') ?? 0) >= 2, 5_000, 'hanging run started');
    const stopped = Date.now();
    await executor!.stop();
    expect(Date.now() - stopped).toBeLessThan(3_000);
    expect(reports.some((r) => r.id === 'hang')).toBe(false);
    executor = undefined;
  });

  it('starts a new thread with every job when the thread dies', async () => {
    executor!.schedule(job(target, '/x'));
    executor!.start();
    await waitFor(() => reports.length > 0, 5_000, 'first report');
    await (executor as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const count = reports.length;
    await waitFor(() => reports.length >= count + 3, 8_000, 'reports after the restart');
  });

  it('is used from a few hundred checks with `auto`, always with `on`, never with `off`', () => {
    expect(wantsProbeThread('auto', 199)).toBe(false);
    expect(wantsProbeThread('auto', 200)).toBe(true);
    expect(wantsProbeThread('on', 1)).toBe(true);
    expect(wantsProbeThread('off', 10_000)).toBe(false);
  });
});
