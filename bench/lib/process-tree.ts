// CPU time and resident memory of a process and all its descendants, read from /proc (Linux).
// The service's diff workers are its children; a recycled or killed worker's CPU moves into the
// parent's cutime/cstime once reaped, so root(self + reaped children) + live descendants stays
// continuous across worker restarts.
import { readdir, readFile } from 'node:fs/promises';

// USER_HZ is 100 on every mainstream Linux ABI; sysconf is not reachable from Node.
const CLOCK_TICKS_PER_SECOND = 100;

export interface TreeSample {
  /** Sum of VmRSS over the process and its live descendants, in bytes (shared pages such as the node binary count once per process). */
  rssBytes: number;
  /** Sum of PSS (shared pages split between their users): closer to what a cgroup is charged. */
  pssBytes: number;
  /** User + system CPU of the process, its reaped children and its live descendants, in seconds. */
  cpuSeconds: number;
  /** Pids sampled (root first). */
  pids: number[];
}

/** Fields after the parenthesised command name of /proc/<pid>/stat (the name may hold spaces). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime, stime, cutime, cstime in seconds (stat fields 14–17 are at 11–14 after field 3). */
export function parseStatCpu(stat: string): { self: number; reapedChildren: number } {
  const fields = statFields(stat).slice(11, 15).map(Number);
  const [utime = NaN, stime = NaN, cutime = NaN, cstime = NaN] = fields;
  return { self: (utime + stime) / CLOCK_TICKS_PER_SECOND, reapedChildren: (cutime + cstime) / CLOCK_TICKS_PER_SECOND };
}

export function parseVmRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

export function parsePssBytes(smapsRollup: string): number {
  const match = /^Pss:\s+(\d+)\s+kB/m.exec(smapsRollup);
  return match ? Number(match[1]) * 1024 : 0;
}

async function childPids(pid: number): Promise<number[]> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const lists = await Promise.all(tasks.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')));
  return lists.flatMap((text) => text.split(' ').filter((s) => s.trim() !== '').map(Number));
}

/** The process and all its live descendants, breadth first (iterative: no recursion depth limit). */
export async function processTree(rootPid: number): Promise<number[]> {
  const seen: number[] = [rootPid];
  for (let i = 0; i < seen.length && i < 1000; i++) {
    for (const child of await childPids(seen[i]!)) if (!seen.includes(child)) seen.push(child);
  }
  return seen;
}

/** Samples the tree; undefined when the root process is gone. */
export async function sampleTree(rootPid: number): Promise<TreeSample | undefined> {
  const pids = await processTree(rootPid);
  let rssBytes = 0;
  let pssBytes = 0;
  let cpuSeconds = 0;
  let rootSeen = false;
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const [stat, status, smaps] = await Promise.all([
          readFile(`/proc/${pid}/stat`, 'utf8'),
          readFile(`/proc/${pid}/status`, 'utf8'),
          readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => ''),
        ]);
        const cpu = parseStatCpu(stat);
        // A live descendant's reaped children are not yet in the root's cutime, so they count here.
        cpuSeconds += cpu.self + cpu.reapedChildren;
        rssBytes += parseVmRssBytes(status);
        pssBytes += parsePssBytes(smaps);
        if (pid === rootPid) rootSeen = true;
      } catch {
        // The process exited between listing and reading: its CPU reaches the parent's cutime when reaped.
      }
    }),
  );
  return rootSeen ? { rssBytes, pssBytes, cpuSeconds, pids } : undefined;
}

export interface MemoryPeak {
  rssBytes: number;
  pssBytes: number;
}

/** Polls the tree's memory and remembers the peaks; a sample is skipped while one is still running. */
export class RssPeakSampler {
  readonly #rootPid: number;
  readonly #timer: NodeJS.Timeout;
  #busy: Promise<void> | undefined;
  #sinceMark: MemoryPeak = { rssBytes: 0, pssBytes: 0 };
  #overall: MemoryPeak = { rssBytes: 0, pssBytes: 0 };

  constructor(rootPid: number, intervalMs = 50) {
    this.#rootPid = rootPid;
    this.#timer = setInterval(() => void this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): Promise<void> {
    this.#busy ??= (async () => {
      try {
        const sample = await sampleTree(this.#rootPid);
        if (sample === undefined) return;
        for (const peak of [this.#sinceMark, this.#overall]) {
          peak.rssBytes = Math.max(peak.rssBytes, sample.rssBytes);
          peak.pssBytes = Math.max(peak.pssBytes, sample.pssBytes);
        }
      } finally {
        this.#busy = undefined;
      }
    })();
    return this.#busy;
  }

  get overall(): MemoryPeak {
    return { ...this.#overall };
  }

  /** Peak since the previous call (after one fresh sample), and starts a new window. */
  async takePeak(): Promise<MemoryPeak> {
    await this.#sample();
    const peak = this.#sinceMark;
    this.#sinceMark = { rssBytes: 0, pssBytes: 0 };
    return peak;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
