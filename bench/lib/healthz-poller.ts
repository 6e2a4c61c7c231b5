// Polls /healthz at a fixed interval from a worker thread, so the latencies measure the service
// and not the harness's own event loop (which also serves the hostile upstreams).
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createAgent, timedGet } from './http-client.ts';

export interface HealthzReport {
  latenciesMs: number[];
  failures: string[];
  /** Polls slower than `slowMs`: when (epoch ms at send) and how long. */
  slow: Array<{ at: number; ms: number }>;
}

interface PollerData {
  role: 'healthz-poller';
  baseUrl: string;
  intervalMs: number;
  slowMs: number;
  maxRunMs: number;
}

export class HealthzPoller {
  readonly #worker: Worker;

  constructor(baseUrl: string, options: { intervalMs: number; slowMs: number; maxRunMs: number }) {
    const data: PollerData = { role: 'healthz-poller', baseUrl, ...options };
    this.#worker = new Worker(new URL(import.meta.url), { workerData: data });
  }

  async stop(): Promise<HealthzReport> {
    const report = once(this.#worker, 'message') as Promise<[HealthzReport]>;
    this.#worker.postMessage('stop');
    const [result] = await report;
    await this.#worker.terminate();
    return result;
  }
}

async function poll(data: PollerData): Promise<void> {
  const report: HealthzReport = { latenciesMs: [], failures: [], slow: [] };
  let stopped = false;
  parentPort!.once('message', () => {
    stopped = true;
  });
  const agent = createAgent(5000);
  const until = Date.now() + data.maxRunMs;
  while (!stopped && Date.now() < until) {
    const at = Date.now();
    const answer = await timedGet(`${data.baseUrl}/healthz`, agent, 5000);
    report.latenciesMs.push(answer.ms);
    if (answer.status !== 200) report.failures.push(answer.transportError ?? String(answer.status));
    if (answer.ms > data.slowMs) report.slow.push({ at, ms: answer.ms });
    await sleep(Math.max(0, data.intervalMs - answer.ms));
  }
  // Stopped by the run limit: wait for the stop request so the report is still delivered.
  if (!stopped) await once(parentPort!, 'message');
  parentPort!.postMessage(report);
  await agent.close();
}

if (!isMainThread && (workerData as PollerData | undefined)?.role === 'healthz-poller') {
  void poll(workerData as PollerData);
}
