// Opsbook's own /metrics: process metrics, checks run, probe latency and schedule lag.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class SelfMetrics {
  readonly registry = new Registry();
  readonly checksRun = new Counter({
    name: 'opsbook_checks_run_total',
    help: 'Probe runs by probe kind and result.',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });
  readonly probeDuration = new Histogram({
    name: 'opsbook_probe_duration_seconds',
    help: 'Probe latency by probe kind.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly scheduleLag = new Histogram({
    name: 'opsbook_schedule_lag_seconds',
    help: 'Delay between a probe being due and starting.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly checks = new Gauge({
    name: 'opsbook_checks',
    help: 'Configured checks by health.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly storeUp = new Gauge({
    name: 'opsbook_store_up',
    help: '1 when the store answers, 0 when it does not.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: '' });
  }
}
