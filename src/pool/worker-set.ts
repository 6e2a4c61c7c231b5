// The worker processes: starting them (with a spare), handing an idle one to a job, taking it back,
// replacing any that exits (killed, crashed, bloated, old), backing off when they fail to start,
// and declaring the pool broken (then giving up) when none can start.
import { fileURLToPath } from 'node:url';
import { InternalError } from '../errors.ts';
import { WorkerProcess, type JobReport, type WorkerExitReason, type WorkerLimits, type WorkerProcessOptions } from './worker-process.ts';

// A worker that cannot start this many times in a row means the pool is broken (bad build, no memory).
const MAX_CONSECUTIVE_STARTUP_FAILURES = 5;
// Failed starts are retried after 100 ms, 200 ms, 400 ms... up to 5 s, not in a tight loop.
const RESPAWN_BACKOFF_BASE_MS = 100;
const RESPAWN_BACKOFF_MAX_MS = 5_000;
// A pool broken this long gives up (the service then exits non-zero): a restarted pod, perhaps on
// another node, is likelier to start workers than this process retrying forever with /readyz failing
// ("crash-and-restart beats limping"). Long enough to ride out a brief memory squeeze.
const BROKEN_GIVE_UP_MS = 60_000;
// A worker whose own memory (RssAnon + RssShmem) stays above this share of its resident limit
// after a job is replaced (a fresh one holds ~40 MiB of its own, plus ~50 MiB of shared file pages).
const RECYCLE_RSS_SHARE = 0.5;
const MiB = 1024 * 1024;

/** The compiled worker next to this module (dist/) or the TypeScript source in development. */
export function defaultWorkerModule(): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`../../workers/diff-worker${extension}`, import.meta.url));
}

export interface WorkerSetObserver {
  /** `replaced`: a successor is started (false once the pool is stopping). */
  workerExited?(event: { reason: WorkerExitReason; pid: number | undefined; output: string; replaced: boolean }): void;
  /** Workers failed to start under RLIMIT_DATA: they now start without it (the RSS watchdog still applies). */
  dataLimitDropped?(event: { output: string }): void;
  /** The pool has been broken (no worker can start) for `giveUpAfterMs`: the process should exit so it is restarted. */
  gaveUp?(event: { reason: string; brokenForMs: number }): void;
}

export interface WorkerSetOptions {
  workers: number;
  /** Idle, started workers kept beyond `workers` (see PoolOptions.spareWorkers). */
  spareWorkers: number;
  maxJobsPerWorker: number;
  limits: WorkerLimits;
  /** Passed to every WorkerProcess (scheduling priority, the /proc sampler). */
  process: WorkerProcessOptions;
  workerModule?: string;
  giveUpAfterMs?: number;
  observer?: WorkerSetObserver;
}

export class WorkerSet {
  readonly #options: WorkerSetOptions;
  readonly #workerModule: string;
  readonly #idle: WorkerProcess[] = [];
  readonly #all = new Set<WorkerProcess>();
  readonly #waiters: ((worker: WorkerProcess) => void)[] = [];
  /** Workers to be replaced (recycled); each serves on until a successor is ready. */
  readonly #retiring = new Set<WorkerProcess>();
  /** A worker holding more of its own memory than this after a job is replaced (RECYCLE_RSS_SHARE of its limit). */
  readonly recycleOwnBytes: number;
  #useDataLimit: boolean;
  #consecutiveStartupFailures = 0;
  #respawnTimer: NodeJS.Timeout | undefined;
  #broken: { reason: string; since: number; giveUp: NodeJS.Timeout } | undefined;
  #startup: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Draining: workers are not recycled for size or age. */
  #closing = false;
  /** No more workers are started. */
  #stopped = false;
  restarts = 0;

  constructor(options: WorkerSetOptions) {
    this.#options = options;
    this.#workerModule = options.workerModule ?? defaultWorkerModule();
    this.#useDataLimit = options.limits.useDataLimit;
    this.recycleOwnBytes = RECYCLE_RSS_SHARE * options.limits.rssLimitMib * MiB;
  }

  /** Starts the workers and waits until `workers` are ready; rejects if the pool breaks first (it keeps retrying). */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => (this.#startup = { resolve, reject }));
    this.#ensureWorkers();
    return started;
  }

  /** Every worker process, started or starting. */
  get workers(): readonly WorkerProcess[] {
    return [...this.#all];
  }

  get brokenReason(): string | undefined {
    return this.#broken?.reason;
  }

  isIdle(worker: WorkerProcess): boolean {
    return this.#idle.includes(worker) && !worker.busy;
  }

  /** Stops an idle worker to give its memory back (a successor is started). */
  recycleIdle(worker: WorkerProcess): void {
    this.#removeIdle(worker);
    void worker.stop('recycle');
  }

  /** Draining: workers are kept rather than recycled. */
  close(): void {
    this.#closing = true;
  }

  /** No more workers are started; resolves once every worker has stopped. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#respawnTimer);
    if (this.#broken !== undefined) clearTimeout(this.#broken.giveUp);
    await Promise.all([...this.#all].map((worker) => worker.stop('shutdown')));
  }

  /** SIGKILLs every worker at once (synchronous). */
  killNow(): void {
    this.#stopped = true;
    for (const worker of this.#all) worker.kill('shutdown');
  }

  /** A usable worker: an idle one, or the next one released. A handover (retry) goes first in line. */
  acquire(signal: AbortSignal, first: boolean): Promise<WorkerProcess> {
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

  /** Takes a worker back after a job (`report` is its figures, when it ran one). */
  release(worker: WorkerProcess, report?: JobReport): void {
    // Dead, dying or being stopped: its exit starts a successor, which is released when ready.
    if (!worker.usable) {
      // Ran out of memory inside the worker: replace it now (its heap may be fragmented).
      if (worker.spent) void worker.stop('memory');
      return;
    }
    // A worker that kept much of a big job's memory is replaced rather than reused: the next job
    // then starts from a fresh baseline (so memory limits hit the same inputs every time), and idle
    // workers do not hold memory that the other jobs need. (While draining, workers are not recycled.)
    const bloated = report !== undefined && report.endOwnBytes > this.recycleOwnBytes;
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

  #removeIdle(worker: WorkerProcess): void {
    const index = this.#idle.indexOf(worker);
    if (index !== -1) this.#idle.splice(index, 1);
  }

  #spawn(): WorkerProcess {
    const worker = new WorkerProcess(this.#workerModule, { ...this.#options.limits, useDataLimit: this.#useDataLimit }, this.#options.process);
    this.#all.add(worker);
    worker.ready.then(
      () => {
        this.#consecutiveStartupFailures = 0;
        this.#clearBroken();
        // A successor is ready: one idle worker waiting to retire can go now.
        const retiring = this.#idle.find((idle) => this.#retiring.has(idle));
        if (retiring !== undefined) this.recycleIdle(retiring);
        this.release(worker);
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
    const processes = this.#options.workers + this.#options.spareWorkers;
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

  /** Workers that are up and not retiring. */
  #readyWorkers(): number {
    let count = 0;
    for (const worker of this.#all) if (worker.usable && !this.#retiring.has(worker)) count += 1;
    return count;
  }
}
