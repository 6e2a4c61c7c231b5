// What a diff costs inside a worker process, against the same job run in this process: the 20
// corpus pairs go through a real one-worker DiffPool (the service's default worker limits and
// V8 flags, the production malloc settings), and the worker's CPU time is read from /proc: all its
// threads (V8's GC and compiler threads included) and any worker replaced meanwhile (recycled after
// a job that left it bloated, restarted). Then runJob (decode, diff, JSON answer) runs the same jobs
// in this process. The difference is what the worker side adds: the frames on the data channel,
// the socket, the worker's heap settings and their garbage collection.
//
//   ./node_modules/.bin/node bench/worker-overhead.ts [diff type] [--rounds N] [--runs N] [--dist]
//
// Default html_source_dmp, 10 rounds of the 20 pairs per run, 5 runs; --dist runs the built worker
// (dist/, as `npm start` and the image do; `npm run build` first), else the TypeScript sources.
// Prints CPU ms per job as the median and the lowest of the runs: the worker process, its main
// thread (and that thread's system time and minor page faults: each first touch of a fresh page
// costs a fault), its other threads, then runJob in this process. CPU time, not wall time: run it on a
// quiet machine and compare medians of several runs.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bodyOf } from '../src/body.ts';
import { loadConfig } from '../src/config.ts';
import { diffTypes } from '../src/diff/index.ts';
import { diffSettingsFrom } from '../src/http/app.ts';
import type { DiffJob } from '../src/pool/job.ts';
import { runJob, type ReceivedJob } from '../src/pool/worker-runtime.ts';
import { corpusDir, loadPagePairs } from './lib/corpus.ts';
import { PRODUCTION_MALLOC_ENV } from './lib/service-process.ts';

const args = process.argv.slice(2);
const optionValue = (name: string): number | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : Number(args[at + 1]);
};
const VALUE_OPTIONS = new Set(['--rounds', '--runs']);
const diffType = args.find((arg, index) => !arg.startsWith('--') && !VALUE_OPTIONS.has(args[index - 1] ?? '')) ?? 'html_source_dmp';
const rounds = optionValue('--rounds') ?? 10;
const runs = optionValue('--runs') ?? 5;
const fromDist = args.includes('--dist');
const definition = diffTypes.get(diffType);
if (definition === undefined) throw new Error(`unknown diff type ${diffType}`);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The pool from the build runs the built worker (its module is found next to the pool's).
const poolModule = fromDist ? path.join(repoRoot, 'dist', 'src', 'pool', 'index.js') : path.join(repoRoot, 'src', 'pool', 'index.ts');
const { DiffPool } = (await import(poolModule)) as typeof import('../src/pool/index.ts');
// Workers inherit this environment: the image's malloc settings, as the service's workers get them.
Object.assign(process.env, PRODUCTION_MALLOC_ENV);

const config = loadConfig({});
const options = definition.parseOptions({}, diffSettingsFrom(config));
const contentType = 'text/html; charset=utf-8';
// The same jobs as the pool takes them (bodies as chunk lists) and as a worker has them (one buffer each).
const received: ReceivedJob[] = loadPagePairs(corpusDir(repoRoot)).map((pair) => ({
  diffType,
  a: { bytes: pair.a, contentType },
  b: { bytes: pair.b, contentType },
  options,
  ignoreDecodingErrors: false,
}));
const jobs: DiffJob[] = received.map(({ a, b, ...job }) => ({ ...job, a: { contentType, body: bodyOf(a.bytes) }, b: { contentType, body: bodyOf(b.bytes) } }));

const CLOCK_TICK_MS = 10;
/** utime, stime (ms) and minor faults of a /proc stat file; children: the reaped children's times instead. */
function readStat(file: string, children = false): { cpuMs: number; systemMs: number; minorFaults: number } {
  const text = readFileSync(file, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
  // Fields from the 3rd (state): minflt is the 10th, utime the 14th, stime the 15th, cutime and cstime the 16th and 17th.
  const [user, system] = children ? [fields[13]!, fields[14]!] : [fields[11]!, fields[12]!];
  return { cpuMs: (user + system) * CLOCK_TICK_MS, systemMs: system * CLOCK_TICK_MS, minorFaults: fields[7]! };
}

function childPids(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
}

/** CPU ms of every worker so far: the live ones, and the reaped ones (this process's children times). */
function workersCpuMs(): number {
  let total = readStat('/proc/self/stat', true).cpuMs;
  for (const pid of childPids()) {
    try {
      total += readStat(`/proc/${pid}/stat`).cpuMs;
    } catch {
      // Exited between the listing and the read: counted once reaped.
    }
  }
  return total;
}

interface ThreadTimes {
  mainCpuMs: number;
  mainSystemMs: number;
  mainMinorFaults: number;
  otherCpuMs: number;
}

function threadTimes(pid: number): ThreadTimes {
  const times: ThreadTimes = { mainCpuMs: 0, mainSystemMs: 0, mainMinorFaults: 0, otherCpuMs: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (Number(tid) === pid) {
      times.mainCpuMs = stat.cpuMs;
      times.mainSystemMs = stat.systemMs;
      times.mainMinorFaults = stat.minorFaults;
    } else {
      times.otherCpuMs += stat.cpuMs;
    }
  }
  return times;
}

function rssAnonMib(pid: number): number {
  const match = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

const pool = new DiffPool({
  workers: 1,
  maxQueued: 4,
  maxInFlight: 4,
  maxJobsPerWorker: config.workerMaxJobs,
  retryAfterSeconds: 1,
  limits: {
    heapMib: config.workerHeapMib,
    rssLimitMib: config.workerRssLimitMib,
    cpuLimitMs: config.jobCpuLimitMs,
    deadlineMs: config.jobDeadlineMs,
    watchdogIntervalMs: 20,
    useDataLimit: true,
  },
});
await pool.start();

async function runRounds(count: number): Promise<void> {
  for (let round = 0; round < count; round += 1) {
    for (const job of jobs) await pool.admit().runJson(job, { deadlineAt: Date.now() + config.jobDeadlineMs });
  }
}

const perJob = { worker: [] as number[], main: [] as number[], mainSystem: [] as number[], mainFaults: [] as number[], other: [] as number[], inProcess: [] as number[] };
const rss: number[] = [];
const jobsPerRun = rounds * jobs.length;
let replacedRuns = 0;
try {
  await runRounds(3); // warm-up: the worker's JIT, its heap at its working size
  for (let run = 0; run < runs; run += 1) {
    const pid = pool.workerPids[0]!;
    const restarts = pool.restarts;
    const cpuBefore = workersCpuMs();
    const threadsBefore = threadTimes(pid);
    await runRounds(rounds);
    perJob.worker.push((workersCpuMs() - cpuBefore) / jobsPerRun);
    if (pool.restarts !== restarts || pool.workerPids[0] !== pid) {
      // The worker's threads were not all seen: only the process total counts for this run.
      replacedRuns += 1;
      continue;
    }
    const threadsAfter = threadTimes(pid);
    perJob.main.push((threadsAfter.mainCpuMs - threadsBefore.mainCpuMs) / jobsPerRun);
    perJob.mainSystem.push((threadsAfter.mainSystemMs - threadsBefore.mainSystemMs) / jobsPerRun);
    perJob.mainFaults.push((threadsAfter.mainMinorFaults - threadsBefore.mainMinorFaults) / jobsPerRun);
    perJob.other.push((threadsAfter.otherCpuMs - threadsBefore.otherCpuMs) / jobsPerRun);
    rss.push(rssAnonMib(pid));
  }
} finally {
  await pool.close(0);
}

for (let round = 0; round < 3; round += 1) for (const job of received) await runJob(diffTypes, job);
for (let run = 0; run < runs; run += 1) {
  const start = process.cpuUsage();
  for (let round = 0; round < rounds; round += 1) for (const job of received) await runJob(diffTypes, job);
  const used = process.cpuUsage(start);
  perJob.inProcess.push((used.user + used.system) / 1000 / jobsPerRun);
}

const median = (values: number[]) => (values.length === 0 ? Number.NaN : [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!);
const row = (label: string, values: number[], digits = 2) => `| ${label} | ${median(values).toFixed(digits)} | ${Math.min(...values).toFixed(digits)} |`;
console.log(`${diffType} (${fromDist ? 'dist' : 'sources'}): ${jobs.length} pairs, ${rounds} rounds per run, ${runs} runs; worker heap ${config.workerHeapMib} MiB`);
console.log('| per job | median | lowest |\n| --- | --- | --- |');
console.log(row('worker process CPU ms (all threads, replaced workers included)', perJob.worker));
console.log(row('  its main thread, CPU ms', perJob.main));
console.log(row('    of which system ms', perJob.mainSystem));
console.log(row('    minor page faults', perJob.mainFaults, 0));
console.log(row('  its other threads (GC, compiler), CPU ms', perJob.other));
console.log(row('runJob in this process, CPU ms (all threads)', perJob.inProcess));
console.log(`worker RssAnon after each run (MiB): ${rss.map((mib) => mib.toFixed(0)).join(' ')}; runs with a worker replaced: ${replacedRuns}`);
