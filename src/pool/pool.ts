// The diff pool: a thin composition of
// - admission (admission.ts): in-flight places, job places, size-weighted scheduling;
// - the worker processes (worker-set.ts): spawning, spare, handing out, replacing, backoff, broken;
// - the memory budget (memory-budget.ts): the service-wide memory check;
// and what ties them to one job: its wall-clock deadline (queue wait included: 504 DEADLINE_EXCEEDED
// while still waiting, since the wait depends on other load; a running job is killed and gets 422
// LIMIT_EXCEEDED wall), client aborts, the handover of a job whose worker died before taking it,
// and the drain on shutdown. CPU and memory per job are enforced by WorkerProcess.
import { DeadlineExceededError, InternalError, LimitExceededError, OverloadedError, isDiffguardError, type DiffguardError } from '../errors.ts';
import { AdmissionControl } from './admission.ts';
import type { DiffJob, JsonJobResult } from './job.ts';
import { MemoryBudget, type MemoryBudgetOptions } from './memory-budget.ts';
import type { ProcessSample } from './proc-stats.ts';
import { WorkerSet, type WorkerSetObserver } from './worker-set.ts';
import { WorkerGoneError, exitError, outcomeToResult, type JobReport, type WorkerLimits } from './worker-process.ts';

export { defaultWorkerModule } from './worker-set.ts';

// A job whose worker went away before taking it is offered to another worker this many times; the
// bound only matters if the job itself somehow kills workers before they can accept it.
const MAX_HANDOVERS = 3;

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
   * A job whose two bodies together are larger than this is heavy: heavy jobs may hold at most half
   * of the job places (running + queued) and, with two or more workers, run on all but one, and a
   * small job waiting goes first (see admission.ts). Default: no job is heavy.
   */
  heavyJobBytes?: number;
  /** Queue places beyond `maxQueued` that only small jobs may take (see admission.ts). Default 0. */
  smallQueuePlaces?: number;
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
   * Niceness added to the main process's for every worker process (and each of its threads): the
   * control plane (health checks, admission, answers) keeps the CPU while workers saturate it.
   * Default 0 (unchanged).
   */
  workerNiceness?: number;
  /**
   * Memory budget of the whole service (main process + every worker), in MiB; see memory-budget.ts.
   */
  memoryBudgetMib?: number;
  /** Called when the main process is what put the service over its memory budget; see MemoryBudgetOptions. */
  relieveMainProcess?: () => boolean;
  /** How long the pool may stay broken before `observer.gaveUp` (default 60 s; tests shorten it). */
  giveUpAfterMs?: number;
  /** Worker entry module; tests inject one with extra (hostile) diff types. */
  workerModule?: string;
  /** Reads a worker's CPU time and resident memory; tests inject failures. Default: /proc. */
  sampleProcess?: (pid: number) => Promise<ProcessSample | undefined>;
  /** Memory budget internals for tests (interval, sampler). */
  memoryBudget?: Pick<MemoryBudgetOptions, 'intervalMs' | 'sampleMemory'>;
  observer?: PoolObserver;
}

/**
 * How a job ended, for metrics: `cpu`/`memory`/`wall` its own limits (422), `deadline` still waiting
 * at its deadline (504), `memory_budget` stopped for the service's memory (503), `unmeasured` its
 * worker's CPU or memory could not be read (503), `shutdown` still unfinished when the drain ran out
 * (503), `aborted` the client went away.
 */
export type JobResultLabel = 'ok' | 'error' | 'cpu' | 'memory' | 'wall' | 'deadline' | 'memory_budget' | 'unmeasured' | 'shutdown' | 'aborted';

export interface PoolObserver extends WorkerSetObserver {
  /** A worker took the job (it has its bodies and is about to run it). */
  jobStarted?(event: { diffType: string; pid: number | undefined }): void;
  /** `started`: a worker took the job (else it never ran, and cpuMs/peakRssBytes are 0). */
  jobFinished?(event: { diffType: string; result: JobResultLabel; started: boolean; durationMs: number; cpuMs: number; peakRssBytes: number }): void;
}

export interface Admission {
  /** Runs the admitted job (once); its place is given back when it finishes. */
  run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>>;
  /**
   * Like `run`, but the worker answers with the result object as JSON text, `<`, `>`, `&` escaped as
   * express's `json escape` does, as the Buffer chunks it arrived in (write them to the socket, or
   * splice them into the response with `spliceJsonChunks`, json-result.ts), and with the encoding
   * each side was decoded with.
   */
  runJson(job: DiffJob, options: RunOptions): Promise<JsonJobResult>;
  /** Gives the place back without running (the request failed before its job). Idempotent. */
  release(): void;
  /**
   * Called while fetching, once the bodies have made the job heavy: claims one of large jobs' places
   * until the job is submitted (or the request ends), or returns the 503 a heavy job gets now. A
   * fetch refused here stops at once instead of downloading the rest only to be refused.
   */
  claimHeavyPlace(): OverloadedError | undefined;
}

export interface RunOptions {
  /** Aborts the job (client went away). */
  signal?: AbortSignal;
  /** Epoch ms by which the job must be done, queue wait included. */
  deadlineAt: number;
}

/** Why a job's own abort signal fired. */
type StopReason = 'wall' | 'aborted' | 'shutdown';

export class DiffPool {
  readonly #options: PoolOptions;
  readonly #admission: AdmissionControl;
  readonly #workers: WorkerSet;
  readonly #budget: MemoryBudget | undefined;
  /** Refuses new work (draining). */
  #closing = false;
  /** What a job gets once the pool has stopped. */
  #stoppedError: DiffguardError | undefined;
  /** Jobs submitted and not settled: their stop functions and their settlement. */
  readonly #jobs = new Map<(reason: StopReason) => void, Promise<unknown>>();

  constructor(options: PoolOptions) {
    this.#options = options;
    this.#admission = new AdmissionControl(options);
    this.#workers = new WorkerSet({
      workers: options.workers,
      spareWorkers: options.spareWorkers ?? 0,
      maxJobsPerWorker: options.maxJobsPerWorker,
      limits: {
        ...options.limits,
        retryAfterSeconds: options.retryAfterSeconds,
        ...(options.memoryBudgetMib === undefined ? {} : { memoryBudgetMib: options.memoryBudgetMib }),
      },
      process: {
        ...(options.workerNiceness === undefined ? {} : { niceness: options.workerNiceness }),
        ...(options.sampleProcess === undefined ? {} : { sampleProcess: options.sampleProcess }),
      },
      ...(options.workerModule === undefined ? {} : { workerModule: options.workerModule }),
      ...(options.giveUpAfterMs === undefined ? {} : { giveUpAfterMs: options.giveUpAfterMs }),
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
    this.#budget =
      options.memoryBudgetMib === undefined
        ? undefined
        : new MemoryBudget(
            {
              budgetMib: options.memoryBudgetMib,
              ...options.memoryBudget,
              ...(options.relieveMainProcess === undefined ? {} : { relieveMainProcess: options.relieveMainProcess }),
            },
            this.#workers,
            // Checked while anything is in flight: a running job, or a request holding bodies or an answer.
            () => this.#admission.active > 0 || this.#admission.admitted > 0,
          );
  }

  /**
   * Starts the workers and waits until all are ready. Rejects if the pool breaks first (workers
   * keep failing to start, even without the data limit); it keeps retrying in the background.
   */
  async start(): Promise<void> {
    this.#budget?.start();
    await this.#workers.start();
  }

  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.#admission.queued;
  }

  /** Jobs running on a worker. */
  get active(): number {
    return this.#admission.active;
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
    return this.#admission.admitted;
  }

  /** Worker processes replaced so far. */
  get restarts(): number {
    return this.#workers.restarts;
  }

  /** Process ids of the worker processes (started or starting). */
  get workerPids(): number[] {
    return this.#workers.workers.flatMap((worker) => (worker.pid === undefined ? [] : [worker.pid]));
  }

  /** The memory budget, when one is set (tests run its check directly). */
  get memoryBudget(): MemoryBudget | undefined {
    return this.#budget;
  }

  /** Why the pool cannot take work now, or undefined when it can (drives /readyz). */
  unavailableReason(): string | undefined {
    if (this.#closing) return 'shutting down';
    const broken = this.#workers.brokenReason;
    if (broken !== undefined) return `pool broken: ${broken}`;
    return this.#admission.unavailableReason();
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
    if (unavailable !== undefined) throw this.#admission.overloaded(unavailable);
    const releasePlace = this.#admission.takePlace();
    let heavyClaim: { release: () => void } | undefined;
    // The claimed heavy place is given back just before the job is weighed and submitted (synchronously: nobody can take it in between).
    const submit = (job: DiffJob, options: RunOptions) => {
      heavyClaim?.release();
      return this.#run(job, options);
    };
    const release = () => {
      heavyClaim?.release();
      releasePlace();
    };
    return {
      run: (job, options) => submit(job, options).then((result) => JSON.parse(Buffer.concat(result.chunks).toString('utf8')) as Record<string, unknown>).finally(release),
      runJson: (job, options) => submit(job, options).finally(release),
      release,
      claimHeavyPlace: () => {
        if (heavyClaim !== undefined) return undefined;
        const claim = this.#admission.claimHeavyPlace();
        if ('refused' in claim) return this.#admission.overloaded(claim.refused);
        heavyClaim = claim;
        return undefined;
      },
    };
  }

  /** Admits and runs one job (for callers that have nothing to fetch first). */
  async run(job: DiffJob, options: RunOptions): Promise<Record<string, unknown>> {
    return this.admit().run(job, options);
  }

  /** Runs a diff job under the pool's limits; resolves with the diff result or rejects with a DiffguardError. */
  #run(job: DiffJob, options: RunOptions): Promise<JsonJobResult> {
    if (this.#stoppedError !== undefined) return Promise.reject(this.#stoppedError);
    const weight = this.#admission.weigh(job.a.body.byteLength + job.b.body.byteLength);
    // The queue may have filled while this request fetched its inputs.
    const refused = this.#admission.refusalReason(weight);
    if (refused !== undefined) return Promise.reject(this.#admission.overloaded(refused));
    // One signal stops the job wherever it is: waiting for a run slot, waiting for a worker, running.
    const jobAbort = new AbortController();
    let started = false;
    const stop = (reason: StopReason) => {
      if (!jobAbort.signal.aborted) jobAbort.abort(reason);
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
        return await this.#admission.schedule(weight, jobAbort.signal, async () => {
          for (let handovers = 0; ; handovers += 1) {
            const worker = await this.#workers.acquire(jobAbort.signal, handovers > 0);
            let attempt: JobReport | undefined;
            try {
              const onAccepted = () => {
                started = true;
                this.#options.observer?.jobStarted?.({ diffType: job.diffType, pid: worker.pid });
              };
              const outcome = await worker.run(job, { signal: jobAbort.signal, onAccepted, onReport: (r) => (attempt = r) });
              return outcomeToResult(outcome);
            } catch (err) {
              // The worker died before it took the job (e.g. it exited right after its previous
              // job, or the memory budget stopped it while it was handed over): the job never ran.
              if (err instanceof WorkerGoneError && !jobAbort.signal.aborted && handovers < MAX_HANDOVERS) continue;
              throw err;
            } finally {
              if (attempt !== undefined) report = attempt;
              this.#workers.release(worker, attempt);
            }
          }
        });
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
    this.#workers.close();
    this.#budget?.stop();
    let timer: NodeJS.Timeout | undefined;
    // Admitted requests may still be fetching: wait for them, not just for the queue.
    await Promise.race([this.#admission.drained(), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    this.#stoppedError = new OverloadedError('The service shut down before this diff finished; retry on another instance', {
      retry_after_seconds: this.#options.retryAfterSeconds,
    });
    for (const stop of this.#jobs.keys()) stop('shutdown');
    const jobsSettled = Promise.all(this.#jobs.values());
    // Stopped before the jobs settle, so that no successor is started for a worker killed now.
    const workersStopped = this.#workers.stop();
    await jobsSettled;
    await workersStopped;
  }

  /** SIGKILLs every worker at once (synchronous): for a process about to exit without draining. */
  killWorkersNow(): void {
    this.#workers.killNow();
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
}

function resultLabel(error: DiffguardError, signal: AbortSignal): JobResultLabel {
  if (signal.aborted && signal.reason === 'aborted') return 'aborted';
  if (error instanceof LimitExceededError) return (error.details.limit as JobResultLabel | undefined) ?? 'error';
  if (error instanceof DeadlineExceededError) return 'deadline';
  if (error instanceof OverloadedError) {
    if (error.details.scope === 'service') return 'memory_budget';
    if (error.details.scope === 'worker_limits') return 'unmeasured';
    return 'shutdown';
  }
  return 'error';
}
