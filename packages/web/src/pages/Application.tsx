// Guide 3.5, application dashboard: request rate, response time percentiles, error rate, availability.
import { useState } from 'react';
import { Chart, RangePicker, type Range } from '../components/Chart.js';
import { Section } from '../components/ui.js';

const NO_HTTP =
  'No http_requests_total / http_request_duration_seconds series yet: scrape a service that exports them (metrics.scrape).';

export function Application() {
  const [range, setRange] = useState<Range>('1h');
  return (
    <>
      <h1>Application</h1>
      <Section title="Requests and errors" actions={<RangePicker value={range} onChange={setRange} />}>
        <div className="charts">
          <Chart
            title="Request rate"
            unit="/s"
            range={range}
            empty={NO_HTTP}
            lines={[{ label: 'requests/s', query: 'sum by (service) (rate(http_requests_total[$window]))' }]}
          />
          <Chart
            title="Response time p50 / p95 / p99"
            unit="s"
            range={range}
            empty={NO_HTTP}
            lines={[0.5, 0.95, 0.99].map((q) => ({
              label: `p${Math.round(q * 100)}`,
              query: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket[$window])))`,
            }))}
          />
          <Chart
            title="Error rate (5xx)"
            unit="%"
            range={range}
            empty="No 5xx responses in this range (or no http_requests_total series: see Request rate)."
            lines={[
              {
                label: 'errors',
                query:
                  '100 * sum by (service) (rate(http_requests_total{status=~"5.."}[$window])) / sum by (service) (rate(http_requests_total[$window]))',
              },
            ]}
          />
          <Chart
            title="Availability (checks up)"
            unit="%"
            range={range}
            lines={[
              {
                label: 'availability',
                query: '100 * avg by (service) (avg_over_time(opsbook_check_success[$window]))',
              },
            ]}
          />
        </div>
      </Section>
    </>
  );
}
