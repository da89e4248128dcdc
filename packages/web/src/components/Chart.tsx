// Time series from /api/v1/query_range drawn with uPlot, and the range picker the charts share.
import { useEffect, useRef } from 'react';
import { useQuery } from '@tanstack/react-query';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { get, qs, type Matrix } from '../api.js';
import { bytes } from '../format.js';
import { Problem } from './ui.js';

export const RANGES = { '1h': 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 } as const;
export type Range = keyof typeof RANGES;

export function RangePicker({ value, onChange }: { value: Range; onChange(range: Range): void }) {
  return (
    <div role="group" aria-label="Time range" className="segmented">
      {(Object.keys(RANGES) as Range[]).map((range) => (
        <button key={range} type="button" aria-pressed={value === range} onClick={() => onChange(range)}>
          {range}
        </button>
      ))}
    </div>
  );
}

export interface Line {
  label: string;
  /** PromQL; `$window` becomes the step, so each point summarises its own interval. */
  query: string;
}

/** About 120 points per chart whatever the range; never below 15 s (the usual scrape interval). */
export function stepFor(range: Range): number {
  return Math.max(15, Math.round(RANGES[range] / 120));
}

function useLines(lines: Line[], range: Range) {
  const step = stepFor(range);
  return useQuery({
    queryKey: ['range', range, lines.map((l) => l.query)],
    queryFn: async () => {
      // Rounded up, so the newest sample (from this very second) is in the last point.
      const end = Math.ceil(Date.now() / 1000);
      const start = end - RANGES[range];
      const matrices = await Promise.all(
        lines.map((line) =>
          get<Matrix>(
            `/query_range${qs({ query: line.query.replaceAll('$window', `${step}s`), start, end, step })}`,
          ),
        ),
      );
      return { start, end, matrices };
    },
    refetchInterval: 30_000,
  });
}

export function Chart({
  title,
  lines,
  range,
  unit = '',
  empty,
}: {
  title: string;
  lines: Line[];
  range: Range;
  unit?: string;
  /** What to say when there is no data, e.g. which exporter provides it. */
  empty?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const result = useLines(lines, range);
  // One series per result series per line, on a shared time axis.
  const series = (result.data?.matrices ?? []).flatMap((matrix, i) =>
    matrix.data.result.map((s) => {
      const rest = Object.entries(s.metric)
        .filter(([k]) => k !== '__name__')
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      return {
        label: rest && matrix.data.result.length > 1 ? `${lines[i]!.label} ${rest}` : lines[i]!.label,
        values: s.values,
      };
    }),
  );
  const hasData = series.some((s) => s.values.length > 0);

  useEffect(() => {
    const el = box.current;
    if (!el || !hasData) return;
    const times = [...new Set(series.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const data: uPlot.AlignedData = [
      times,
      ...series.map((s) => {
        const column: (number | null)[] = new Array<number | null>(times.length).fill(null);
        for (const [t, v] of s.values) column[index.get(t)!] = Number(v);
        return column;
      }),
    ];
    const palette = ['#2f7ee8', '#e8892f', '#d64545', '#3aa76d', '#9a5be0', '#c4a000'];
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: 200,
        legend: { show: true },
        // The whole chosen range, so a young series sits at the right edge rather than filling the chart.
        scales: { x: { time: true, range: () => [result.data!.start, result.data!.end] } },
        axes: [
          {},
          {
            values: (_u, ticks) =>
              ticks.map((t) => (unit === 'B' ? bytes(t) : `${+t.toPrecision(3)}${unit}`)),
            size: 70,
          },
        ],
        series: [
          {},
          ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 1.5 })),
        ],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 200 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [result.data, hasData, unit]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <Problem error={result.error} />
      {result.isPending ? (
        <p className="muted">Loading…</p>
      ) : hasData ? (
        <div ref={box} role="img" aria-label={`${title} chart, ${series.length} series`} />
      ) : (
        <p className="empty">{empty ?? 'No data in this range yet.'}</p>
      )}
    </figure>
  );
}
