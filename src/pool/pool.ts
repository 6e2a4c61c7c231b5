// The diff pool: N worker processes behind a bounded admission queue (p-queue).
// - Admission: a request takes a place before fetching (at most `maxInFlight`), and is refused at
//   once while the queue is full; at most `maxQueued` jobs wait for a worker, a job submitted beyond
//   that is refused. Both → OverloadedError (503 + Retry-After). Bodies in memory are bounded by
//   bytes elsewhere (ingest's BodyBudget), so a slow upstream does not take a queue slot.
// - Deadline: one wall clock per job from when the request arrived (queue wait included). A job
//   still waiting when it passes gets 504 DEADLINE_EXCEEDED (the wait depends on other load); a
//   running one is killed and gets 422 LIMIT_EXCEEDED wall.
// - CPU and memory: enforced per job by WorkerProcess (the CPU clock starts when the job leaves the queue).
// - Any worker that exits (killed, crashed, recycled) is replaced; queued jobs wait for the replacement.
//   A job handed to a worker that died before taking it goes to another worker.
import PQueue from 'p-queue';
import { fileURLToPath } from 'node:url';
import { DeadlineExceededError, InternalError, LimitExceededError, OverloadedError, isDiffguardError, type DiffguardError } from '../errors.ts';
import type { DiffJob, JsonJobResult } from './job.ts';
import { sampleMemory } from './proc-stats.ts';
import { WorkerGoneError, WorkerProcess, exitError, outcomeToResult, type JobReport, type WorkerExitReason, type WorkerLimits } from './worker-process.ts';

// A worker that cannot start this many times in a row means the pool is broken (bad build, no memory).
const MAX_CONSECUTIVE_STARTUP_FAILURES = 5;
// Failed starts are retried after 100 ms, 200 ms, 400 ms... up to 5 s, not in a tight loop.
const RESPAWN_BACKOFF_BASE_MS = 100;
const RESPAWN_BACKOFF_MAX_MS = 5_000;
// A pool broken this long gives up (the service then exits non-zero): a restarted pod, perhaps on
// another node, is likelier to start workers than this process retrying forever with /readyz failing
// ("crash-and-restart beats limping"). Long enough to ride out a brief memory squeeze.
const BROKEN_GIVE_UP_MS = 60_000;
// A job whose worker went away before taking it is offered to another worker this many times; the
// bound only matters if the job itself somehow kills workers before they can accept it.
const MAX_HANDOVERS = 3;
const BUDGET_CHECK_INTERVAL_MS = 50;
// A worker whose own memory (RssAnon + RssShmem) stays above this share of its resident limit
// after a job is replaced (a fresh one holds ~40 MiB of its own, plus ~50 MiB of shared file pages).
const RECYCLE_RSS_SHARE = 0.5;
const MiB = 1024 * 1024;

export interface PoolOptions {
  workers: number;
  /** Jobs that may wait for a worker; a job submitted beyond that is refused (503). */
  maxQueued: number;
  /**
   * Requests admitted at once, whatever they are doing (fetching their inputs, queued, running):
   * bounds sockets and time spent on upstreams. Memory is bounded separately, by the bytes of the
   * bodies held (BodyBudget), so a request waiting on a slow upstream costs a place here only.
   */
  maxInFlight: number;
  /**
   * Idle, started workers kept beyond `workers` (concurrency stays `workers`): when a worker is
   * replaced (recycled after a big job, killed at a limit, crashed), the spare takes the next job at
   * once instead of the queue waiting ~0.3 s for a new process, which on a one-worker pod is a
   * stop of all work. Default 0.
   */
  spareWorkers?: number;
  maxJobsPerWorker: number;
  retryAfterSeconds: number;
  limits: WorkerLimits;
  /**
   * Memory budget of the whole service (main process + every worker), in MiB. When set, the pool
   * stops the largest running job once the total passes it, so that several jobs each under their
   * own limit cannot together push the container over its memory limit (the OOM killer would take
   * every job with it).
   */
  memoryBudgetMib?: number;
  /** How long the pool may stay broken before `observer.gaveUp` (default 60 s; tests shorten it). */
  giveUpAfterMs?: number;
  /** Worker entry module; tests inject one with extra (hostile) diff types. */
  workerModule?: string;
  observer?: PoolObserver;
}

/**
 * How a job ended, for metrics: `cpu`/`memory`/`wall` its own limits (422), `deadline` still waiting
 * at its deadline (504), `memory_budget` stopped for the service's memory (503), `shutdown` still
 * unfinished when the drain ran out (503), `aborted` the client went away.
 */
export type JobResultLabel = 'ok' | 'error' | 'cpu' | 'memory' | 'wall' | 'deadline' | 'memory_budget' | 'shutdown' | 'aborted';

export interface PoolObserver {
  /** `started`: a worker took the job (else it never ran, and cpuMs/peakRssBytes are 0). */
  jobFinished?(event: { diffType: string; result: JobResultLabel; started: boolean; durationMs: number; cpuMs: number; peakRssBytes: number }): void;
  /** `replaced`: a successor is started (false once the pool is stopping). */
  workerExited?(event: { reason: WorkerExitReason; pid: number | undefined; output: string; replaced: boolean }): void;
  /** Workers failed to start under RLIMIT_DATA: they now start without it (the RSS watchdog still applies). */
  dataLimitDropped?(event: { output: string }): void;
  /** The pool has been broken (no worker can start) for `giveUpAfterMs`: the process should exit so it is restarted. */
  gaveUp?(event: { reason: string; brokenForMs: number }): void;
}

export interface Admission {
  /** Runs the admitted job (once); its place is given back when it finishes. */
  run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>>;
  /**
   * Like `run`, but the worker answers with the result object as JSON text, `<`, `>`, `&` escaped as
   * express's `json escape` does (splice it into the response with `spliceJsonObject`, json-result.ts),
   * and with the encoding each side was decoded with.
   */
  runJson(job: DiffJob, options: RunOptions): Promise<JsonJobResult>;
  /** Gives the place back without running (the request failed before its job). Idempotent. */
  release(): void;
}

export interface RunOptions {
  /** Aborts the job (client went away). */
  signal?: AbortSignal;
  /** Epoch ms by which the job must be done, queue wait included. */
  deadlineAt: number;
}

/** Why a job's own abort signal fired. */
type StopReason = 'wall' | 'aborted' | 'shutdown';

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
  /** A worker holding more of its own memory than this after a job is replaced (RECYCLE_RSS_SHARE of its limit). */
  readonly #recycleOwnBytes: number;
  #useDataLimit: boolean;
  #consecutiveStartupFailures = 0;
  #respawnTimer: NodeJS.Timeout | undefined;
  /** Refuses new work (draining). */
  #closing = false;
  /** No more workers are started; set when the drain is over. */
  #stopped = false;
  /** What a job gets once the pool has stopped. */
  #stoppedError: DiffguardError | undefined;
  #broken: { reason: string; since: number; giveUp: NodeJS.Timeout } | undefined;
  #startup: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #budgetWatch: NodeJS.Timeout | undefined;
  #budgetCheckRunning = false;
  #admitted = 0;
  /** Jobs submitted and not settled: their stop functions and their settlement. */
  readonly #jobs = new Map<(reason: StopReason) => void, Promise<unknown>>();
  /** Workers to be replaced (recycled); each serves on until a successor is ready. */
  readonly #retiring = new Set<WorkerProcess>();
  readonly #drainWaiters: (() => void)[] = [];
  restarts = 0;

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#recycleOwnBytes = RECYCLE_RSS_SHARE * options.limits.rssLimitMib * MiB;
    this.#workerModule = options.workerModule ?? defaultWorkerModule();
    this.#useDataLimit = options.limits.useDataLimit;
    this.#queue = new PQueue({ concurrency: options.workers });
  }

  /**
   * Starts the workers and waits until all are ready. Rejects if the pool breaks first (workers
   * keep failing to start, even without the data limit); it keeps retrying in the background.
   */
  async start(): Promise<void> {
    if (this.#options.memoryBudgetMib !== undefined) {
      this.#budgetWatch = setInterval(() => void this.#enforceMemoryBudget(this.#options.memoryBudgetMib!), BUDGET_CHECK_INTERVAL_MS);
      this.#budgetWatch.unref();
    }
    const started = new Promise<void>((resolve, reject) => (this.#startup = { resolve, reject }));
    this.#ensureWorkers();
    await started;
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

  get maxInFlight(): number {
    return this.#options.maxInFlight;
  }

  /** Requests admitted and not finished: fetching their inputs, queued, or running. */
  get admitted(): number {
    return this.#admitted;
  }

  /** The 503 for a service that cannot take a diff now, saying why. */
  #overloaded(reason: string): OverloadedError {
    return new OverloadedError(`The service cannot take more diffs right now (${reason}); retry later`, { retry_after_seconds: this.#options.retryAfterSeconds });
  }

  /** Every worker busy and `maxQueued` jobs waiting: a job submitted now would be refused. */
  #queueFull(): boolean {
    return this.#queue.pending >= this.#options.workers && this.#queue.size >= this.#options.maxQueued;
  }

  /** Why the pool cannot take work now, or undefined when it can (drives /readyz). */
  unavailableReason(): string | undefined {
    if (this.#closing) return 'shutting down';
    if (this.#broken !== undefined) return `pool broken: ${this.#broken.reason}`;
    if (this.#queueFull()) return 'queue full';
    if (this.#admitted >= this.#options.maxInFlight) return 'too many requests in flight';
    return undefined;
  }

  /**
   * Takes a place for one request before its inputs are fetched: an overloaded service (queue full,
   * too many requests in flight, shutting down, broken) refuses without touching upstreams, and the
   * drain waits for every admitted request. Throws OverloadedError (503 + Retry-After) when there is
   * no place. The place is given back when the admitted job finishes, or by `release()` if the
   * request ends before it runs one.
   */
  admit(): Admission {
    const unavailable = this.unavailableReason();
    if (unavailable !== undefined) throw this.#overloaded(unavailable);
    this.#admitted += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#admitted -= 1;
      if (this.#admitted === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    };
    return {
      run: (job, options) => this.#run(job, options, 'object').finally(release) as Promise<Record<string, unknown>>,
      runJson: (job, options) => this.#run(job, options, 'json').finally(release) as Promise<JsonJobResult>,
      release,
    };
  }

  /** Admits and runs one job (for callers that have nothing to fetch first). */
  async run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>> {
    return this.admit().run(job, options);
  }

  /** Runs a diff job under the pool's limits; resolves with the diff result or rejects with a DiffguardError. */
  #run(job: DiffJob, options: RunOptions, resultAs: 'object' | 'json'): Promise<Record<string, unknown> | JsonJobResult> {
    if (this.#stoppedError !== undefined) return Promise.reject(this.#stoppedError);
    // The queue may have filled while this request fetched its inputs.
    if (this.#queueFull()) return Promise.reject(this.#overloaded('queue full'));
    // Two signals: `queueAbort` takes a job out of p-queue while it waits there; once p-queue has
    // started it, `jobAbort` alone stops it, so the job's end (and its CPU report) is awaited
    // rather than raced by p-queue.
    const jobAbort = new AbortController();
    const queueAbort = new AbortController();
    let inQueue = true;
    let started = false;
    const stop = (reason: StopReason) => {
      if (jobAbort.signal.aborted) return;
      jobAbort.abort(reason);
      if (inQueue) queueAbort.abort(reason);
    };
    const deadline = setTimeout(() => stop('wall'), Math.max(0, options.deadlineAt - Date.now()));
    const onClientAbort = () => stop('aborted');
    options.signal?.addEventListener('abort', onClientAbort, { once: true });
    if (options.signal?.aborted) stop('aborted');
    const begun = Date.now();
    let report: JobReport = { cpuMs: 0, peakRssBytes: 0, endOwnBytes: 0 };
    let label: JobResultLabel = 'ok';
    const settled = (async () => {
      try {
        return await this.#queue.add(
          async () => {
            inQueue = false;
            for (let handovers = 0; ; handovers += 1) {
              const worker = await this.#acquire(jobAbort.signal, handovers > 0);
              let attempt: JobReport | undefined;
              try {
                const outcome = await worker.run(
                  { ...job, resultAs },
                  { signal: jobAbort.signal, onAccepted: () => (started = true), onReport: (r) => (attempt = r) },
                );
                return outcomeToResult(outcome);
              } catch (err) {
                // The worker died before it took the job (e.g. it exited right after its previous
                // job, or the memory budget stopped it while it was handed over): the job never ran.
                if (err instanceof WorkerGoneError && !jobAbort.signal.aborted && handovers < MAX_HANDOVERS) continue;
                throw err;
              } finally {
                if (attempt !== undefined) report = attempt;
                this.#release(worker, attempt);
              }
            }
          },
          { signal: queueAbort.signal },
        );
      } catch (err) {
        const error = this.#toDiffguardError(err, jobAbort.signal, started);
        label = resultLabel(error, jobAbort.signal);
        throw error;
      } finally {
        clearTimeout(deadline);
        options.signal?.removeEventListener('abort', onClientAbort);
        this.#jobs.delete(stop);
        this.#options.observer?.jobFinished?.({ diffType: job.diffType, result: label, started, durationMs: Date.now() - begun, cpuMs: report.cpuMs, peakRssBytes: report.peakRssBytes });
      }
    })();
    this.#jobs.set(stop, settled.catch(() => {}));
    return settled;
  }

  /**
   * Stops taking work and lets admitted requests finish for up to `drainMs`. Then every job still
   * queued or running is stopped and answered 503 OVERLOADED with Retry-After (another replica may
   * well run it), the workers are stopped, and the promise resolves once all of that has settled.
   */
  async close(drainMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#budgetWatch);
    let timer: NodeJS.Timeout | undefined;
    // Admitted requests may still be fetching: wait for them, not just for the queue.
    const drained = this.#admitted === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    this.#stopped = true;
    this.#stoppedError = new OverloadedError('The service shut down before this diff finished; retry on another instance', {
      retry_after_seconds: this.#options.retryAfterSeconds,
    });
    clearTimeout(this.#respawnTimer);
    if (this.#broken !== undefined) clearTimeout(this.#broken.giveUp);
    for (const stop of this.#jobs.keys()) stop('shutdown');
    await Promise.all(this.#jobs.values());
    await Promise.all([...this.#all].map((worker) => worker.stop('shutdown')));
  }

  /** SIGKILLs every worker at once (synchronous): for a process about to exit without draining. */
  killWorkersNow(): void {
    this.#stopped = true;
    for (const worker of this.#all) worker.kill('shutdown');
  }

  #toDiffguardError(err: unknown, signal: AbortSignal, started: boolean): DiffguardError {
    if (signal.aborted) {
      switch (signal.reason as StopReason) {
        case 'wall':
          if (started) return exitError('wall', this.#options.limits, '');
          // Still waiting for a worker: the deadline passed because of the other load, not this job.
          return new DeadlineExceededError(
            `The diff could not start within ${this.#options.limits.deadlineMs} ms (JOB_DEADLINE_MS) because the service was busy; retry later`,
            { deadline_ms: this.#options.limits.deadlineMs },
          );
        case 'shutdown':
          return this.#stoppedError ?? new OverloadedError('The service is shutting down; retry on another instance', { retry_after_seconds: this.#options.retryAfterSeconds });
        default:
          return new InternalError('The request was aborted by the client', { reason: 'aborted' });
      }
    }
    if (isDiffguardError(err)) return err;
    if (err instanceof WorkerGoneError) return new InternalError('The diff workers kept exiting before they could take the job');
    return new InternalError(err instanceof Error ? err.message : String(err));
  }

  /**
   * Keeps the main process and all workers under the budget. It counts what each process adds to
   * the container's memory: anonymous and shared-memory pages (RssAnon + RssShmem) of every
   * process, plus the file-backed pages (the node binary, libraries) once, as the cgroup charges
   * them. Over the budget it first stops idle workers that kept much memory, then the largest
   * running job — even when the main process is what grew (big bodies in flight): stopping a job
   * is the only lever, and the largest frees the most.
   */
  async #enforceMemoryBudget(budgetMib: number): Promise<void> {
    if (this.#queue.pending === 0 || this.#budgetCheckRunning) return;
    this.#budgetCheckRunning = true;
    try {
      const workers = [...this.#all];
      const [main, ...samples] = await Promise.all([sampleMemory('self'), ...workers.map((worker) => (worker.pid === undefined ? undefined : sampleMemory(worker.pid)))]);
      if (main === undefined) return;
      let totalBytes = main.ownBytes + main.fileBytes;
      let largestBusy: { worker: WorkerProcess; bytes: number } | undefined;
      const bloatedIdle: WorkerProcess[] = [];
      samples.forEach((sample, index) => {
        if (sample === undefined) return;
        totalBytes += sample.ownBytes;
        const worker = workers[index]!;
        // Re-checked now, after the await: a worker handed to a job meanwhile is busy, not idle.
        const idle = this.#idle.includes(worker) && !worker.busy;
        if (idle && sample.ownBytes > this.#recycleOwnBytes) bloatedIdle.push(worker);
        if (worker.busy && (largestBusy === undefined || sample.ownBytes > largestBusy.bytes)) largestBusy = { worker, bytes: sample.ownBytes };
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
    } finally {
      this.#budgetCheckRunning = false;
    }
  }

  #removeIdle(worker: WorkerProcess): void {
    const index = this.#idle.indexOf(worker);
    if (index !== -1) this.#idle.splice(index, 1);
  }

  #spawn(): WorkerProcess {
    const worker = new WorkerProcess(this.#workerModule, {
      ...this.#options.limits,
      useDataLimit: this.#useDataLimit,
      retryAfterSeconds: this.#options.retryAfterSeconds,
      ...(this.#options.memoryBudgetMib === undefined ? {} : { memoryBudgetMib: this.#options.memoryBudgetMib }),
    });
    this.#all.add(worker);
    worker.ready.then(
      () => {
        this.#consecutiveStartupFailures = 0;
        this.#clearBroken();
        // A successor is ready: one idle worker waiting to retire can go now.
        const retiring = this.#idle.find((idle) => this.#retiring.has(idle));
        if (retiring !== undefined) {
          this.#removeIdle(retiring);
          void retiring.stop('recycle');
        }
        this.#release(worker);
        if (this.#startup !== undefined && this.#readyWorkers() >= this.#options.workers) {
          this.#startup.resolve();
          this.#startup = undefined;
        }
      },
      () => {},
    );
    void worker.exited.then((reason) => this.#onExit(worker, reason));
    return worker;
  }

  /** Starts workers until the pool has its size plus its spares, not counting workers that are retiring. */
  #ensureWorkers(): void {
    const processes = this.#options.workers + (this.#options.spareWorkers ?? 0);
    while (!this.#stopped && this.#all.size - this.#retiring.size < processes) this.#spawn();
  }

  #onExit(worker: WorkerProcess, reason: WorkerExitReason): void {
    this.#all.delete(worker);
    this.#retiring.delete(worker);
    this.#removeIdle(worker);
    this.#options.observer?.workerExited?.({ reason, pid: worker.pid, output: worker.stderrTail, replaced: !this.#stopped });
    if (this.#stopped) return;
    this.restarts += 1;
    if (reason !== 'startup') {
      this.#ensureWorkers();
      return;
    }
    this.#consecutiveStartupFailures += 1;
    const failures = this.#consecutiveStartupFailures;
    // Some hosts refuse the address space Node needs under RLIMIT_DATA: fall back to the RSS watchdog alone.
    if (this.#useDataLimit && failures >= 2) {
      this.#useDataLimit = false;
      this.#options.observer?.dataLimitDropped?.({ output: worker.stderrTail });
    }
    if (failures >= MAX_CONSECUTIVE_STARTUP_FAILURES) this.#setBroken(worker.stderrTail.split('\n').at(-1) || 'workers fail to start');
    if (this.#respawnTimer !== undefined) return;
    const delay = Math.min(RESPAWN_BACKOFF_MAX_MS, RESPAWN_BACKOFF_BASE_MS * 2 ** (failures - 1));
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = undefined;
      this.#ensureWorkers();
    }, delay);
    this.#respawnTimer.unref();
  }

  #setBroken(reason: string): void {
    if (this.#broken !== undefined) {
      this.#broken.reason = reason;
      return;
    }
    const since = Date.now();
    const giveUpAfterMs = this.#options.giveUpAfterMs ?? BROKEN_GIVE_UP_MS;
    const giveUp = setTimeout(() => this.#options.observer?.gaveUp?.({ reason: this.#broken?.reason ?? reason, brokenForMs: Date.now() - since }), giveUpAfterMs);
    giveUp.unref();
    this.#broken = { reason, since, giveUp };
    this.#startup?.reject(new InternalError(`no diff worker could start: ${reason}`));
    this.#startup = undefined;
  }

  #clearBroken(): void {
    if (this.#broken === undefined) return;
    clearTimeout(this.#broken.giveUp);
    this.#broken = undefined;
  }

  /** A usable worker: an idle one, or the next one released. A handover (retry) goes first in line. */
  #acquire(signal: AbortSignal, first: boolean): Promise<WorkerProcess> {
    if (signal.aborted) return Promise.reject(new Error('aborted while waiting for a worker'));
    for (let worker = this.#idle.pop(); worker !== undefined; worker = this.#idle.pop()) {
      if (worker.usable) return Promise.resolve(worker);
    }
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
      if (first) this.#waiters.unshift(waiter);
      else this.#waiters.push(waiter);
    });
  }

  #release(worker: WorkerProcess, report?: JobReport): void {
    // Dead, dying or being stopped: its exit starts a successor, which is released when ready.
    if (!worker.usable) {
      // Ran out of memory inside the worker: replace it now (its heap may be fragmented).
      if (worker.spent) void worker.stop('memory');
      return;
    }
    // A worker that kept much of a big job's memory is replaced rather than reused: the next job
    // then starts from a fresh baseline (so memory limits hit the same inputs every time), and idle
    // workers do not hold memory that the other jobs need.
    // (While draining, workers are not recycled.)
    const bloated = report !== undefined && report.endOwnBytes > this.#recycleOwnBytes;
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
    for (const worker of this.#all) if (worker.usable && !this.#retiring.has(worker)) count += 1;
    return count;
  }
}

function resultLabel(error: DiffguardError, signal: AbortSignal): JobResultLabel {
  if (signal.aborted && signal.reason === 'aborted') return 'aborted';
  if (error instanceof LimitExceededError) return (error.details.limit as JobResultLabel | undefined) ?? 'error';
  if (error instanceof DeadlineExceededError) return 'deadline';
  if (error instanceof OverloadedError) return error.details.scope === 'service' ? 'memory_budget' : 'shutdown';
  return 'error';
}
