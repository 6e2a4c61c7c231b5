// What the container really has: the cgroup CPU quota and memory limit (v2, then v1).
// os.availableParallelism() reports the host's CPUs, not a CFS quota, so a pod limited
// to 2 CPUs on a 64-core node would otherwise start 64 workers.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** "max 100000" / "200000 100000" (cgroup v2 cpu.max) → CPUs, or undefined for no quota. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  const q = Number(quota);
  const p = Number(period ?? '100000');
  return q > 0 && p > 0 ? q / p : undefined;
}

/** cgroup v1 cfs_quota_us / cfs_period_us → CPUs (quota -1 means none). */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  const q = Number(quotaText.trim());
  const p = Number(periodText.trim());
  return q > 0 && p > 0 ? q / p : undefined;
}

/** memory.max / memory.limit_in_bytes → bytes, or undefined for "no limit". */
export function parseMemoryLimit(text: string): number | undefined {
  const value = text.trim();
  if (value === 'max' || value === '') return undefined;
  const bytes = Number(value);
  // cgroup v1 reports "no limit" as a huge page-aligned number near 2^63.
  return Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 60 ? bytes : undefined;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface ContainerResources {
  /** CPUs usable by this process: min(cgroup quota rounded up, available parallelism). */
  cpus: number;
  /** cgroup memory limit in bytes, if any. */
  memoryLimitBytes: number | undefined;
}

export function readContainerResources(root = '/sys/fs/cgroup'): ContainerResources {
  const v2Cpu = readOptional(`${root}/cpu.max`);
  const v1Quota = readOptional(`${root}/cpu/cpu.cfs_quota_us`);
  const v1Period = readOptional(`${root}/cpu/cpu.cfs_period_us`);
  const quota =
    v2Cpu !== undefined ? parseCpuMax(v2Cpu) : v1Quota !== undefined && v1Period !== undefined ? parseCfsQuota(v1Quota, v1Period) : undefined;
  const parallelism = os.availableParallelism();
  const cpus = quota === undefined ? parallelism : Math.max(1, Math.min(parallelism, Math.ceil(quota)));
  const memoryText = readOptional(`${root}/memory.max`) ?? readOptional(`${root}/memory/memory.limit_in_bytes`);
  return { cpus, memoryLimitBytes: memoryText === undefined ? undefined : parseMemoryLimit(memoryText) };
}
