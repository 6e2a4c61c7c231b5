// One diff worker: a child process with its own V8 heap cap, an OS data-size limit, and a
// parent-side watchdog on its CPU time and resident memory.
//
// Hand-written on child_process.fork rather than taken from tinypool/workerpool because none of
// them offers per-job CPU-time or RSS limits, or tells a V8 out-of-memory death apart from a
// crash; both are needed to answer `LIMIT_EXCEEDED` with the right `limit` (see README, "Worker pool").
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { LimitExceededError, InternalError, OverloadedError, deserializeError, type DiffguardError, type JobLimit } from '../errors.ts';
import type { ChildMessage, DiffJob, DiffOutcome, JsonJobResult } from './job.ts';
import { sampleMemory, sampleProcess, type ProcessSample } from './proc-stats.ts';

const MiB = 1024 * 1024;
// Node 24 reserves address space (CodeRange etc.) before running any JS, and RLIMIT_DATA counts
// it: the data limit is this baseline plus what the job may really use. Measured on Node 24.21: the
// worker (every diff module loaded, TypeScript source) starts from ~610 MiB, `node -e` from ~580.
// With WORKER_RSS_LIMIT_MIB's minimum (64) the limit is 640 MiB and 832 with the default (256), so
// workers start; where a host still refuses, the pool drops the data limit (see pool.ts).
const NODE_DATA_BASELINE_MIB = 576;
const STDERR_TAIL_BYTES = 8 * 1024;
const PRLIMIT_PATH = ['/usr/bin/prlimit', '/bin/prlimit'].find((path) => existsSync(path));
// V8's fatal out-of-memory messages (it prints one, then aborts).
const V8_OUT_OF_MEMORY = /heap out of memory|Allocation failed|Reached heap limit|Failed to reserve virtual memory/i;

export interface WorkerLimits {
  heapMib: number;
  /** Resident memory (statm: anonymous + file-backed pages) at which the watchdog kills the worker. */
  rssLimitMib: number;
  cpuLimitMs: number;
  /** Wall-clock deadline of a job, queue wait included (for the error message). */
  deadlineMs: number;
  /** How often the watchdog samples /proc while a job runs. */
  watchdogIntervalMs: number;
  /** Apply RLIMIT_DATA through prlimit when available. */
  useDataLimit: boolean;
  /** RLIMIT_DATA in MiB; by default rssLimitMib + the Node baseline above. */
  dataLimitMib?: number;
  /** The pool-wide memory budget, if any (for the error message when it stops a job). */
  memoryBudgetMib?: number;
  /** Retry-After of the 503 answered when the memory budget stops a job. */
  retryAfterSeconds?: number;
}

export interface JobReport {
  cpuMs: number;
  peakRssBytes: number;
  /**
   * The worker's own memory (RssAnon + RssShmem) when the job ended: what it keeps for its next
   * job, without the file pages (the node binary, ~50 MiB) that every worker shares.
   */
  endOwnBytes: number;
}

export type WorkerExitReason = JobLimit | 'memory_budget' | 'crash' | 'recycle' | 'shutdown' | 'startup' | 'aborted';

/** The worker died, or was being stopped, before it took the job: the job never ran, so another worker may run it. */
export class WorkerGoneError extends Error {
  readonly reason: WorkerExitReason | 'unavailable';

  constructor(reason: WorkerExitReason | 'unavailable') {
    super(`the diff worker went away before it took the job (${reason})`);
    this.name = 'WorkerGoneError';
    this.reason = reason;
  }
}

export interface WorkerRunOptions {
  /** Stops (kills) the job. Reason 'wall' or 'shutdown' names the kill; any other is the client's. */
  signal: AbortSignal;
  /** Called when the worker has taken the job: from then on it is running. */
  onAccepted?: () => void;
  /** Called with the job's CPU and memory figures once it has ended, before run() settles. */
  onReport?: (report: JobReport) => void;
}

interface CurrentJob {
  id: number;
  accepted: boolean;
  onAccepted: (() => void) | undefined;
  resolve: (outcome: DiffOutcome) => void;
  reject: (err: Error) => void;
}

export class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #limits: WorkerLimits;
  readonly ready: Promise<void>;
  /** Resolves once the process has exited and its output and messages are all read, with why it exited. */
  readonly exited: Promise<WorkerExitReason>;
  jobsRun = 0;
  #stderrTail = '';
  #killReason: WorkerExitReason | undefined;
  #current: CurrentJob | undefined;
  #nextId = 1;
  #exited = false;
  #started = false;
  #spent = false;

  constructor(modulePath: string, limits: WorkerLimits) {
    this.#limits = limits;
    const nodeArgs = [`--max-old-space-size=${limits.heapMib}`, `--max-semi-space-size=16`, '--stack-size=984'];
    const dataLimitBytes = (limits.dataLimitMib ?? limits.rssLimitMib + NODE_DATA_BASELINE_MIB) * MiB;
    const withDataLimit = limits.useDataLimit && PRLIMIT_PATH !== undefined;
    this.#child = fork(modulePath, [], {
      // prlimit sets RLIMIT_DATA on itself and execs node, so the limit is in force from the
      // first instruction and the IPC channel (fd 3) is inherited unchanged.
      ...(withDataLimit
        ? { execPath: PRLIMIT_PATH, execArgv: [`--data=${dataLimitBytes}:${dataLimitBytes}`, process.execPath, ...nodeArgs] }
        : { execArgv: nodeArgs }),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.#child.stderr?.setEncoding('utf8');
    this.#child.stderr?.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    this.ready = new Promise((resolve, reject) => {
      this.#child.on('message', (message: ChildMessage) => {
        if (message.type !== 'ready') return this.#onMessage(message);
        this.#started = true;
        resolve();
      });
      this.#child.once('close', () => reject(new InternalError(`diff worker exited during start-up: ${this.stderrTail || 'no output'}`)));
    });
    this.ready.catch(() => {});
    this.#child.on('error', () => {}); // spawn errors surface as 'exit' too
    this.#child.once('exit', () => (this.#exited = true));
    // 'close', not 'exit': it comes after stderr (V8's out-of-memory message) and the IPC channel
    // (a last 'accepted' or 'done') are read to the end, so the reason and the job's fate are known.
    this.exited = new Promise((resolve) => {
      this.#child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        this.#exited = true;
        const reason = this.#killReason ?? this.#classifyExit(code, signal);
        const current = this.#current;
        this.#current = undefined;
        current?.reject(current.accepted ? exitError(reason, this.#limits, this.#stderrTail) : new WorkerGoneError(reason));
        resolve(reason);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Started, connected, not stopping, and fit for another job. */
  get usable(): boolean {
    return this.#started && !this.#exited && this.#killReason === undefined && this.#child.connected && !this.#spent;
  }

  /** Holds a job (handed over, running, or ending). */
  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** Its last job ran out of memory inside the worker: the heap may be fragmented, so it takes no more jobs. */
  get spent(): boolean {
    return this.#spent;
  }

  get stderrTail(): string {
    return this.#stderrTail.trim();
  }

  /**
   * Runs one job. Rejects with LimitExceededError (cpu/memory/wall) when the job is killed,
   * InternalError when the worker dies otherwise, and WorkerGoneError when the worker went away
   * before it took the job (the job never ran).
   */
  async run(job: DiffJob, options: WorkerRunOptions): Promise<DiffOutcome> {
    if (this.#current !== undefined) throw new InternalError('worker is busy');
    const { signal } = options;
    const id = this.#nextId++;
    const report: JobReport = { cpuMs: 0, peakRssBytes: 0, endOwnBytes: 0 };
    let entry: CurrentJob | undefined;
    // Registered before any await, so an exit at any point below settles this run.
    const outcome = new Promise<DiffOutcome>((resolve, reject) => {
      entry = { id, accepted: false, onAccepted: options.onAccepted, resolve, reject };
      this.#current = entry;
    });
    outcome.catch(() => {}); // awaited below; an exit may reject it first
    const isCurrent = () => this.#current === entry;
    const pid = this.#child.pid;
    let start: ProcessSample | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const onAbort = () => this.kill(abortKillReason(signal.reason));
    try {
      if (this.usable && pid !== undefined) start = await sampleProcess(pid);
      // The process may have died or been stopped during that await (or before the job was handed over).
      if (isCurrent() && (!this.usable || pid === undefined)) this.#rejectCurrent(new WorkerGoneError('unavailable'));
      else if (isCurrent() && signal.aborted) this.#rejectCurrent(new InternalError('The job was stopped before it started', { reason: String(signal.reason) }));
      else if (isCurrent()) {
        report.peakRssBytes = start?.rssBytes ?? 0;
        signal.addEventListener('abort', onAbort, { once: true });
        watchdog = setInterval(() => {
          void sampleProcess(pid!).then((sample) => {
            if (sample === undefined || !isCurrent()) return;
            report.cpuMs = sample.cpuMs - (start?.cpuMs ?? 0);
            report.peakRssBytes = Math.max(report.peakRssBytes, sample.rssBytes);
            if (report.cpuMs > this.#limits.cpuLimitMs) this.kill('cpu');
            else if (sample.rssBytes > this.#limits.rssLimitMib * MiB) this.kill('memory');
          });
        }, this.#limits.watchdogIntervalMs);
        this.jobsRun += 1;
        try {
          this.#child.send({ type: 'job', id, job }, (err) => {
            // A broken channel means the worker is going away; its exit settles the job.
            if (err && this.#child.connected) this.kill('crash');
          });
        } catch (err) {
          this.#rejectCurrent(new InternalError(`The job could not be sent to the diff worker: ${err instanceof Error ? err.message : String(err)}`));
        }
      }
      return this.#checkMemoryOutcome(await outcome);
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener('abort', onAbort);
      if (isCurrent()) this.#current = undefined;
      if (entry?.accepted && pid !== undefined) {
        const [end, endMemory] = await Promise.all([sampleProcess(pid), sampleMemory(pid)]);
        if (end !== undefined) report.cpuMs = Math.max(report.cpuMs, end.cpuMs - (start?.cpuMs ?? 0));
        if (endMemory !== undefined) report.endOwnBytes = endMemory.ownBytes;
      }
      options.onReport?.(report);
    }
  }

  /** Kills the process (SIGKILL: a runaway job gets no chance to ignore it). Synchronous. */
  kill(reason: WorkerExitReason): void {
    if (this.#exited) return;
    this.#killReason ??= reason;
    this.#child.kill('SIGKILL');
  }

  /** Stops the worker (recycling, shutdown); resolves once it has exited. */
  stop(reason: WorkerExitReason): Promise<WorkerExitReason> {
    this.kill(reason);
    return this.exited;
  }

  #onMessage(message: ChildMessage): void {
    const current = this.#current;
    if (message.type === 'ready' || current === undefined || current.id !== message.id) return;
    if (!current.accepted) {
      current.accepted = true;
      current.onAccepted?.();
    }
    if (message.type === 'done') {
      this.#current = undefined;
      current.resolve(message.outcome);
    }
  }

  #rejectCurrent(err: Error): void {
    const current = this.#current;
    this.#current = undefined;
    current?.reject(err);
  }

  /**
   * A job that ran out of memory inside the worker (an allocation refused under RLIMIT_DATA, a
   * string or array past V8's size caps) is answered like one the watchdog stopped, and the worker
   * takes no more jobs: its heap may be fragmented, and the next job must start from a clean one.
   */
  #checkMemoryOutcome(outcome: DiffOutcome): DiffOutcome {
    if (outcome.ok || outcome.error.type !== 'LIMIT_EXCEEDED' || outcome.error.details.limit !== 'memory') return outcome;
    this.#spent = true;
    const error = exitError('memory', this.#limits, '');
    return { ok: false, error: { type: error.type, message: `${error.message} (${outcome.error.message})`, details: error.details } };
  }

  #classifyExit(code: number | null, signal: NodeJS.Signals | null): WorkerExitReason {
    // Before 'ready', whatever the cause (a data limit too small prints V8's "Failed to reserve
    // virtual memory"), it is a failed start: the pool counts those to drop the data limit or give up.
    if (!this.#started) return 'startup';
    if (V8_OUT_OF_MEMORY.test(this.#stderrTail)) return 'memory';
    if (signal === 'SIGKILL' && code === null) return 'memory'; // the kernel's OOM killer
    return 'crash';
  }
}

function abortKillReason(reason: unknown): WorkerExitReason {
  return reason === 'wall' || reason === 'shutdown' ? reason : 'aborted';
}

export function exitError(reason: WorkerExitReason, limits: WorkerLimits, stderrTail: string): DiffguardError {
  switch (reason) {
    case 'cpu':
      return new LimitExceededError(`The diff used more than ${limits.cpuLimitMs} ms of CPU time and was stopped (JOB_CPU_LIMIT_MS)`, {
        limit: 'cpu',
        limit_value: limits.cpuLimitMs,
        unit: 'ms',
      });
    case 'memory':
      return new LimitExceededError(
        `The diff needed more memory than a worker may use (heap ${limits.heapMib} MiB, WORKER_HEAP_MIB; resident ${limits.rssLimitMib} MiB, WORKER_RSS_LIMIT_MIB) and was stopped`,
        { limit: 'memory', limit_value: limits.rssLimitMib, heap_limit_mib: limits.heapMib, unit: 'MiB' },
      );
    case 'memory_budget':
      // Not the job's own fault: it was the largest when the jobs together (and the main process)
      // went over the budget. With less load, or on another replica, it may well fit.
      return new OverloadedError(
        `The diff was stopped because the diffs running together went over the service's memory budget (${limits.memoryBudgetMib} MiB) and it was the largest; retry later`,
        { scope: 'service', memory_budget_mib: limits.memoryBudgetMib, retry_after_seconds: limits.retryAfterSeconds ?? 5 },
      );
    case 'wall':
      return new LimitExceededError(`The diff did not finish within ${limits.deadlineMs} ms and was stopped (JOB_DEADLINE_MS)`, {
        limit: 'wall',
        limit_value: limits.deadlineMs,
        unit: 'ms',
      });
    default:
      return new InternalError(`The diff worker exited unexpectedly (${reason})`, { worker_output: stderrTail.slice(-500) });
  }
}

/** The job's result (an object, or escaped JSON text for `resultAs: 'json'`); throws the job's error. */
export function outcomeToResult(outcome: DiffOutcome): Record<string, unknown> | JsonJobResult {
  if (!outcome.ok) throw deserializeError(outcome.error);
  return 'json' in outcome ? { json: outcome.json, encodings: outcome.encodings } : outcome.result;
}
