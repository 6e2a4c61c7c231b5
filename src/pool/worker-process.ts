// One diff worker: a child process with its own V8 heap cap, an OS data-size limit, and a
// parent-side watchdog on its CPU time and resident memory.
//
// Hand-written on child_process.fork rather than taken from tinypool/workerpool because none of
// them offers per-job CPU-time or RSS limits, or tells a V8 out-of-memory death apart from a
// crash; both are needed to answer `LIMIT_EXCEEDED` with the right `limit` (see README, "Worker pool").
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { Socket } from 'node:net';
import { LimitExceededError, InternalError, OverloadedError, deserializeError, type DiffguardError, type JobLimit } from '../errors.ts';
import { encodeFrame, FrameReader, type Frame } from './frame.ts';
import { DATA_CHANNEL_FD, jsonResultFromChunks, type DiffJob, type DiffOutcome, type JobMessage, type JsonJobResult, type WorkerMessage } from './job.ts';
import { sampleMemory, sampleProcess, type ProcessSample } from './proc-stats.ts';

const MiB = 1024 * 1024;
// Node 24 reserves address space (CodeRange etc.) before running any JS, and RLIMIT_DATA counts
// it: the data limit is this baseline plus what the job may really use. Measured on Node 24.21: the
// worker (every diff module loaded, TypeScript source) starts from ~610 MiB, `node -e` from ~580.
// With WORKER_RSS_LIMIT_MIB's minimum (64) the limit is 640 MiB and 832 with the default (256), so
// workers start; where a host still refuses, the pool drops the data limit (see worker-set.ts).
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
  /** Retry-After of the 503s answered when the memory budget stops a job or limits cannot be read. */
  retryAfterSeconds?: number;
}

export interface WorkerProcessOptions {
  /**
   * Niceness added to the main process's for the worker process and every one of its threads (at
   * most 19; 0 = unchanged). Relative, so a worker never gets a higher priority than the main
   * process, even where it would be allowed to (CAP_SYS_NICE). Set on the pid at
   * once, then on each thread (/proc/<pid>/task) once the worker is ready: threads started before
   * the first call (V8's platform workers) do not inherit it, threads started later do.
   */
  niceness?: number;
  /** Reads the worker's CPU time and resident memory (default /proc); tests inject failures. */
  sampleProcess?: (pid: number) => Promise<ProcessSample | undefined>;
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

/** `unmeasured`: its CPU time or memory could not be read, so its limits could not be enforced. */
export type WorkerExitReason = JobLimit | 'memory_budget' | 'unmeasured' | 'crash' | 'recycle' | 'shutdown' | 'startup' | 'aborted';

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

/** Whether a process exists (a zombie counts: its /proc entry is still readable). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #limits: WorkerLimits;
  readonly #sampleProcess: (pid: number) => Promise<ProcessSample | undefined>;
  /** The niceness to give the worker, if any. */
  readonly #niceness: number | undefined;
  /** The data channel (frame.ts): jobs out, answers back. Absent when the process could not be spawned. */
  readonly #channel: Socket | undefined;
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

  constructor(modulePath: string, limits: WorkerLimits, options: WorkerProcessOptions = {}) {
    this.#limits = limits;
    this.#sampleProcess = options.sampleProcess ?? sampleProcess;
    this.#niceness = options.niceness === undefined || options.niceness === 0 ? undefined : Math.min(19, getPriority() + options.niceness);
    const nodeArgs = [`--max-old-space-size=${limits.heapMib}`, `--max-semi-space-size=16`, '--stack-size=984'];
    const dataLimitBytes = (limits.dataLimitMib ?? limits.rssLimitMib + NODE_DATA_BASELINE_MIB) * MiB;
    const withDataLimit = limits.useDataLimit && PRLIMIT_PATH !== undefined;
    // fd 2: stderr (V8's out-of-memory message), fd 3: IPC (unused but for the orphan check), fd 4 (DATA_CHANNEL_FD): the data channel.
    const stdio: ('ignore' | 'pipe' | 'ipc')[] = ['ignore', 'ignore', 'pipe', 'ipc', 'pipe'];
    this.#child = fork(modulePath, [], {
      // prlimit sets RLIMIT_DATA on itself and execs node, so the limit is in force from the
      // first instruction and the IPC channel (fd 3) and data channel (fd 4) are inherited unchanged.
      ...(withDataLimit
        ? { execPath: PRLIMIT_PATH, execArgv: [`--data=${dataLimitBytes}:${dataLimitBytes}`, process.execPath, ...nodeArgs] }
        : { execArgv: nodeArgs }),
      stdio,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    // A socket pair (libuv's 'pipe'), so one descriptor carries both directions.
    this.#channel = (this.#child.stdio[DATA_CHANNEL_FD] as Socket | null) ?? undefined;
    this.#renice(false);
    this.#child.stderr?.setEncoding('utf8');
    this.#child.stderr?.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    this.ready = new Promise((resolve, reject) => {
      const reader = new FrameReader('chunks', (frame) => {
        const message = frame.header as WorkerMessage;
        if (message.type === 'ready') void this.#onReady().then(resolve, () => {});
        else this.#onMessage(message, frame);
      });
      this.#channel?.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch (err) {
          this.#stderrTail += `\n${err instanceof Error ? err.message : String(err)}`;
          this.kill('crash');
        }
      });
      this.#child.once('close', () => reject(new InternalError(`diff worker exited during start-up: ${this.stderrTail || 'no output'}`)));
    });
    this.ready.catch(() => {});
    // Write errors (the worker died mid-job) surface as its exit.
    this.#channel?.on('error', () => {});
    this.#child.on('error', () => {}); // spawn errors surface as 'exit' too
    this.#child.once('exit', () => (this.#exited = true));
    // 'close', not 'exit': it comes after stderr (V8's out-of-memory message) and the data channel
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
    return this.#started && !this.#exited && this.#killReason === undefined && this.#channel !== undefined && this.#channel.writable && !this.#spent;
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
   * The worker said it is ready. It is usable only if its limits can be enforced: its CPU time and
   * memory must be readable (fail closed: otherwise it never takes a job, and counts as a failed
   * start, so a host where /proc cannot be read ends with a broken pool rather than unlimited jobs).
   */
  async #onReady(): Promise<void> {
    const pid = this.#child.pid;
    this.#renice(true);
    const [stats, memory] = pid === undefined ? [undefined, undefined] : await Promise.all([this.#sampleProcess(pid), sampleMemory(pid)]);
    if (stats === undefined || memory === undefined) {
      if (!this.#exited) this.#stderrTail += `\ncannot read the worker's CPU time and memory (/proc/${pid}): its limits could not be enforced`;
      this.kill('startup');
      throw new Error('unmeasurable');
    }
    this.#started = true;
  }

  /** Lowers the worker's scheduling priority: the process (at once) or every thread it has (`allThreads`). */
  #renice(allThreads: boolean): void {
    const pid = this.#child.pid;
    const niceness = this.#niceness;
    if (niceness === undefined || pid === undefined) return;
    let tids = [pid];
    if (allThreads) {
      try {
        tids = readdirSync(`/proc/${pid}/task`).map(Number);
      } catch {
        // No /proc: the main thread's priority (set at spawn) is what there is.
      }
    }
    for (const tid of tids) {
      try {
        setPriority(tid, niceness);
      } catch {
        // The thread or process has already exited.
      }
    }
  }

  /**
   * Runs one job. Rejects with LimitExceededError (cpu/memory/wall) when the job is killed,
   * OverloadedError (scope worker_limits) when its CPU time or memory cannot be read,
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
      if (this.usable && pid !== undefined) start = await this.#sampleProcess(pid);
      // The process may have died or been stopped during that await (or before the job was handed over).
      if (isCurrent() && (!this.usable || pid === undefined)) this.#rejectCurrent(new WorkerGoneError('unavailable'));
      else if (isCurrent() && signal.aborted) this.#rejectCurrent(new InternalError('The job was stopped before it started', { reason: String(signal.reason) }));
      else if (isCurrent() && start === undefined) {
        // Fail closed: a job whose CPU time and memory cannot be measured does not run unlimited.
        this.kill('unmeasured');
        this.#rejectCurrent(exitError('unmeasured', this.#limits, ''));
      } else if (isCurrent()) {
        report.peakRssBytes = start!.rssBytes;
        signal.addEventListener('abort', onAbort, { once: true });
        watchdog = setInterval(() => {
          void this.#sampleProcess(pid!).then((sample) => {
            if (!isCurrent()) return;
            if (sample === undefined) {
              // Unreadable while the process is alive: its limits are off, so stop it (fail closed).
              // A process that is gone is left to its exit, which says why it ended.
              if (processExists(pid!)) this.kill('unmeasured');
              return;
            }
            report.cpuMs = sample.cpuMs - start!.cpuMs;
            report.peakRssBytes = Math.max(report.peakRssBytes, sample.rssBytes);
            if (report.cpuMs > this.#limits.cpuLimitMs) this.kill('cpu');
            else if (sample.rssBytes > this.#limits.rssLimitMib * MiB) this.kill('memory');
          });
        }, this.#limits.watchdogIntervalMs);
        this.jobsRun += 1;
        this.#send(id, job);
      }
      return this.#checkMemoryOutcome(await outcome);
    } finally {
      clearInterval(watchdog);
      signal.removeEventListener('abort', onAbort);
      if (isCurrent()) this.#current = undefined;
      if (entry?.accepted && pid !== undefined && start !== undefined) {
        const [end, endMemory] = await Promise.all([this.#sampleProcess(pid), sampleMemory(pid)]);
        if (end !== undefined) report.cpuMs = Math.max(report.cpuMs, end.cpuMs - start.cpuMs);
        if (endMemory !== undefined) report.endOwnBytes = endMemory.ownBytes;
        // What it keeps cannot be measured: it takes no more jobs.
        else if (end === undefined && processExists(pid)) this.kill('unmeasured');
      }
      options.onReport?.(report);
    }
  }

  /**
   * Writes the job on the data channel: its parameters as the header, the two bodies as the raw
   * payload, from the chunks they arrived in (no copy). The socket queues what the kernel does not
   * take at once and writes it as the worker reads: the main thread never blocks on it.
   */
  #send(id: number, job: DiffJob): void {
    const { body: aBody, ...a } = job.a;
    const { body: bBody, ...b } = job.b;
    const message: JobMessage = {
      type: 'job',
      id,
      diffType: job.diffType,
      a,
      b,
      aBytes: aBody.byteLength,
      bBytes: bBody.byteLength,
      options: job.options,
      ignoreDecodingErrors: job.ignoreDecodingErrors,
    };
    let frame: Uint8Array[];
    try {
      frame = encodeFrame(message, [...aBody.chunks, ...bBody.chunks]);
    } catch (err) {
      this.#rejectCurrent(new InternalError(`The job could not be sent to the diff worker: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    // A broken channel means the worker is going away; its exit settles the job.
    const channel = this.#channel!;
    channel.cork();
    for (const part of frame) channel.write(part);
    channel.uncork();
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

  #onMessage(message: WorkerMessage, frame: Frame): void {
    const current = this.#current;
    if (message.type === 'ready' || current === undefined || current.id !== message.id) return;
    if (!current.accepted) {
      current.accepted = true;
      current.onAccepted?.();
    }
    if (message.type === 'done') {
      this.#current = undefined;
      current.resolve(message.ok ? { ok: true, chunks: frame.chunks, encodings: message.encodings } : { ok: false, error: message.error });
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
    case 'unmeasured':
      // Fail closed, and not the client's fault: the service could not read the worker's CPU time or
      // memory, so it would not run the job without limits. A fresh worker (or another replica) may
      // well manage, hence 503 + Retry-After rather than a 500 that tells clients not to retry;
      // if /proc stays unreadable, new workers fail their start-up check and the pool turns broken.
      return new OverloadedError(
        'The diff was stopped because its worker\'s CPU time or memory could not be read, so its limits could not be enforced; retry later',
        { scope: 'worker_limits', retry_after_seconds: limits.retryAfterSeconds ?? 5 },
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

/** The job's result as JSON text in chunks; throws the job's error. */
export function outcomeToResult(outcome: DiffOutcome): JsonJobResult {
  if (!outcome.ok) throw deserializeError(outcome.error);
  return jsonResultFromChunks(outcome);
}
