// The pool's safety rules that a refactor could drop silently: heavy jobs within their share,
// workers at a lower priority, limits that fail closed, the RSS watchdog on its own, the memory
// budget stopping whoever holds the memory, and bodies that reach workers intact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LimitExceededError, OverloadedError } from '../../src/errors.ts';
import { DiffPool, type PoolOptions } from '../../src/pool/index.ts';
import type { MemorySample } from '../../src/pool/proc-stats.ts';
import { sampleProcess } from '../../src/pool/proc-stats.ts';
import { rejectsWith, waitForCondition } from './helpers.ts';
import { bodyOf } from '../../src/body.ts';

const workerModule = fileURLToPath(new URL('../helpers/hostile-worker.ts', import.meta.url));
const MiB = 1024 * 1024;
const encoder = new TextEncoder();

function job(diffType: string, text: string | Uint8Array = 'hello', b: string | Uint8Array = text) {
  return { diffType, a: { body: bodyOf(typeof text === 'string' ? encoder.encode(text) : text) }, b: { body: bodyOf(typeof b === 'string' ? encoder.encode(b) : b) }, options: {}, ignoreDecodingErrors: false };
}

function createPool(overrides: Omit<Partial<PoolOptions>, 'limits'> & { limits?: Partial<PoolOptions['limits']> } = {}) {
  const exits: string[] = [];
  const pool = new DiffPool({
    workers: 1,
    maxQueued: 4,
    maxInFlight: 100,
    maxJobsPerWorker: 100,
    retryAfterSeconds: 7,
    workerModule,
    ...overrides,
    limits: { heapMib: 64, rssLimitMib: 192, cpuLimitMs: 5_000, deadlineMs: 30_000, watchdogIntervalMs: 20, useDataLimit: true, ...overrides.limits },
    observer: { workerExited: (event) => exits.push(event.reason), ...overrides.observer },
  });
  return { pool, exits };
}

const deadline = (ms = 30_000) => ({ deadlineAt: Date.now() + ms });

const waitFor = (condition: () => boolean, timeoutMs = 20_000) => waitForCondition(condition, timeoutMs);

/** The nice value of one thread, from /proc/<pid>/task/<tid>/stat (field 19). */
function threadNice(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('DiffPool: heavy jobs within their share', () => {
  it('answers a small job while large ones hold their share, and refuses a large one past it', async (t) => {
    // 1 worker + 2 queued = 3 places; bodies over 1 KiB are heavy and may hold 2 of them.
    const { pool } = createPool({ maxQueued: 2, heavyJobBytes: 1024 });
    t.after(() => pool.close(0));
    await pool.start();
    const large = 'x'.repeat(2048);
    const heavy = [pool.run(job('test_sleep', '700', large), deadline()), pool.run(job('test_sleep', '700', large), deadline())];
    await rejectsWith(pool.run(job('test_sleep', '700', large), deadline()), (err) => {
      assert.ok(err instanceof OverloadedError, err.message);
      assert.match(err.message, /large jobs hold their share/);
      assert.equal(err.details.retry_after_seconds, 7);
    });
    const small = await pool.run(job('test_echo'), deadline());
    assert.equal(small.diff, 'hello');
    assert.deepEqual((await Promise.all(heavy)).map((r) => r.diff), ['woke', 'woke']);
  });
});

describe('DiffPool: workers yield the CPU to the main process', () => {
  it('runs every worker process, and each of its threads, at the configured niceness', async (t) => {
    const { pool } = createPool({ workers: 2, spareWorkers: 1, workerNiceness: 10 });
    t.after(() => pool.close(0));
    const ownPriority = getPriority();
    await pool.start();
    assert.equal((await pool.run(job('test_echo'), deadline())).diff, 'hello');
    await waitFor(() => pool.workerPids.length === 3);
    for (const pid of pool.workerPids) {
      await waitFor(() => getPriority(pid) === 10, 10_000);
      const tids = readdirSync(`/proc/${pid}/task`).map(Number);
      assert.ok(tids.length > 1);
      assert.deepEqual(tids.map((tid) => threadNice(pid, tid)), tids.map(() => 10), `threads of worker ${pid}`);
    }
    assert.equal(getPriority(), ownPriority, 'the main process keeps its priority');
  });
});

describe('DiffPool: limits fail closed', () => {
  it('replaces a worker whose CPU time or memory cannot be read during a job, and answers 503 (never runs it unlimited)', async (t) => {
    let failing = false;
    let started = 0;
    const { pool, exits } = createPool({ sampleProcess: (pid) => (failing ? Promise.resolve(undefined) : sampleProcess(pid)), observer: { jobStarted: () => (started += 1) } });
    t.after(() => pool.close(0));
    await pool.start();
    const before = (await pool.run(job('test_echo'), deadline())).pid;
    // A job that would run (sleeping) for 20 s if nothing stopped it.
    const running = pool.run(job('test_sleep', '20000'), deadline());
    // Running under the watchdog: the sampler fails from now on.
    await waitFor(() => started === 2);
    failing = true;
    await rejectsWith(running, (err) => {
      assert.ok(err instanceof OverloadedError, `${err.name}: ${err.message}`);
      assert.equal(err.details.scope, 'worker_limits');
      assert.equal(err.details.retry_after_seconds, 7);
      assert.match(err.message, /CPU time or memory could not be read/);
    });
    await waitFor(() => exits.includes('unmeasured'));
    failing = false;
    const after = await pool.run(job('test_echo'), deadline());
    assert.equal(after.diff, 'hello');
    assert.notEqual(after.pid, before, 'the worker was replaced');
  });

  it('does not take a worker whose CPU time cannot be read: the pool turns broken instead', async (t) => {
    const { pool } = createPool({ sampleProcess: () => Promise.resolve(undefined), giveUpAfterMs: 60_000 });
    t.after(() => pool.close(0));
    await assert.rejects(pool.start(), /cannot read the worker's CPU time and memory/);
    assert.match(pool.unavailableReason() ?? '', /^pool broken: .*cannot read/);
  });

  it('stops a job over its resident limit with the watchdog alone (no RLIMIT_DATA; Buffers are outside the heap cap)', async (t) => {
    const { pool, exits } = createPool({ limits: { useDataLimit: false, rssLimitMib: 160 } });
    t.after(() => pool.close(0));
    await pool.start();
    // 220 MiB of written Buffers held for 1.5 s: nothing but the watchdog can stop it.
    await rejectsWith(pool.run(job('test_hold', '220'), deadline()), (err) => {
      assert.ok(err instanceof LimitExceededError, `${err.name}: ${err.message}`);
      assert.equal(err.details.limit, 'memory');
      assert.equal(err.details.limit_value, 160);
    });
    assert.ok(exits.includes('memory'));
  });
});

describe('DiffPool: the memory budget stops whoever holds the memory', () => {
  /** A pool whose memory budget sees the sizes set in `sizes` (MiB), checked only when the test asks. */
  async function budgetedPool(t: { after: (fn: () => Promise<void>) => void }, relieve: () => boolean, sleepMs: number) {
    const sizes = { main: 40, worker: new Map<number, number>() };
    const sampleMemory = (pid: number | 'self'): Promise<MemorySample> =>
      Promise.resolve({ ownBytes: (pid === 'self' ? sizes.main : (sizes.worker.get(pid) ?? 40)) * MiB, fileBytes: pid === 'self' ? 50 * MiB : 45 * MiB });
    let started = 0;
    const { pool, exits } = createPool({ memoryBudgetMib: 300, relieveMainProcess: relieve, memoryBudget: { intervalMs: 3_600_000, sampleMemory }, observer: { jobStarted: () => (started += 1) } });
    t.after(() => pool.close(0));
    await pool.start();
    const running = pool.run(job('test_sleep', String(sleepMs)), deadline());
    running.catch(() => {});
    // Running, not just handed over (a job stopped before its worker took it goes to another worker).
    await waitFor(() => started === 1);
    // Baselines: the main process and the idle worker as they are now.
    assert.equal(await pool.memoryBudget!.check(), 'under');
    return { pool, exits, sizes, running };
  }

  it('asks the main process to give memory back when it is what grew, and leaves the running job alone', async (t) => {
    let relieved = 0;
    const { pool, sizes, running } = await budgetedPool(t, () => {
      relieved += 1;
      return true;
    }, 2_000);
    sizes.main = 400; // bodies or answers held in the main process
    for (const pid of pool.workerPids) sizes.worker.set(pid, 50);
    assert.equal(await pool.memoryBudget!.check(), 'relieved_main');
    assert.equal(relieved, 1);
    // The aborted request's memory comes back with the next garbage collection: meanwhile no
    // further request is aborted, and no job is stopped, for the same growth.
    assert.equal(await pool.memoryBudget!.check(), 'relieving_main');
    assert.equal(relieved, 1);
    assert.equal((await running).diff, 'woke');
  });

  it('stops the largest job when the main process has nothing to give back', async (t) => {
    const { pool, sizes, running } = await budgetedPool(t, () => false, 20_000);
    sizes.main = 400;
    for (const pid of pool.workerPids) sizes.worker.set(pid, 60);
    assert.equal(await pool.memoryBudget!.check(), 'stopped_job');
    await rejectsWith(running, (err) => assert.equal(err.details.scope, 'service'));
  });

  it('stops the job that grew, without bothering the main process', async (t) => {
    let relieved = 0;
    const { pool, sizes, running } = await budgetedPool(t, () => {
      relieved += 1;
      return true;
    }, 20_000);
    for (const pid of pool.workerPids) sizes.worker.set(pid, 300);
    assert.equal(await pool.memoryBudget!.check(), 'stopped_job');
    assert.equal(relieved, 0);
    await rejectsWith(running, (err) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.details.scope, 'service');
    });
  });
});

describe('DiffPool: bodies travel to the worker intact', () => {
  it('hands two 8 MiB bodies over byte for byte, and brings a large result back in chunks', async (t) => {
    const { pool } = createPool({ limits: { rssLimitMib: 256, heapMib: 128 } });
    t.after(() => pool.close(0));
    await pool.start();
    const a = randomBytes(8 * MiB);
    const b = Buffer.from(a);
    assert.equal((await pool.run(job('identical_bytes', a, b), deadline())).diff, true);
    b[b.length - 1]! ^= 1;
    assert.equal((await pool.run(job('identical_bytes', a, b), deadline())).diff, false);
    assert.equal((await pool.run(job('length', a, b.subarray(1)), deadline())).diff, -1);
    // A 3 MiB answer arrives as the chunks the socket read.
    const text = 'é<'.repeat(MiB);
    const result = await pool.admit().runJson(job('test_echo', text, 'b'), deadline());
    assert.ok(result.chunks.length > 1, `${result.chunks.length} chunk(s)`);
    assert.equal(result.byteLength, result.chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    assert.equal(JSON.parse(Buffer.concat(result.chunks).toString('utf8')).diff, text);
    assert.deepEqual(Buffer.from(result.json), Buffer.concat(result.chunks));
  });
});
