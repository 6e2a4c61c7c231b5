// One diff worker: a child process with its own V8 heap cap, an OS data-size limit, and a
// parent-side watchdog on its CPU time and resident memory.
//
// Hand-written on child_process.fork rather than taken from tinypool/workerpool because none of
// them offers per-job CPU-time or RSS limits, or tells a V8 out-of-memory death apart from a
// crash; both are needed to answer `LIMIT_EXCEEDED` with the right `limit` (see README, "Worker pool").
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { LimitExceededError, InternalError, deserializeError, type DiffguardError, type JobLimit } from '../errors.ts';
import type { ChildMessage, DiffJob, DiffOutcome } from './job.ts';
import { sampleProcess } from './proc-stats.ts';

const MiB = 1024 * 1024;
// Node 24 reserves ~550–600 MiB of address space (CodeRange etc.) before running any JS, and
// RLIMIT_DATA counts it: the data limit is that baseline plus what the job may really use.
const NODE_DATA_BASELINE_MIB = 576;
const STDERR_TAIL_BYTES = 8 * 1024;
const PRLIMIT_PATH = ['/usr/bin/prlimit', '/bin/prlimit'].find((path) => existsSync(path));

export interface WorkerLimits {
  heapMib: number;
  rssLimitMib: number;
  cpuLimitMs: number;
  /** Wall-clock deadline of a job, queue wait included (for the error message). */
  deadlineMs: number;
  /** How often the watchdog samples /proc while a job runs. */
  watchdogIntervalMs: number;
  /** Apply RLIMIT_DATA through prlimit when available. */
  useDataLimit: boolean;
  /** The pool-wide memory budget, if any (for the error message when it stops a job). */
  memoryBudgetMib?: number;
}

export interface JobReport {
  cpuMs: number;
  peakRssBytes: number;
  /** Resident memory when the job ended (what the worker keeps for its next job). */
  endRssBytes: number;
}

export type WorkerExitReason = JobLimit | 'memory_budget' | 'crash' | 'recycle' | 'shutdown' | 'startup' | 'aborted';

export class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #limits: WorkerLimits;
  readonly ready: Promise<void>;
  /** Resolves when the process has exited, with why. */
  readonly exited: Promise<WorkerExitReason>;
  jobsRun = 0;
  #stderrTail = '';
  #killReason: WorkerExitReason | undefined;
  #current: { id: number; resolve: (outcome: DiffOutcome) => void; reject: (err: DiffguardError) => void } | undefined;
  #nextId = 1;
  #alive = true;
  #started = false;

  constructor(modulePath: string, limits: WorkerLimits) {
    this.#limits = limits;
    const nodeArgs = [`--max-old-space-size=${limits.heapMib}`, `--max-semi-space-size=16`, '--stack-size=984'];
    const dataLimitBytes = (limits.rssLimitMib + NODE_DATA_BASELINE_MIB) * MiB;
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
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'ready') {
          this.#child.off('message', onMessage);
          resolve();
        }
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', () => reject(new InternalError(`diff worker exited during start-up: ${this.stderrTail || 'no output'}`)));
    });
    this.ready.then(
      () => (this.#started = true),
      () => {},
    );
    this.#child.on('message', (message: ChildMessage) => this.#onMessage(message));
    this.#child.on('error', () => {}); // spawn errors surface as 'exit' too
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#alive = false;
        const reason = this.#killReason ?? this.#classifyExit(code, signal);
        this.#failCurrent(reason);
        resolve(reason);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Started and able to take jobs. */
  get isReady(): boolean {
    return this.#started && this.#alive;
  }

  get busy(): boolean {
    return this.#current !== undefined;
  }

  get stderrTail(): string {
    return this.#stderrTail.trim();
  }

  /**
   * Runs one job. Rejects with LimitExceededError (cpu/memory/wall) when the job is killed,
   * InternalError when the worker dies otherwise. `signal` aborts (kills) a running job.
   */
  async run(job: DiffJob, signal: AbortSignal, onReport?: (report: JobReport) => void): Promise<DiffOutcome> {
    if (this.#current !== undefined) throw new InternalError('worker is busy');
    await this.ready;
    const id = this.#nextId++;
    this.jobsRun += 1;
    const pid = this.#child.pid!;
    const start = await sampleProcess(pid);
    const report: JobReport = { cpuMs: 0, peakRssBytes: start?.rssBytes ?? 0, endRssBytes: 0 };
    let watchdog: NodeJS.Timeout | undefined;
    const onAbort = () => this.kill(signal.reason === 'wall' ? 'wall' : 'aborted');
    try {
      return await new Promise<DiffOutcome>((resolve, reject) => {
        this.#current = { id, resolve, reject };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        watchdog = setInterval(() => {
          void sampleProcess(pid).then((sample) => {
            if (sample === undefined || this.#current?.id !== id) return;
            report.cpuMs = sample.cpuMs - (start?.cpuMs ?? 0);
            report.peakRssBytes = Math.max(report.peakRssBytes, sample.rssBytes);
            if (report.cpuMs > this.#limits.cpuLimitMs) this.kill('cpu');
            else if (sample.rssBytes > this.#limits.rssLimitMib * MiB) this.kill('memory');
          });
        }, this.#limits.watchdogIntervalMs);
        this.#child.send({ type: 'job', id, job }, (err) => {
          if (err) this.kill('crash');
        });
      });
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener('abort', onAbort);
      this.#current = undefined;
      const end = await sampleProcess(pid);
      if (end !== undefined) {
        report.cpuMs = Math.max(report.cpuMs, end.cpuMs - (start?.cpuMs ?? 0));
        report.endRssBytes = end.rssBytes;
      }
      onReport?.(report);
    }
  }

  /** Kills the process (SIGKILL: a runaway job gets no chance to ignore it). */
  kill(reason: WorkerExitReason): void {
    if (!this.#alive) return;
    this.#killReason ??= reason;
    this.#child.kill('SIGKILL');
  }

  /** Asks an idle worker to exit (recycling, shutdown). */
  stop(reason: WorkerExitReason): Promise<WorkerExitReason> {
    this.kill(reason);
    return this.exited;
  }

  #onMessage(message: ChildMessage): void {
    if (message.type !== 'done' || this.#current?.id !== message.id) return;
    const current = this.#current;
    this.#current = undefined;
    current.resolve(message.outcome);
  }

  #classifyExit(code: number | null, signal: NodeJS.Signals | null): WorkerExitReason {
    // V8's fatal OOM prints "JavaScript heap out of memory" / "Allocation failed" then aborts.
    if (/heap out of memory|Allocation failed|Reached heap limit|Failed to reserve virtual memory/i.test(this.#stderrTail)) return 'memory';
    if (signal === 'SIGKILL' && code === null) return 'memory'; // the kernel's OOM killer
    return this.#current === undefined && this.jobsRun === 0 ? 'startup' : 'crash';
  }

  #failCurrent(reason: WorkerExitReason): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#current = undefined;
    current.reject(exitError(reason, this.#limits, this.#stderrTail));
  }
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
        `The diff needed more memory than a worker may use (heap ${limits.heapMib} MiB, resident ${limits.rssLimitMib} MiB) and was stopped`,
        { limit: 'memory', limit_value: limits.rssLimitMib, heap_limit_mib: limits.heapMib, unit: 'MiB' },
      );
    case 'memory_budget':
      return new LimitExceededError(
        `The diff was stopped because the diffs running together went over the service's memory budget (${limits.memoryBudgetMib} MiB); it was the largest`,
        { limit: 'memory', limit_value: limits.memoryBudgetMib, unit: 'MiB', scope: 'service' },
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

export function outcomeToResult(outcome: DiffOutcome): Record<string, unknown> {
  if (outcome.ok) return outcome.result;
  throw deserializeError(outcome.error);
}
