// Prometheus metrics (prom-client), one registry per app so tests stay independent.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PoolObserver } from '../pool/index.ts';
import { VERSION } from '../version.ts';

export interface PoolGauges {
  admitted: number;
  queued: number;
  active: number;
}

export interface BodyGauges {
  heldBytes: number;
  limitBytes: number;
}

export interface Metrics {
  registry: Registry;
  requests: Counter<'diff_type' | 'status'>;
  /** Whole HTTP requests, by route (`/<diff_type>`, `/healthz`, ...) and status (499: the client went away). */
  httpRequestDuration: Histogram<'route' | 'status'>;
  contentRefusals: Counter<'diff_type' | 'media_type'>;
  poolObserver: PoolObserver;
  /** Reports admitted requests, queue depth and active jobs at scrape time. */
  watchPool(pool: PoolGauges): void;
  /** Reports the request-body bytes held, and their budget, at scrape time. */
  watchBodies(budget: BodyGauges): void;
}

/** Quantiles of the event-loop delay exported per scrape window (1 = the maximum). */
export const EVENT_LOOP_DELAY_QUANTILES = [0.5, 0.9, 0.99, 0.999, 1] as const;
const EVENT_LOOP_RESOLUTION_MS = 1;
let eventLoopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined;

/**
 * The process's one event-loop delay monitor, made on first use (every registry reads the same loop).
 * It records the time between ticks of a `resolution` ms timer, so the delay is what exceeds it.
 * prom-client's own nodejs_eventloop_lag_* samples every 10 ms and keeps those 10 ms in its figures,
 * too coarse to see a 10 ms target.
 */
function processEventLoopDelay(): ReturnType<typeof monitorEventLoopDelay> {
  if (eventLoopDelay === undefined) {
    eventLoopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    eventLoopDelay.enable();
  }
  return eventLoopDelay;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Node's defaults under their standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds,
  // ...): the stock Node.js dashboards and alerts expect them unprefixed.
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'diffguard_build_info',
    help: 'Always 1; the labels say which diffguard and which Node.js are running.',
    labelNames: ['version', 'node'] as const,
    registers: [registry],
  }).set({ version: VERSION, node: process.version }, 1);
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests, from arrival to the last byte of the answer, by route and status.',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'diffguard_requests_total',
    help: 'HTTP requests by diff type (or route) and status.',
    labelNames: ['diff_type', 'status'] as const,
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'diffguard_job_duration_seconds',
    help: 'Wall time of diff jobs, queue wait included, by diff type and result.',
    labelNames: ['diff_type', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const jobCpu = new Histogram({
    name: 'diffguard_job_cpu_seconds',
    help: 'CPU time of diff jobs in their worker process, by diff type.',
    labelNames: ['diff_type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const jobPeakRss = new Histogram({
    name: 'diffguard_job_peak_rss_bytes',
    help: 'Peak resident memory of the worker process during a job.',
    labelNames: ['diff_type'] as const,
    buckets: [32, 64, 96, 128, 160, 192, 256, 384].map((mib) => mib * 1024 * 1024),
    registers: [registry],
  });
  const limitBreaches = new Counter({
    name: 'diffguard_limit_breaches_total',
    help: 'Diff jobs stopped for going over their own limit (422), by limit (cpu, memory, wall).',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const contentRefusals = new Counter({
    name: 'diffguard_content_refusals_total',
    help: 'Versions refused as undiffable, by diff type and sniffed media type.',
    labelNames: ['diff_type', 'media_type'] as const,
    registers: [registry],
  });
  const workerRestarts = new Counter({
    name: 'diffguard_worker_restarts_total',
    help: 'Worker processes replaced, by why the old one exited (cpu, memory, memory_budget, wall, crash, recycle, startup, aborted). Workers stopped at shutdown are not counted.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  let pool: PoolGauges | undefined;
  let bodies: BodyGauges | undefined;
  new Gauge({
    name: 'diffguard_input_bytes',
    help: 'Bytes of request bodies (both versions of every request) the service holds now.',
    registers: [registry],
    collect() {
      this.set(bodies?.heldBytes ?? 0);
    },
  });
  new Gauge({
    name: 'diffguard_input_budget_bytes',
    help: 'Most bytes of request bodies the service may hold at once; past it, requests get 503.',
    registers: [registry],
    collect() {
      this.set(bodies?.limitBytes ?? 0);
    },
  });
  new Gauge({
    // Requests in flight: a place is taken before the inputs are fetched, so this also counts requests
    // waiting on upstreams, which the queue depth and CPU do not see.
    name: 'diffguard_admitted_requests',
    help: 'Diff requests in flight: fetching their inputs, queued, or running.',
    registers: [registry],
    collect() {
      this.set(pool?.admitted ?? 0);
    },
  });
  new Gauge({
    name: 'diffguard_queue_depth',
    help: 'Diff jobs waiting for a worker.',
    registers: [registry],
    collect() {
      this.set(pool?.queued ?? 0);
    },
  });
  new Gauge({
    name: 'diffguard_active_jobs',
    help: 'Diff jobs running on a worker.',
    registers: [registry],
    collect() {
      this.set(pool?.active ?? 0);
    },
  });
  // A window per scrape, like prom-client's nodejs_eventloop_lag_*: the quantiles and the samples of
  // the delay since the previous scrape, then the monitor is reset (max over a long run = max over windows).
  const loopDelay = processEventLoopDelay();
  let loopDelaySamples = 0;
  new Gauge({
    name: 'diffguard_event_loop_delay_seconds',
    help: `Event-loop delay of the main process since the previous scrape, by quantile (1 = max), from perf_hooks.monitorEventLoopDelay at ${EVENT_LOOP_RESOLUTION_MS} ms resolution.`,
    labelNames: ['quantile'] as const,
    registers: [registry],
    collect() {
      loopDelaySamples = loopDelay.count;
      for (const q of EVENT_LOOP_DELAY_QUANTILES) {
        const ns = loopDelaySamples === 0 ? 0 : q === 1 ? loopDelay.max : loopDelay.percentile(q * 100);
        this.set({ quantile: String(q) }, Math.max(0, ns / 1e6 - EVENT_LOOP_RESOLUTION_MS) / 1000);
      }
      loopDelay.reset();
    },
  });
  // Registered after the quantiles, so collected after them (prom-client collects in registration order).
  new Gauge({
    name: 'diffguard_event_loop_delay_samples',
    help: 'Event-loop delay samples behind diffguard_event_loop_delay_seconds (one per resolution tick since the previous scrape).',
    registers: [registry],
    collect() {
      this.set(loopDelaySamples);
    },
  });
  const poolObserver: PoolObserver = {
    jobFinished({ diffType, result, started, durationMs, cpuMs, peakRssBytes }) {
      jobDuration.observe({ diff_type: diffType, result }, durationMs / 1000);
      if (started && result !== 'aborted') {
        jobCpu.observe({ diff_type: diffType }, cpuMs / 1000);
        if (peakRssBytes > 0) jobPeakRss.observe({ diff_type: diffType }, peakRssBytes);
      }
      if (result === 'cpu' || result === 'memory' || result === 'wall') limitBreaches.inc({ limit: result });
    },
    workerExited({ reason, replaced }) {
      if (replaced) workerRestarts.inc({ reason });
    },
  };
  return {
    registry,
    requests,
    httpRequestDuration,
    contentRefusals,
    poolObserver,
    watchPool(p) {
      pool = p;
    },
    watchBodies(budget) {
      bodies = budget;
    },
  };
}
