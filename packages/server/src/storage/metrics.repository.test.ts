import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES, openTestStore, type TestStore } from '../../../../test/engines.js';
import { MetricRepository, type MetricBatch } from './metrics.repository.js';

const T0 = Date.UTC(2026, 10, 26, 9, 0, 0);

function batch(): MetricBatch {
  return {
    series: [
      { id: 1, name: 'up', labels: '{"__name__":"up","job":"a"}', labels_key: 'k1', created_at: T0 },
      { id: 2, name: 'up', labels: '{"__name__":"up","job":"b"}', labels_key: 'k2', created_at: T0 },
    ],
    samples: Array.from({ length: 2500 }, (_, i) => ({ series_id: 1 + (i % 2), t: T0 + i * 1000, v: i })),
    rollups: [
      { series_id: 1, resolution: '1m', bucket: T0, count: 2, sum: 3, min: 1, max: 2, last: 2 },
      { series_id: 1, resolution: '1h', bucket: T0, count: 2, sum: 3, min: 1, max: 2, last: 2 },
    ],
  };
}

describe.each(ENGINES)('metric repository on %s', (engine) => {
  let t: TestStore;
  let repo: MetricRepository;
  beforeEach(async () => {
    t = await openTestStore(engine);
    repo = new MetricRepository(t.store.db);
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('writes a batch in chunks; writing it again changes nothing and a rollup row is replaced whole', async () => {
    await repo.write(batch());
    const again = batch();
    again.rollups[0] = { ...again.rollups[0]!, count: 3, sum: NaN, last: -Infinity };
    await repo.write(again);
    expect(await repo.loadSeries()).toHaveLength(2);
    const samples = await repo.samples([1, 2], T0, T0 + 10_000_000);
    expect(samples).toHaveLength(2500);
    expect(samples.slice(0, 2)).toEqual([
      { series_id: 1, t: T0, v: 0 },
      { series_id: 1, t: T0 + 2000, v: 2 },
    ]);
    const [minute] = await repo.rollups('1m', [1], T0, T0);
    expect(minute).toMatchObject({ count: 3, min: 1, max: 2, last: -Infinity });
    expect(minute!.sum).toBeNaN();
    expect(await repo.latestRollupBucket('1h')).toBe(T0);
    expect(await repo.latestRollupBucket('1m')).toBe(T0);
  });

  it('purges tiers by their cutoffs and finds series left without data', async () => {
    await repo.write(batch());
    expect(await repo.purge({ samples: T0 + 1000 * 1000, minuteRollups: T0 + 1, hourRollups: T0 })).toEqual({
      samples: 1000,
      minutes: 1,
      hours: 0,
    });
    expect(await repo.emptySeries()).toEqual([]);
    await repo.purge({ samples: T0 + 2500 * 1000, minuteRollups: T0 + 1, hourRollups: T0 + 1 });
    expect((await repo.emptySeries()).sort()).toEqual([1, 2]);
    await repo.deleteSeries([2]);
    expect((await repo.loadSeries()).map((s) => s.id)).toEqual([1]);
  });
});
