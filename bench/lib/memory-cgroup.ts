// A memory cgroup of the pod's size for the service under `npm run hostile`: what a container's
// memory limit really is. The PSS the replay samples is an estimate; the kernel's OOM killer in a
// cgroup is the real judge. Made under this process's own cgroup (v2 if its memory controller can be
// used there, else v1), removed at the end. Where none can be made (no permission, no controller),
// `createMemoryCgroup` says why and the replay runs without one.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MemoryCgroup {
  version: 1 | 2;
  dir: string;
  limitBytes: number;
  /** Write a pid here to move that process (and the children it spawns afterwards) into the cgroup. */
  procsFile: string;
  /** OOM kills inside the cgroup so far, and its peak memory charge (undefined where the kernel has no counter). */
  read(): { oomKills: number; peakBytes: number | undefined };
  remove(): Promise<void>;
}

interface Mount {
  mountPoint: string;
  root: string;
  fsType: string;
  superOptions: string[];
}

function mounts(): Mount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(' - cgroup'))
    .map((line) => {
      const [before, after] = line.split(' - ') as [string, string];
      const fields = before.split(' ');
      const [fsType, , superOptions = ''] = after.split(' ');
      return { root: fields[3]!, mountPoint: fields[4]!, fsType: fsType!, superOptions: superOptions.split(',') };
    });
}

/** This process's cgroup path in the hierarchy with `controller` (v1), or the unified one ('' for v2). */
function ownCgroupPath(controller: string): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, cgroupPath] = line.split(':') as [string, string, string];
    if (cgroupPath === undefined) continue;
    if (controllers.split(',').includes(controller)) return cgroupPath;
  }
  return undefined;
}

function onDisk(mount: Mount, cgroupPath: string): string {
  // A mount's root may itself be a sub-cgroup (containers): paths in /proc/self/cgroup include it.
  const relative = mount.root !== '/' && cgroupPath.startsWith(mount.root) ? cgroupPath.slice(mount.root.length) : cgroupPath;
  return path.join(mount.mountPoint, relative);
}

function readNumber(file: string, key?: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    if (key === undefined) return Number(text.trim());
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function removeDir(dir: string, parentProcs: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    }
    // Processes still exiting; after 5 s, move any left-over ones out so the cgroup can go.
    if (attempt === 20) {
      for (const pid of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(parentProcs, pid);
        } catch {
          // it exited meanwhile
        }
      }
    }
    await sleep(250);
  }
  rmdirSync(dir);
}

function tryV2(name: string, limitBytes: number): MemoryCgroup | string {
  const mount = mounts().find((m) => m.fsType === 'cgroup2');
  if (mount === undefined) return 'no cgroup v2 mount';
  const own = ownCgroupPath('');
  if (own === undefined) return 'no cgroup v2 entry in /proc/self/cgroup';
  const parent = onDisk(mount, own);
  const controllers = readFileSync(path.join(parent, 'cgroup.controllers'), 'utf8').split(/\s+/);
  if (!controllers.includes('memory')) return `cgroup v2: no memory controller in ${parent}`;
  const subtree = readFileSync(path.join(parent, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
  if (!subtree.includes('memory')) {
    try {
      writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+memory');
    } catch (err) {
      return `cgroup v2: cannot enable the memory controller under ${parent} (${(err as NodeJS.ErrnoException).code})`;
    }
  }
  const dir = path.join(parent, name);
  try {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'memory.max'), String(limitBytes));
    if (existsSync(path.join(dir, 'memory.swap.max'))) writeFileSync(path.join(dir, 'memory.swap.max'), '0');
  } catch (err) {
    return `cgroup v2: cannot make ${dir} (${(err as NodeJS.ErrnoException).code})`;
  }
  return {
    version: 2,
    dir,
    limitBytes,
    procsFile: path.join(dir, 'cgroup.procs'),
    read: () => ({ oomKills: readNumber(path.join(dir, 'memory.events'), 'oom_kill') ?? 0, peakBytes: readNumber(path.join(dir, 'memory.peak')) }),
    remove: () => removeDir(dir, path.join(parent, 'cgroup.procs')),
  };
}

function tryV1(name: string, limitBytes: number): MemoryCgroup | string {
  const mount = mounts().find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  if (mount === undefined) return 'no cgroup v1 memory mount';
  const own = ownCgroupPath('memory');
  if (own === undefined) return 'no memory entry in /proc/self/cgroup';
  const parent = onDisk(mount, own);
  const dir = path.join(parent, name);
  try {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    // Memory + swap at the same limit: no swapping out of the limit (where swap accounting exists).
    if (existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
  } catch (err) {
    return `cgroup v1: cannot make ${dir} (${(err as NodeJS.ErrnoException).code})`;
  }
  return {
    version: 1,
    dir,
    limitBytes,
    procsFile: path.join(dir, 'cgroup.procs'),
    read: () => ({ oomKills: readNumber(path.join(dir, 'memory.oom_control'), 'oom_kill') ?? 0, peakBytes: readNumber(path.join(dir, 'memory.max_usage_in_bytes')) }),
    remove: () => removeDir(dir, path.join(parent, 'cgroup.procs')),
  };
}

/** A fresh memory cgroup limited to `limitBytes`, or why none could be made. */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | { unavailable: string } {
  const reasons: string[] = [];
  for (const attempt of [tryV2, tryV1]) {
    let made: MemoryCgroup | string;
    try {
      made = attempt(name, limitBytes);
    } catch (err) {
      made = String((err as Error).message);
    }
    if (typeof made !== 'string') return made;
    reasons.push(made);
  }
  return { unavailable: reasons.join('; ') };
}
