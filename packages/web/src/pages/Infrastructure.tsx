// Guide 3.5, infrastructure dashboard: CPU, memory and disk from node-exporter, and probe latency.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { get, type Vector } from '../api.js';
import { Chart, RangePicker, type Range } from '../components/Chart.js';
import { Section } from '../components/ui.js';

const NO_NODE =
  'No node-exporter data: add a node-exporter to metrics.scrape to see CPU, memory and disk here.';

export function Infrastructure() {
  const [range, setRange] = useState<Range>('1h');
  const node = useQuery({
    queryKey: ['node-exporter'],
    queryFn: () => get<Vector>('/query?query=count(node_cpu_seconds_total)'),
  });
  const hasNode = (node.data?.data.result.length ?? 0) > 0;
  return (
    <>
      <h1>Infrastructure</h1>
      {node.data && !hasNode && (
        <p className="notice" role="note">
          {NO_NODE} Probe latency below comes from Opsbook's own checks.
        </p>
      )}
      <Section title="Resources" actions={<RangePicker value={range} onChange={setRange} />}>
        <div className="charts">
          {hasNode && (
            <>
              <Chart
                title="CPU used"
                unit="%"
                range={range}
                lines={[
                  {
                    label: 'cpu',
                    query:
                      '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$window])))',
                  },
                ]}
              />
              <Chart
                title="Memory used"
                unit="%"
                range={range}
                lines={[
                  {
                    label: 'memory',
                    query: '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)',
                  },
                ]}
              />
              <Chart
                title="Disk used"
                unit="%"
                range={range}
                lines={[
                  {
                    label: 'disk',
                    query:
                      '100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"})',
                  },
                ]}
              />
            </>
          )}
          <Chart
            title="Probe latency p95 by service"
            unit="s"
            range={range}
            lines={[
              {
                label: 'p95',
                query: 'max by (service) (quantile_over_time(0.95, opsbook_check_latency_seconds[$window]))',
              },
            ]}
          />
        </div>
      </Section>
    </>
  );
}
