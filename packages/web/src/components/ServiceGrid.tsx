// Every service as a small coloured tile, virtualised by rows so thousands stay cheap to draw.
import { useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { get, type Services } from '../api.js';
import { Loading, Problem, Section } from './ui.js';

const TILE = 180;
const ROW = 56;

export function ServiceGrid() {
  const q = useQuery({ queryKey: ['services'], queryFn: () => get<Services>('/services') });
  const items = q.data?.items ?? [];
  const box = useRef<HTMLDivElement>(null);
  const [columns, setColumns] = useState(4);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setColumns(Math.max(1, Math.floor(el.clientWidth / TILE))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const rows = Math.ceil(items.length / columns);
  const virtual = useVirtualizer({
    count: rows,
    getScrollElement: () => box.current,
    estimateSize: () => ROW,
    overscan: 4,
  });
  const counts = { healthy: 0, unhealthy: 0, unknown: 0 };
  for (const s of items) counts[s.status]++;
  return (
    <Section title="Service health">
      <Problem error={q.error} />
      <p>
        {items.length} services: <span className="ok-text">{counts.healthy} healthy</span>,{' '}
        <span className="bad-text">{counts.unhealthy} unhealthy</span>, {counts.unknown} unknown
      </p>
      {!q.data && <Loading what="services" />}
      <div ref={box} className="health-grid" style={{ height: Math.min(rows * ROW, 360) + 8 }}>
        <div
          role="list"
          aria-label="Services by health"
          style={{ height: virtual.getTotalSize(), position: 'relative' }}
        >
          {virtual.getVirtualItems().map((row) => (
            <div key={row.key} className="grid-row" style={{ transform: `translateY(${row.start}px)` }}>
              {items.slice(row.index * columns, row.index * columns + columns).map((s) => (
                <Link
                  key={s.name}
                  role="listitem"
                  to={`/services/${encodeURIComponent(s.name)}`}
                  className={`svc ${s.status}`}
                  data-status={s.status}
                  aria-label={`${s.name}: ${s.status}, ${s.checks.unhealthy} of ${s.checks.total} checks unhealthy`}
                >
                  <span className="svc-name">{s.name}</span>
                  <span className="svc-counts">
                    {s.checks.healthy}/{s.checks.total} ok
                  </span>
                </Link>
              ))}
            </div>
          ))}
        </div>
      </div>
    </Section>
  );
}
