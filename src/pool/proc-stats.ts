// CPU time and resident memory of a process, read from /proc (Linux). A child's own
// counters are what a per-job limit must be measured on: wall time inflates on shared
// cores, and process.cpuUsage() in the parent cannot see the child.
import { readFileSync } from 'node:fs';

// USER_HZ is 100 on every mainstream Linux ABI (x86, arm64), and sysconf is not reachable from Node.
const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_SIZE_BYTES = 4096;

export interface ProcessSample {
  /** User + system CPU time of the process so far, in ms. */
  cpuMs: number;
  /** Resident set size, in bytes. */
  rssBytes: number;
}

/** Parses /proc/<pid>/stat: fields after the parenthesised command name (which may hold spaces). */
export function parseStatCpuMs(stat: string): number {
  const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime) are at index 11 and 12 after field 3 (state).
  const utime = Number(afterName[11]);
  const stime = Number(afterName[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat: ${stat.slice(0, 80)}`);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Parses /proc/<pid>/stat: field 24 (rss) is resident pages, as statm's second field. */
export function parseStatRssBytes(stat: string): number {
  const resident = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[21]);
  if (!Number.isFinite(resident)) throw new Error(`unreadable /proc stat: ${stat.slice(0, 80)}`);
  return resident * PAGE_SIZE_BYTES;
}

/** Parses /proc/<pid>/statm: the second field is resident pages. */
export function parseStatmRssBytes(statm: string): number {
  const resident = Number(statm.split(' ')[1]);
  if (!Number.isFinite(resident)) throw new Error(`unreadable /proc statm: ${statm.slice(0, 80)}`);
  return resident * PAGE_SIZE_BYTES;
}

/**
 * Memory of a process from /proc/<pid>/status, split as the kernel accounts it: anonymous and
 * shared-memory pages are the process's own, file-backed pages (the node binary, libraries) are
 * shared by every process that maps them and charged to the container once.
 */
export interface MemorySample {
  /** RssAnon + RssShmem: what this process adds to the container's memory. */
  ownBytes: number;
  /** RssFile: mapped file pages, mostly shared with the other Node processes. */
  fileBytes: number;
}

/** Parses the Rss* lines of /proc/<pid>/status (values in kB). */
export function parseStatusMemory(status: string): MemorySample {
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`no ${field} in /proc status`);
    return Number(match[1]) * 1024;
  };
  return { ownBytes: kib('RssAnon') + kib('RssShmem'), fileBytes: kib('RssFile') };
}

/**
 * Samples a process's memory split; undefined when /proc is unavailable or the process is gone.
 * Read synchronously, as sampleProcess reads stat (below): the memory budget samples every process
 * every 50 ms while requests are in flight, and /proc/<pid>/status is made from the process's
 * counters without waiting on its memory-map lock.
 */
export async function sampleMemory(pid: number | 'self'): Promise<MemorySample | undefined> {
  try {
    return parseStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Samples a live process; undefined when /proc is unavailable or the process is gone. One file,
 * read synchronously: the watchdog samples every running worker every 20 ms, and an asynchronous
 * read costs four thread-pool round trips (open, stat, read, close) of main-thread callbacks where
 * this is three syscalls of a few microseconds. /proc/<pid>/stat never waits on a disk, nor on the
 * target's memory-map lock (its CPU and resident counters are read without it).
 */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { cpuMs: parseStatCpuMs(stat), rssBytes: parseStatRssBytes(stat) };
  } catch {
    return undefined;
  }
}
