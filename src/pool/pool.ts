// The diff pool: N worker processes behind a bounded admission queue (p-queue).
// - Admission: at most `maxQueued` jobs wait; beyond that → OverloadedError (503 + Retry-After).
// - Deadline: one wall clock per job from when the request arrived (queue wait included).
// - CPU and memory: enforced per job by WorkerProcess (the CPU clock starts when the job leaves the queue).
// - Any worker that exits (killed, crashed, recycled) is replaced; queued jobs wait for the replacement.
import PQueue from 'p-queue';
import { fileURLToPath } from 'node:url';
import { InternalError, LimitExceededError, OverloadedError, isDiffguardError, type DiffguardError } from '../errors.ts';
import type { DiffJob } from './job.ts';
import { sampleProcess } from './proc-stats.ts';
import { WorkerProcess, exitError, outcomeToResult, type JobReport, type WorkerExitReason, type WorkerLimits } from './worker-process.ts';

// A worker that cannot start this many times in a row means the pool is broken (bad build, no memory).
const MAX_CONSECUTIVE_STARTUP_FAILURES = 5;
const BUDGET_CHECK_INTERVAL_MS = 50;
// An idle worker above this share of its resident limit is replaced (a fresh one uses ~65 MiB).
const RECYCLE_RSS_SHARE = 0.5;
const MiB = 1024 * 1024;

export interface PoolOptions {
  workers: number;
  maxQueued: number;
  maxJobsPerWorker: number;
  retryAfterSeconds: number;
  limits: WorkerLimits;
  /**
   * Memory budget of the whole service (main process + every worker), in MiB. When set, the pool
   * kills the largest running job once the total passes it, so that several jobs each under their
   * own limit cannot together push the container over its memory limit (the OOM killer would take
   * every job with it).
   */
  memoryBudgetMib?: number;
  /** Worker entry module; tests inject one with extra (hostile) diff types. */
  workerModule?: string;
  observer?: PoolObserver;
}

export type JobResultLabel = 'ok' | 'error' | 'cpu' | 'memory' | 'wall' | 'aborted';

export interface PoolObserver {
  jobFinished?(event: { diffType: string; result: JobResultLabel; durationMs: number; cpuMs: number; peakRssBytes: number }): void;
  workerExited?(event: { reason: WorkerExitReason; pid: number | undefined; output: string }): void;
}

export interface Admission {
  /** Runs the admitted job (once); its place is given back when it finishes. */
  run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>>;
  /** Gives the place back without running (the request failed before its job). Idempotent. */
  release(): void;
}

export interface RunOptions {
  /** Aborts the job (client went away). */
  signal?: AbortSignal;
  /** Epoch ms by which the job must be done, queue wait included. */
  deadlineAt: number;
}

/** The compiled worker next to this module (dist/) or the TypeScript source in development. */
export function defaultWorkerModule(): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`../../workers/diff-worker${extension}`, import.meta.url));
}

export class DiffPool {
  readonly #options: PoolOptions;
  readonly #queue: PQueue;
  readonly #idle: WorkerProcess[] = [];
  readonly #all = new Set<WorkerProcess>();
  readonly #waiters: ((worker: WorkerProcess) => void)[] = [];
  readonly #workerModule: string;
  #useDataLimit: boolean;
  #consecutiveStartupFailures = 0;
  #closing = false;
  #broken: string | undefined;
  #budgetWatch: NodeJS.Timeout | undefined;
  #admitted = 0;
  /** Workers to be replaced (recycled); each serves on until a successor is ready. */
  readonly #retiring = new Set<WorkerProcess>();
  readonly #drainWaiters: (() => void)[] = [];
  restarts = 0;

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#workerModule = options.workerModule ?? defaultWorkerModule();
    this.#useDataLimit = options.limits.useDataLimit;
    this.#queue = new PQueue({ concurrency: options.workers });
  }

  /** Starts every worker and waits until they are ready (fails if none can start). */
  async start(): Promise<void> {
    if (this.#options.memoryBudgetMib !== undefined) {
      this.#budgetWatch = setInterval(() => void this.#enforceMemoryBudget(this.#options.memoryBudgetMib!), BUDGET_CHECK_INTERVAL_MS);
      this.#budgetWatch.unref();
    }
    this.#ensureWorkers();
    const workers = [...this.#all];
    const results = await Promise.allSettled(workers.map((worker) => worker.ready));
    if (results.every((result) => result.status === 'rejected')) {
      const first = results[0] as PromiseRejectedResult | undefined;
      throw new InternalError(`no diff worker could start: ${String(first?.reason?.message ?? first?.reason)}`);
    }
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Jobs running on a worker. */
  get active(): number {
    return this.#queue.pending;
  }

  get size(): number {
    return this.#options.workers;
  }

  get maxQueued(): number {
    return this.#options.maxQueued;
  }

  /** Requests admitted and not finished: fetching their inputs, queued, or running. */
  get admitted(): number {
    return this.#admitted;
  }

  /** Why the pool cannot take work now, or undefined when it can (drives /readyz). */
  unavailableReason(): string | undefined {
    if (this.#closing) return 'shutting down';
    if (this.#broken !== undefined) return `pool broken: ${this.#broken}`;
    if (this.#admitted >= this.#options.workers + this.#options.maxQueued) return 'queue full';
    return undefined;
  }

  /**
   * Takes a place for one request before its inputs are fetched, so that the bodies held in memory
   * are bounded by workers + queue slots, not by how many requests arrive. Throws OverloadedError
   * (503 + Retry-After) when there is no place. The place is given back when the admitted job
   * finishes, or by `release()` if the request ends before it runs one.
   */
  admit(): Admission {
    const unavailable = this.unavailableReason();
    if (unavailable !== undefined) {
      throw new OverloadedError(`The service cannot take more diffs right now (${unavailable}); retry later`, {
        retry_after_seconds: this.#options.retryAfterSeconds,
      });
    }
    this.#admitted += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#admitted -= 1;
      if (this.#admitted === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    };
    return {
      run: (job, options) => this.#run(job, options).finally(release),
      release,
    };
  }

  /** Admits and runs one job (for callers that have nothing to fetch first). */
  async run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>> {
    return this.admit().run(job, options);
  }

  /** Runs a diff job under the pool's limits; resolves with the diff result or rejects with a DiffguardError. */
  async #run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>> {
    const controller = new AbortController();
    const remainingMs = Math.max(0, options.deadlineAt - Date.now());
    const deadline = setTimeout(() => controller.abort('wall'), remainingMs);
    const onClientAbort = () => controller.abort('aborted');
    options.signal?.addEventListener('abort', onClientAbort, { once: true });
    if (options.signal?.aborted) controller.abort('aborted');
    const started = Date.now();
    let report: JobReport = { cpuMs: 0, peakRssBytes: 0, endRssBytes: 0 };
    let label: JobResultLabel = 'ok';
    try {
      return await this.#queue.add(
        async () => {
          const worker = await this.#acquire(controller.signal);
          try {
            return outcomeToResult(await worker.run(job, controller.signal, (r) => (report = r)));
          } finally {
            this.#release(worker, report);
          }
        },
        { signal: controller.signal },
      );
    } catch (err) {
      const error = this.#toDiffguardError(err, controller.signal);
      label = error instanceof LimitExceededError ? ((error.details.limit as JobResultLabel) ?? 'error') : controller.signal.reason === 'aborted' ? 'aborted' : 'error';
      throw error;
    } finally {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onClientAbort);
      this.#options.observer?.jobFinished?.({ diffType: job.diffType, result: label, durationMs: Date.now() - started, cpuMs: report.cpuMs, peakRssBytes: report.peakRssBytes });
    }
  }

  /** Stops taking work, lets running and queued jobs finish for up to `drainMs`, then kills the workers. */
  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#budgetWatch);
    let timer: NodeJS.Timeout | undefined;
    // Admitted requests may still be fetching: wait for them, not just for the queue.
    const drained = this.#admitted === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    this.#queue.clear();
    await Promise.all([...this.#all].map((worker) => worker.stop('shutdown')));
  }

  #toDiffguardError(err: unknown, signal: AbortSignal): DiffguardError {
    if (isDiffguardError(err)) return err;
    if (signal.aborted) {
      // Aborted while still queued: p-queue rejects with the signal's reason.
      if (signal.reason === 'wall') return exitError('wall', this.#options.limits, '');
      return new InternalError('The request was aborted by the client', { reason: 'aborted' });
    }
    return new InternalError(err instanceof Error ? err.message : String(err));
  }

  async #enforceMemoryBudget(budgetMib: number): Promise<void> {
    if (this.#queue.pending === 0) return;
    const workers = [...this.#all];
    const samples = await Promise.all(workers.map((worker) => (worker.pid === undefined ? undefined : sampleProcess(worker.pid))));
    let totalBytes = process.memoryUsage.rss();
    let largestBusy: { worker: WorkerProcess; rssBytes: number } | undefined;
    const bloatedIdle: WorkerProcess[] = [];
    samples.forEach((sample, index) => {
      if (sample === undefined) return;
      totalBytes += sample.rssBytes;
      const worker = workers[index]!;
      if (!worker.busy && sample.rssBytes > RECYCLE_RSS_SHARE * this.#options.limits.rssLimitMib * MiB) bloatedIdle.push(worker);
      if (worker.busy && (largestBusy === undefined || sample.rssBytes > largestBusy.rssBytes)) largestBusy = { worker, rssBytes: sample.rssBytes };
    });
    if (totalBytes <= budgetMib * MiB) return;
    // Free what no job needs before stopping one.
    if (bloatedIdle.length > 0) {
      for (const worker of bloatedIdle) {
        this.#removeIdle(worker);
        void worker.stop('recycle');
      }
      return;
    }
    largestBusy?.worker.kill('memory_budget');
  }

  #removeIdle(worker: WorkerProcess): void {
    const index = this.#idle.indexOf(worker);
    if (index !== -1) this.#idle.splice(index, 1);
  }

  #spawn(): WorkerProcess {
    const worker = new WorkerProcess(this.#workerModule, {
      ...this.#options.limits,
      useDataLimit: this.#useDataLimit,
      ...(this.#options.memoryBudgetMib === undefined ? {} : { memoryBudgetMib: this.#options.memoryBudgetMib }),
    });
    this.#all.add(worker);
    worker.ready.then(
      () => {
        this.#consecutiveStartupFailures = 0;
        this.#broken = undefined;
        // A successor is ready: one idle worker waiting to retire can go now.
        const retiring = this.#idle.find((idle) => this.#retiring.has(idle));
        if (retiring !== undefined) {
          this.#removeIdle(retiring);
          void retiring.stop('recycle');
        }
        this.#release(worker);
      },
      () => {},
    );
    void worker.exited.then((reason) => this.#onExit(worker, reason));
    return worker;
  }

  /** Starts workers until the pool has its size, not counting workers that are retiring. */
  #ensureWorkers(): void {
    while (!this.#closing && this.#all.size - this.#retiring.size < this.#options.workers) this.#spawn();
  }

  #onExit(worker: WorkerProcess, reason: WorkerExitReason): void {
    this.#all.delete(worker);
    this.#retiring.delete(worker);
    this.#removeIdle(worker);
    this.#options.observer?.workerExited?.({ reason, pid: worker.pid, output: worker.stderrTail });
    if (this.#closing) return;
    this.restarts += 1;
    if (reason === 'startup') {
      this.#consecutiveStartupFailures += 1;
      // Some hosts refuse the address space Node needs under RLIMIT_DATA: fall back to the RSS watchdog alone.
      if (this.#useDataLimit && this.#consecutiveStartupFailures >= 2) this.#useDataLimit = false;
      if (this.#consecutiveStartupFailures >= MAX_CONSECUTIVE_STARTUP_FAILURES) {
        this.#broken = worker.stderrTail.split('\n').at(-1) || 'workers fail to start';
        setTimeout(() => this.#ensureWorkers(), 5_000).unref();
        return;
      }
    }
    this.#ensureWorkers();
  }

  #acquire(signal: AbortSignal): Promise<WorkerProcess> {
    const worker = this.#idle.pop();
    if (worker !== undefined) return Promise.resolve(worker);
    return new Promise((resolve, reject) => {
      const waiter = (w: WorkerProcess) => {
        signal.removeEventListener('abort', onAbort);
        resolve(w);
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(new Error('aborted while waiting for a worker'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #release(worker: WorkerProcess, report?: JobReport): void {
    if (!worker.alive) return;
    // A worker that kept much of a big job's memory is replaced rather than reused: the next job
    // then starts from a fresh baseline (so memory limits hit the same inputs every time), and idle
    // workers do not hold memory that the other jobs need.
    // (While draining, workers are not recycled: no successor would be started.)
    const bloated = report !== undefined && report.endRssBytes > RECYCLE_RSS_SHARE * this.#options.limits.rssLimitMib * MiB;
    if (bloated && !this.#closing) {
      void worker.stop('recycle');
      return;
    }
    // A worker that is merely old (slow leaks) retires but serves on until its successor is ready,
    // so routine recycling costs no capacity.
    if (worker.jobsRun >= this.#options.maxJobsPerWorker && !this.#closing && !this.#retiring.has(worker)) {
      this.#retiring.add(worker);
      this.#ensureWorkers();
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(worker);
    else if (this.#retiring.has(worker) && this.#readyWorkers() >= this.#options.workers) void worker.stop('recycle');
    else if (!this.#idle.includes(worker)) this.#idle.push(worker);
  }

  /** Workers that are up and not retiring. */
  #readyWorkers(): number {
    let count = 0;
    for (const worker of this.#all) if (worker.isReady && !this.#retiring.has(worker)) count += 1;
    return count;
  }
}
