// The service-wide memory budget: the main process and every worker together stay under it, so that
// several jobs (or requests) each within their own limits cannot push the container over its memory
// limit, where the OOM killer would take every request in flight with it.
//
// It counts what each process adds to the container's memory: anonymous and shared-memory pages
// (RssAnon + RssShmem) of every process, plus the file-backed pages (the node binary, libraries)
// once, as the cgroup charges them. Over the budget it frees memory from whoever holds it:
// 1. idle workers that kept much memory are replaced (no request loses anything);
// 2. if the main process grew more than any running job (request bodies, answers being written),
//    `relieveMainProcess` is asked to abort the request holding the most bytes there;
// 3. otherwise, or when that hook freed nothing, the running job that grew most is stopped
//    (503 OVERLOADED scope "service").
import { sampleMemory, type MemorySample } from './proc-stats.ts';
import type { WorkerProcess } from './worker-process.ts';

const CHECK_INTERVAL_MS = 50;
// What an aborted request held in the main process is given back only when the garbage collector
// runs: for this long after relieving the main process, its growth is not charged again (else every
// check would abort one more request before the first one's memory is freed).
const MAIN_RELIEF_GRACE_MS = 1_000;
const MiB = 1024 * 1024;

export interface MemoryBudgetOptions {
  budgetMib: number;
  /**
   * Called when the main process's own growth is what put the total over the budget. Returns true
   * if it freed something (it aborted the request holding the most bytes in the main process);
   * false to let the budget stop the largest job instead.
   */
  relieveMainProcess?: () => boolean;
  intervalMs?: number;
  /** Tests inject a sampler. */
  sampleMemory?: (pid: number | 'self') => Promise<MemorySample | undefined>;
}

/** What the budget needs to know of the workers. */
export interface BudgetedWorkers {
  readonly workers: readonly WorkerProcess[];
  isIdle(worker: WorkerProcess): boolean;
  recycleIdle(worker: WorkerProcess): void;
  /** Own bytes above which an idle worker is worth replacing. */
  readonly recycleOwnBytes: number;
}

export type BudgetAction = 'under' | 'recycled_idle' | 'relieved_main' | 'relieving_main' | 'stopped_job' | 'nothing_to_stop' | 'unreadable';

export class MemoryBudget {
  readonly #options: MemoryBudgetOptions;
  readonly #workers: BudgetedWorkers;
  readonly #sample: (pid: number | 'self') => Promise<MemorySample | undefined>;
  /** Whether a check is worth running (something is in flight). */
  readonly #active: () => boolean;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  /** The main process's smallest own memory seen: its baseline, without requests. */
  #mainBaseline: number | undefined;
  /** Each worker's smallest own memory seen (its idle baseline). */
  readonly #workerBaseline = new WeakMap<WorkerProcess, number>();
  /** Until when the main process's growth is being given back (after `relieveMainProcess`). */
  #reliefUntil = 0;
  /** What the last check did (for tests and logs). */
  lastAction: BudgetAction | undefined;

  constructor(options: MemoryBudgetOptions, workers: BudgetedWorkers, active: () => boolean) {
    this.#options = options;
    this.#workers = workers;
    this.#active = active;
    this.#sample = options.sampleMemory ?? sampleMemory;
  }

  get budgetMib(): number {
    return this.#options.budgetMib;
  }

  start(): void {
    void this.#sample('self').then((main) => {
      if (main !== undefined) this.#mainBaseline = Math.min(this.#mainBaseline ?? Infinity, main.ownBytes);
    });
    this.#timer = setInterval(() => {
      if (this.#active()) void this.check();
    }, this.#options.intervalMs ?? CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One check, acting if the total is over the budget. Resolves with what it did. */
  async check(): Promise<BudgetAction | undefined> {
    if (this.#running) return undefined;
    this.#running = true;
    try {
      this.lastAction = await this.#check();
      return this.lastAction;
    } finally {
      this.#running = false;
    }
  }

  async #check(): Promise<BudgetAction> {
    const workers = this.#workers.workers;
    const [main, ...samples] = await Promise.all([this.#sample('self'), ...workers.map((worker) => (worker.pid === undefined ? undefined : this.#sample(worker.pid)))]);
    if (main === undefined) return 'unreadable';
    this.#mainBaseline = Math.min(this.#mainBaseline ?? main.ownBytes, main.ownBytes);
    let totalBytes = main.ownBytes + main.fileBytes;
    let largestBusy: { worker: WorkerProcess; growth: number } | undefined;
    const bloatedIdle: WorkerProcess[] = [];
    samples.forEach((sample, index) => {
      if (sample === undefined) return;
      totalBytes += sample.ownBytes;
      const worker = workers[index]!;
      const baseline = Math.min(this.#workerBaseline.get(worker) ?? sample.ownBytes, sample.ownBytes);
      this.#workerBaseline.set(worker, baseline);
      // Re-checked now, after the await: a worker handed to a job meanwhile is busy, not idle.
      if (this.#workers.isIdle(worker) && sample.ownBytes > this.#workers.recycleOwnBytes) bloatedIdle.push(worker);
      const growth = sample.ownBytes - baseline;
      if (worker.busy && (largestBusy === undefined || growth > largestBusy.growth)) largestBusy = { worker, growth };
    });
    if (totalBytes <= this.#options.budgetMib * MiB) return 'under';
    // Free what no request needs before stopping one.
    if (bloatedIdle.length > 0) {
      for (const worker of bloatedIdle) this.#workers.recycleIdle(worker);
      return 'recycled_idle';
    }
    // Stop the request that holds the memory, not an innocent job: when the main process grew more
    // than any running job, the memory is in a request there (bodies, an answer being written).
    const mainGrowth = main.ownBytes - this.#mainBaseline;
    if (this.#options.relieveMainProcess !== undefined && mainGrowth > (largestBusy?.growth ?? 0)) {
      if (Date.now() < this.#reliefUntil) return 'relieving_main';
      if (this.#options.relieveMainProcess()) {
        this.#reliefUntil = Date.now() + MAIN_RELIEF_GRACE_MS;
        return 'relieved_main';
      }
    }
    if (largestBusy === undefined) return 'nothing_to_stop';
    largestBusy.worker.kill('memory_budget');
    return 'stopped_job';
  }
}
