// Every service with its health, filterable by name, owner, tag or status; a virtualised table.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { get, qs, type Services as ServiceList } from '../api.js';
import { Loading, Problem, Status } from '../components/ui.js';

export function Services() {
  const [params, setParams] = useSearchParams();
  const [text, setText] = useState(params.get('q') ?? '');
  const status = params.get('status') ?? '';
  const needle = text.trim();
  // Filtered by the server; the previous answer stays on screen while the next one loads.
  const q = useQuery({
    queryKey: ['services', 'filtered', needle, status],
    queryFn: () => get<ServiceList>(`/services${qs({ q: needle, status })}`),
    placeholderData: keepPreviousData,
  });
  const items = q.data?.items ?? [];
  const box = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: items.length,
    getScrollElement: () => box.current,
    estimateSize: () => 40,
    overscan: 10,
  });
  return (
    <>
      <h1>Services</h1>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Filter{' '}
          <input
            type="search"
            value={text}
            placeholder="name, owner or tag"
            onChange={(e) => {
              setText(e.target.value);
              setParams((p) => (e.target.value ? p.set('q', e.target.value) : p.delete('q'), p), {
                replace: true,
              });
            }}
          />
        </label>
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(e) =>
              setParams((p) => (e.target.value ? p.set('status', e.target.value) : p.delete('status'), p))
            }
          >
            <option value="">any</option>
            <option value="unhealthy">unhealthy</option>
            <option value="unknown">unknown</option>
            <option value="healthy">healthy</option>
          </select>
        </label>
        <span className="muted" aria-live="polite">
          {q.data ? `${items.length} service${items.length === 1 ? '' : 's'}` : ''}
        </span>
      </form>
      <Problem error={q.error} />
      {!q.data && <Loading what="services" />}
      <div className="table-head services-cols" aria-hidden="true">
        <span>Service</span>
        <span>Status</span>
        <span>Checks</span>
        <span>Owner</span>
        <span>Environment</span>
      </div>
      <div ref={box} className="vlist" style={{ height: Math.min(items.length * 40, 600) + 4 }}>
        <ul aria-label="Services" style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {virtual.getVirtualItems().map((row) => {
            const s = items[row.index]!;
            return (
              <li
                key={s.name}
                className="vrow services-cols"
                style={{ transform: `translateY(${row.start}px)` }}
              >
                <Link to={`/services/${encodeURIComponent(s.name)}`}>{s.name}</Link>
                <Status value={s.status} />
                <span>
                  {s.checks.healthy}/{s.checks.total} healthy
                  {s.checks.unhealthy ? `, ${s.checks.unhealthy} unhealthy` : ''}
                </span>
                <span>{s.owner}</span>
                <span>{s.environment}</span>
              </li>
            );
          })}
        </ul>
      </div>
    </>
  );
}
