// How many workers and queue slots a pod gets, and whether they fit its memory.
import type { Config } from '../config.ts';
import type { ContainerResources } from './cgroup.ts';

const MiB = 1024 * 1024;
const IN_FLIGHT_PER_SLOT = 8;

export interface PoolSizing {
  workers: number;
  maxQueued: number;
  /** Queue places beyond `maxQueued` for small jobs only (bodies together ≤ HEAVY_JOB_BYTES). */
  smallQueuePlaces: number;
  /** Requests admitted at once (fetching, queued or running). */
  maxInFlight: number;
  /** Bytes of request bodies the main process may hold at once: those of every running and queued job (small-only places at HEAVY_JOB_BYTES each). */
  inputBudgetBytes: number;
  /** The memory the limits can add up to: workers × heap + bodies held for running and queued jobs. */
  requiredMib: number;
  /** The budget checked against (MEMORY_LIMIT_MIB or the cgroup limit), if any. */
  budgetMib: number | undefined;
}

export function derivePoolSizing(
  config: Pick<Config, 'workers' | 'maxQueuedJobs' | 'smallJobQueuePlaces' | 'heavyJobBytes' | 'maxInFlightRequests' | 'workerHeapMib' | 'maxBodyBytes' | 'memoryLimitMib'>,
  resources: ContainerResources,
): PoolSizing {
  const workers = config.workers > 0 ? config.workers : resources.cpus;
  const maxQueued = config.maxQueuedJobs > 0 ? config.maxQueuedJobs : 2 * workers;
  const smallQueuePlaces = config.smallJobQueuePlaces >= 0 ? config.smallJobQueuePlaces : 4 * workers;
  // Requests waiting on upstreams cost sockets and time, little memory (bodies are bounded by bytes,
  // below): many more may fetch than may queue.
  const maxInFlight = config.maxInFlightRequests > 0 ? config.maxInFlightRequests : IN_FLIGHT_PER_SLOT * (workers + maxQueued);
  const inputBudgetBytes = (workers + maxQueued) * 2 * config.maxBodyBytes + smallQueuePlaces * Math.min(config.heavyJobBytes, 2 * config.maxBodyBytes);
  const requiredMib = Math.ceil(workers * config.workerHeapMib + inputBudgetBytes / MiB);
  const budgetMib =
    config.memoryLimitMib > 0
      ? config.memoryLimitMib
      : resources.memoryLimitBytes === undefined
        ? undefined
        : Math.floor(resources.memoryLimitBytes / MiB);
  return { workers, maxQueued, smallQueuePlaces, maxInFlight, inputBudgetBytes, requiredMib, budgetMib };
}

/** A clear start-up refusal when the configured limits cannot fit the container, or undefined when they do. */
export function sizingProblem(sizing: PoolSizing): string | undefined {
  if (sizing.budgetMib === undefined || sizing.requiredMib <= sizing.budgetMib) return undefined;
  return (
    `${sizing.workers} workers × WORKER_HEAP_MIB plus the bodies of ${sizing.workers + sizing.maxQueued} jobs ` +
    `(2 × MAX_BODY_BYTES each) and ${sizing.smallQueuePlaces} small ones (HEAVY_JOB_BYTES each) need ${sizing.requiredMib} MiB, more than the ${sizing.budgetMib} MiB memory limit. ` +
    'Lower WORKERS, MAX_QUEUED_JOBS, SMALL_JOB_QUEUE_PLACES, WORKER_HEAP_MIB or MAX_BODY_BYTES, or give the container more memory.'
  );
}
