import { describe, expect, it } from 'vitest';
import { alignedDue, phaseOffset, Scheduler, TimeoutError } from './scheduler.js';
import type { Cancellation } from '../lib/cancellation.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler', () => {
  it('runs jobs at a fixed rate and reports lag', async () => {
    const lags: number[] = [];
    const runs: number[] = [];
    const scheduler = new Scheduler({ concurrency: 10, onStart: (lag) => lags.push(lag) });
    const start = Date.now();
    scheduler.schedule({
      id: 'a',
      periodMs: 50,
      firstDueAt: start,
      timeoutMs: 1000,
      run: async () => void runs.push(Date.now() - start),
    });
    scheduler.start();
    await sleep(275);
    await scheduler.stop();
    expect(runs.length).toBeGreaterThanOrEqual(5);
    expect(runs.length).toBeLessThanOrEqual(7);
    expect(Math.max(...lags)).toBeLessThan(100); // the p99 goal; loaded CI machines add jitter
  });

  it('never runs two runs of one job at once and skips the overlapping period', async () => {
    let active = 0;
    let maxActive = 0;
    let skipped = 0;
    const scheduler = new Scheduler({ concurrency: 10, onSkip: () => skipped++ });
    scheduler.schedule({
      id: 'slow',
      periodMs: 20,
      firstDueAt: Date.now(),
      timeoutMs: 1000,
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(70);
        active--;
      },
    });
    scheduler.start();
    await sleep(200);
    await scheduler.stop();
    expect(maxActive).toBe(1);
    expect(skipped).toBeGreaterThan(0);
  });

  it('bounds concurrency across jobs', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const scheduler = new Scheduler({ concurrency: 3 });
    for (let i = 0; i < 20; i++) {
      scheduler.schedule({
        id: `j${i}`,
        periodMs: 1000,
        firstDueAt: Date.now(),
        timeoutMs: 1000,
        run: async () => {
          active++;
          runs++;
          maxActive = Math.max(maxActive, active);
          await sleep(10);
          active--;
        },
      });
    }
    scheduler.start();
    await sleep(200);
    await scheduler.stop();
    expect(runs).toBe(20);
    expect(maxActive).toBe(3);
  });

  it('aborts a run at its timeout with a TimeoutError, and in-flight runs on stop', async () => {
    const reasons: unknown[] = [];
    const scheduler = new Scheduler({ concurrency: 5 });
    const hang = (cancel: Cancellation) =>
      new Promise<void>((resolve) => cancel.onAbort(() => (reasons.push(cancel.reason), resolve())));
    scheduler.schedule({ id: 't', periodMs: 10_000, firstDueAt: Date.now(), timeoutMs: 30, run: hang });
    scheduler.schedule({ id: 's', periodMs: 10_000, firstDueAt: Date.now(), timeoutMs: 60_000, run: hang });
    scheduler.start();
    await sleep(80);
    expect(reasons[0]).toBeInstanceOf(TimeoutError);
    const stopped = Date.now();
    await scheduler.stop();
    expect(Date.now() - stopped).toBeLessThan(100);
    expect(reasons).toHaveLength(2);
    expect(reasons[1]).not.toBeInstanceOf(TimeoutError);
  });

  it('under overload starts the earliest due run first and reports the periods it missed', async () => {
    const started: string[] = [];
    let skips = 0;
    const scheduler = new Scheduler({ concurrency: 1, onSkip: () => skips++ });
    const t0 = Date.now() + 20;
    for (const [id, offset] of [
      ['late', 20],
      ['early', 0],
      ['mid', 10],
    ] as const)
      scheduler.schedule({
        id,
        periodMs: 50,
        firstDueAt: t0 + offset,
        timeoutMs: 1_000,
        run: async () => {
          started.push(id);
          await sleep(60);
        },
      });
    scheduler.start();
    await sleep(450);
    await scheduler.stop();
    expect(started.slice(0, 3)).toEqual(['early', 'mid', 'late']);
    // Three jobs due every 50 ms, one slot, 60 ms per run: most periods are missed, and said so.
    expect(started.length).toBeLessThanOrEqual(8);
    expect(skips).toBeGreaterThan(10);
  });

  it('unscheduling removes a job for good', async () => {
    let runs = 0;
    const scheduler = new Scheduler({ concurrency: 5 });
    scheduler.schedule({
      id: 'x',
      periodMs: 10,
      firstDueAt: Date.now(),
      timeoutMs: 100,
      run: async () => void runs++,
    });
    scheduler.start();
    await sleep(35);
    scheduler.unschedule('x');
    const after = runs;
    await sleep(50);
    await scheduler.stop();
    expect(runs).toBe(after);
    expect(scheduler.has('x')).toBe(false);
  });

  it('spreads first runs over the period by a stable hash', () => {
    const offsets = Array.from({ length: 10_000 }, (_, i) => phaseOffset(`svc/check-${i}`, 10_000));
    const perSecond = new Array(10).fill(0) as number[];
    for (const o of offsets) perSecond[Math.floor(o / 1000)]!++;
    expect(Math.min(...perSecond)).toBeGreaterThan(850);
    expect(Math.max(...perSecond)).toBeLessThan(1150);
    expect(phaseOffset('a/b', 5000)).toBe(phaseOffset('a/b', 5000));
  });
});

describe('alignedDue', () => {
  it('keeps a check in the same slot of its period across restarts', () => {
    expect(alignedDue(1_000, 10_000, 3_000)).toBe(3_000);
    expect(alignedDue(3_000, 10_000, 3_000)).toBe(3_000);
    expect(alignedDue(3_001, 10_000, 3_000)).toBe(13_000);
    expect(alignedDue(123_456, 10_000, 7_000) % 10_000).toBe(7_000);
  });
});
