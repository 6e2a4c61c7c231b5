import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeadlineExceededError, LimitExceededError, OverloadedError, type DiffguardError } from '../../src/errors.ts';
import { DiffPool, type JobResultLabel, type PoolObserver } from '../../src/pool/index.ts';
import { sampleMemory } from '../../src/pool/proc-stats.ts';
import { WorkerGoneError, WorkerProcess } from '../../src/pool/worker-process.ts';
import { rejectsWith, waitForCondition } from './helpers.ts';
import { bodyOf } from '../../src/body.ts';

const workerModule = fileURLToPath(new URL('../helpers/hostile-worker.ts', import.meta.url));
const failingWorkerModule = fileURLToPath(new URL('./failing-worker.ts', import.meta.url));
const hasPrlimit = ['/usr/bin/prlimit', '/bin/prlimit'].some((path) => existsSync(path));
const encoder = new TextEncoder();

function job(diffType: string, text = 'hello') {
  return { diffType, a: { body: bodyOf(encoder.encode(text)) }, b: { body: bodyOf(encoder.encode(text)) }, options: {}, ignoreDecodingErrors: false };
}

interface PoolOverrides {
  workers?: number;
  maxQueued?: number;
  maxInFlight?: number;
  spareWorkers?: number;
  maxJobsPerWorker?: number;
  cpuLimitMs?: number;
  deadlineMs?: number;
  memoryBudgetMib?: number;
  dataLimitMib?: number;
  giveUpAfterMs?: number;
  workerModule?: string;
  observer?: PoolObserver;
}

type FinishedEvent = Parameters<NonNullable<PoolObserver['jobFinished']>>[0];
type ExitEvent = Parameters<NonNullable<PoolObserver['workerExited']>>[0];

function createPool(overrides: PoolOverrides = {}) {
  const finished: JobResultLabel[] = [];
  const finishedEvents: FinishedEvent[] = [];
  const exits: string[] = [];
  const exitEvents: (ExitEvent & { at: number })[] = [];
  const pool = new DiffPool({
    workers: overrides.workers ?? 1,
    maxQueued: overrides.maxQueued ?? 4,
    maxInFlight: overrides.maxInFlight ?? 100,
    ...(overrides.spareWorkers === undefined ? {} : { spareWorkers: overrides.spareWorkers }),
    maxJobsPerWorker: overrides.maxJobsPerWorker ?? 100,
    retryAfterSeconds: 7,
    workerModule: overrides.workerModule ?? workerModule,
    ...(overrides.memoryBudgetMib === undefined ? {} : { memoryBudgetMib: overrides.memoryBudgetMib }),
    ...(overrides.giveUpAfterMs === undefined ? {} : { giveUpAfterMs: overrides.giveUpAfterMs }),
    limits: {
      heapMib: 64,
      rssLimitMib: 192,
      cpuLimitMs: overrides.cpuLimitMs ?? 3_000,
      deadlineMs: overrides.deadlineMs ?? 20_000,
      watchdogIntervalMs: 20,
      useDataLimit: true,
      ...(overrides.dataLimitMib === undefined ? {} : { dataLimitMib: overrides.dataLimitMib }),
    },
    observer: {
      ...overrides.observer,
      jobFinished: (event) => {
        finished.push(event.result);
        finishedEvents.push(event);
      },
      workerExited: (event) => {
        exits.push(event.reason);
        exitEvents.push({ ...event, at: Date.now() });
      },
    },
  });
  return { pool, finished, finishedEvents, exits, exitEvents };
}

const deadline = (ms = 20_000) => ({ deadlineAt: Date.now() + ms });

const waitFor = (condition: () => boolean, timeoutMs = 10_000) => waitForCondition(condition, timeoutMs);

describe('DiffPool', () => {
  const { pool, finished, exits } = createPool();
  let started: Promise<void>;
  before(() => {
    started = pool.start();
  });
  after(() => pool.close(0));

  it('runs a job in a worker process and returns its result', async () => {
    await started;
    const result = await pool.run(job('test_echo', 'hi'), deadline());
    assert.equal(result.diff, 'hi');
    assert.notEqual(result.pid, process.pid);
  });

  const hostileCases: [string, string, string][] = [
    ['an infinite loop', 'test_spin', 'cpu'],
    ['a catastrophic regex', 'test_regex', 'cpu'],
    ['many small objects until the heap is full', 'test_small_objects', 'memory'],
    ['one huge array (new Array(1e8))', 'test_big_array', 'memory'],
    ['1 GiB of Buffers (outside the V8 heap)', 'test_buffers', 'memory'],
    ['a string past V8\'s length cap (caught inside the worker)', 'test_string_length', 'memory'],
    ['Buffer.allocUnsafe refused by RLIMIT_DATA (caught inside the worker)', 'test_alloc_unsafe', 'memory'],
  ];
  for (const [what, diffType, limit] of hostileCases) {
    it(`stops ${what} with LIMIT_EXCEEDED (${limit}), then serves the next job on a new worker`, async () => {
      await started;
      const before = await pool.run(job('test_echo'), deadline());
      await rejectsWith(pool.run(job(diffType), deadline()), (err) => {
        assert.ok(err instanceof LimitExceededError, `${err.name}: ${err.message}`);
        assert.equal(err.details.limit, limit);
        // The same details whether the watchdog, V8 or an allocation caught inside the worker stopped it.
        assert.equal(err.details.limit_value, limit === 'cpu' ? 3_000 : 192);
        assert.equal(err.details.unit, limit === 'cpu' ? 'ms' : 'MiB');
      });
      const next = await pool.run(job('test_echo'), deadline());
      assert.equal(next.diff, 'hello');
      // Even when the worker survived (an allocation refused and caught), it is not reused.
      assert.notEqual(next.pid, before.pid, 'the worker was replaced');
    });
  }

  for (const [what, diffType] of [
    ['process.exit()', 'test_exit'],
    ['process.abort()', 'test_abort'],
  ]) {
    it(`answers a worker that calls ${what} with INTERNAL, and recovers`, async () => {
      await started;
      await rejectsWith(pool.run(job(diffType!), deadline()), (err) => assert.equal(err.type, 'INTERNAL'));
      assert.equal((await pool.run(job('test_echo'), deadline())).diff, 'hello');
    });
  }

  it('passes a thrown error back without killing the worker', async () => {
    await started;
    const before = await pool.run(job('test_echo'), deadline());
    await rejectsWith(pool.run(job('test_throw'), deadline()), (err) => {
      assert.equal(err.type, 'INTERNAL');
      assert.match(err.message, /a bug in a diff/);
    });
    const next = await pool.run(job('test_echo'), deadline());
    assert.equal(next.pid, before.pid);
  });

  it('reports limit breaches and worker exits to the observer', async () => {
    await started;
    assert.ok(finished.includes('cpu'));
    assert.ok(finished.includes('memory'));
    assert.ok(exits.includes('cpu'));
    assert.ok(exits.includes('memory'));
    assert.ok(exits.includes('crash'));
  });
});

describe('DiffPool deadlines and admission', () => {
  it('stops a job that blocks without using CPU at the wall-clock deadline', async (t) => {
    const { pool } = createPool({ cpuLimitMs: 5_000, deadlineMs: 400 });
    t.after(() => pool.close(0));
    await pool.start();
    await rejectsWith(pool.run(job('test_sleep', '60000'), deadline(400)), (err) => {
      assert.ok(err instanceof LimitExceededError);
      assert.equal(err.details.limit, 'wall');
    });
    assert.equal((await pool.run(job('test_echo'), deadline())).diff, 'hello');
  });

  it('counts queue wait against the deadline: a job that never started gets 504 DEADLINE_EXCEEDED, not a 422', async (t) => {
    const { pool, finished } = createPool({ deadlineMs: 300 });
    t.after(() => pool.close(0));
    await pool.start();
    const blocker = pool.run(job('test_sleep', '700'), deadline(5_000));
    await rejectsWith(pool.run(job('test_echo'), deadline(300)), (err) => {
      // Whether it waits that long depends on the other load, so it is no deterministic 422.
      assert.ok(err instanceof DeadlineExceededError, `${err.name}: ${err.message}`);
      assert.equal(err.details.deadline_ms, 300);
    });
    assert.equal((await blocker).diff, 'woke');
    assert.ok(finished.includes('deadline'));
  });

  it('records the CPU time of a job killed at its wall-clock deadline', async (t) => {
    const { pool, finishedEvents } = createPool({ cpuLimitMs: 60_000, deadlineMs: 800 });
    t.after(() => pool.close(0));
    await pool.start();
    await rejectsWith(pool.run(job('test_spin'), deadline(800)), (err) => assert.equal(err.details.limit, 'wall'));
    const event = finishedEvents.find((e) => e.result === 'wall');
    assert.ok(event?.started);
    // A spinning job on a loaded 2-core machine still gets far more than this in 800 ms.
    assert.ok(event.cpuMs >= 100, `recorded ${event.cpuMs} ms of CPU`);
  });

  it('refuses jobs beyond the queue with OVERLOADED and a retry delay, and readiness reports it', async (t) => {
    const { pool } = createPool({ workers: 1, maxQueued: 2 });
    t.after(() => pool.close(0));
    await pool.start();
    const running = [pool.run(job('test_sleep', '500'), deadline()), pool.run(job('test_echo'), deadline()), pool.run(job('test_echo'), deadline())];
    assert.equal(pool.unavailableReason(), 'queue full');
    await rejectsWith(pool.run(job('test_echo'), deadline()), (err) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.details.retry_after_seconds, 7);
    });
    const results = await Promise.all(running);
    assert.equal(results.length, 3);
    assert.equal(pool.unavailableReason(), undefined);
  });

  it('drops a queued job whose client went away', async (t) => {
    const { pool, finished } = createPool({ workers: 1 });
    t.after(() => pool.close(0));
    await pool.start();
    const blocker = pool.run(job('test_sleep', '300'), deadline());
    const client = new AbortController();
    const queued = pool.run(job('test_echo'), { ...deadline(), signal: client.signal });
    assert.equal(pool.queued, 1);
    client.abort();
    await assert.rejects(queued);
    assert.equal(pool.queued, 0);
    await blocker;
    assert.ok(finished.includes('aborted'));
  });

  it('stops the largest job when all of them together go over the service memory budget', async (t) => {
    // Budget: what this process uses now (its own pages and the shared file pages) and an idle
    // worker's own pages (~41 MiB measured), plus 30 MiB. The job holds 90 MiB: its worker's whole
    // resident set (~92 MiB idle, half of it the shared node binary) stays under its own 192 MiB.
    const main = await sampleMemory('self');
    assert.ok(main !== undefined);
    const idleMib = Math.ceil((main.ownBytes + main.fileBytes) / 1024 / 1024) + 45;
    const { pool: budgeted } = createPool({ memoryBudgetMib: idleMib + 30 });
    t.after(() => budgeted.close(0));
    await budgeted.start();
    assert.equal((await budgeted.run(job('test_hold', '10'), deadline())).diff, 10);
    await rejectsWith(budgeted.run(job('test_hold', '90'), deadline()), (err) => {
      // Stopped for what the jobs used together: with less load it may fit, so 503 + Retry-After.
      assert.ok(err instanceof OverloadedError, err.message);
      assert.equal(err.details.scope, 'service');
      assert.equal(err.details.retry_after_seconds, 7);
    });
    assert.equal((await budgeted.run(job('test_echo'), deadline())).diff, 'hello');
  });

  it('replaces a worker that kept much of a big job\'s memory, and reuses a lean one', async (t) => {
    const { pool, exits } = createPool();
    t.after(() => pool.close(0));
    await pool.start();
    const lean = [(await pool.run(job('test_echo'), deadline())).pid, (await pool.run(job('test_echo'), deadline())).pid];
    assert.equal(lean[0], lean[1]);
    // 80 MiB kept after the job: the worker's own memory (~40 MiB idle) ends over half the 192 MiB
    // resident limit, and its whole resident set (~50 MiB more of shared file pages) under it.
    assert.equal((await pool.run(job('test_retain', '80'), deadline())).diff, 80);
    // Replaced before the next job, so that job starts from a fresh baseline.
    const after = (await pool.run(job('test_echo'), deadline())).pid;
    assert.notEqual(after, lean[1]);
    assert.ok(exits.includes('recycle'));
  });

  it('with a spare, the job after a big one runs at once on a worker started before it, while the replacement starts', async (t) => {
    const { pool, exits } = createPool({ spareWorkers: 1 });
    t.after(() => pool.close(0));
    await pool.start();
    // Clock ticks since boot, as /proc/<pid>/stat counts a process's start.
    const ticksBefore = Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
    const big = await pool.run(job('test_retain', '80'), deadline());
    assert.equal(big.diff, 80);
    const next = (await pool.run(job('test_echo'), deadline())).pid as number;
    assert.notEqual(next, big.pid);
    // The bloated worker is stopped meanwhile (its exit may land after the next job already ran).
    await waitFor(() => exits.includes('recycle'));
    const startTicks = Number(readFileSync(`/proc/${next}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    assert.ok(startTicks <= ticksBefore, `the worker that took the next job started at tick ${startTicks}, after the big job began (${ticksBefore}): no spare`);
  });

  it('counts requests in flight before their job is submitted, without taking queue slots, and gives the place back on release', async (t) => {
    const { pool } = createPool({ workers: 1, maxQueued: 1, maxInFlight: 3 });
    t.after(() => pool.close(0));
    await pool.start();
    // Three requests still fetching (a slow upstream, say): they hold in-flight places, not the queue.
    const fetching = [pool.admit(), pool.admit()];
    assert.equal(pool.unavailableReason(), undefined);
    const third = pool.admit();
    assert.equal(pool.unavailableReason(), 'too many requests in flight');
    assert.throws(() => pool.admit(), (err: DiffguardError) => err.type === 'OVERLOADED');
    third.release();
    third.release();
    assert.equal(pool.admitted, 2);
    assert.equal((await fetching[0]!.run(job('test_echo'), deadline())).diff, 'hello');
    assert.equal(pool.admitted, 1);
    fetching[1]!.release();
    assert.equal(pool.admitted, 0);
  });

  it('refuses a job whose queue filled while its request was fetching, and gives its place back', async (t) => {
    const { pool } = createPool({ workers: 1, maxQueued: 1, maxInFlight: 10 });
    t.after(() => pool.close(0));
    await pool.start();
    const late = pool.admit();
    const busy = [pool.run(job('test_sleep', '400'), deadline()), pool.run(job('test_echo'), deadline())];
    assert.equal(pool.unavailableReason(), 'queue full');
    await rejectsWith(late.run(job('test_echo'), deadline()), (err) => {
      assert.ok(err instanceof OverloadedError);
      assert.match(err.message, /queue full/);
    });
    assert.equal(pool.admitted, 2);
    await Promise.all(busy);
    assert.equal(pool.admitted, 0);
  });

  it('recycles a worker after its maximum number of jobs', async (t) => {
    const { pool, exits } = createPool({ maxJobsPerWorker: 2 });
    t.after(() => pool.close(0));
    await pool.start();
    const pids = [];
    for (let i = 0; i < 3; i += 1) pids.push((await pool.run(job('test_echo'), deadline())).pid);
    // The retiring worker keeps serving until its successor is up: recycling costs no capacity.
    assert.deepEqual(new Set(pids).size, 1);
    await waitFor(() => exits.includes('recycle'));
    assert.notEqual((await pool.run(job('test_echo'), deadline())).pid, pids[0]);
  });

  it('finishes in-flight and queued jobs on close, then refuses new ones', async () => {
    const { pool } = createPool({ workers: 1 });
    await pool.start();
    const inFlight = [pool.run(job('test_sleep', '200'), deadline()), pool.run(job('test_echo'), deadline())];
    const closed = pool.close(5_000);
    await rejectsWith(pool.run(job('test_echo'), deadline()), (err) => assert.equal(err.type, 'OVERLOADED'));
    const results = await Promise.all(inFlight);
    assert.deepEqual(results.map((r) => r.diff), ['woke', 'hello']);
    await closed;
  });
});

describe('DiffPool when workers die between jobs', () => {
  it('gives the jobs queued behind a worker that exits right after answering to its successor', async (t) => {
    const { pool, exits } = createPool({ workers: 1 });
    t.after(() => pool.close(0));
    await pool.start();
    for (let round = 0; round < 4; round += 1) {
      const results = await Promise.all([
        pool.run(job('test_exit_after_answer'), deadline()),
        pool.run(job('test_echo', `first ${round}`), deadline()),
        pool.run(job('test_echo', `second ${round}`), deadline()),
      ]);
      assert.deepEqual(results.map((r) => r.diff), ['answered', `first ${round}`, `second ${round}`]);
      assert.notEqual(results[1]!.pid, results[0]!.pid);
    }
    assert.ok(exits.filter((reason) => reason === 'crash').length >= 4);
  });

  for (const when of ['after its exit was seen', 'as run() begins']) {
    it(`settles run() on a worker killed ${when}, with WorkerGoneError (never hangs, never blames the job)`, async () => {
      const worker = new WorkerProcess(workerModule, { heapMib: 64, rssLimitMib: 192, cpuLimitMs: 3_000, deadlineMs: 20_000, watchdogIntervalMs: 20, useDataLimit: false });
      await worker.ready;
      // Killed from outside (as by the kernel's OOM killer), so the worker object does not know yet.
      process.kill(worker.pid!, 'SIGKILL');
      if (when === 'after its exit was seen') await worker.exited;
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 10_000)));
      const outcome = await Promise.race([worker.run(job('test_echo'), { signal: new AbortController().signal }).then(() => 'ran', (err: unknown) => err), hung]);
      clearTimeout(timer);
      assert.ok(outcome instanceof WorkerGoneError, `run() ended with ${String(outcome)}`);
      await worker.exited;
    });
  }
});

describe('DiffPool start-up failures', () => {
  it('drops RLIMIT_DATA when workers cannot start under it, says so, and serves', { skip: !hasPrlimit && 'no prlimit' }, async (t) => {
    const dropped: string[] = [];
    // 100 MiB of data is far below what Node needs to start (~600 MiB).
    const { pool, exits } = createPool({ dataLimitMib: 100, observer: { dataLimitDropped: (event) => dropped.push(event.output) } });
    t.after(() => pool.close(0));
    await pool.start();
    assert.deepEqual(exits, ['startup', 'startup']);
    assert.equal(dropped.length, 1);
    assert.equal((await pool.run(job('test_echo'), deadline())).diff, 'hello');
    assert.equal(pool.unavailableReason(), undefined);
  });

  it('reports a pool whose workers never start as broken, backs off between attempts, and gives up', async (t) => {
    const gaveUp: { reason: string; brokenForMs: number }[] = [];
    const { pool, exitEvents } = createPool({ workerModule: failingWorkerModule, giveUpAfterMs: 1_500, observer: { gaveUp: (event) => gaveUp.push(event) } });
    t.after(() => pool.close(0));
    const started = Date.now();
    await assert.rejects(pool.start(), /no diff worker could start: .*broken build/);
    assert.match(pool.unavailableReason() ?? '', /^pool broken: .*broken build/);
    assert.throws(() => pool.admit(), (err: DiffguardError) => err.type === 'OVERLOADED');
    await waitFor(() => gaveUp.length > 0);
    assert.match(gaveUp[0]!.reason, /broken build/);
    assert.ok(gaveUp[0]!.brokenForMs >= 1_500);
    const elapsedMs = Date.now() - started;
    // Without a backoff a failing worker is respawned every few tens of ms (56 times in 3 s was measured).
    assert.ok(exitEvents.length <= 10, `${exitEvents.length} failed starts in ${elapsedMs} ms`);
    const gaps = exitEvents.slice(1).map((event, i) => event.at - exitEvents[i]!.at);
    assert.ok(gaps.at(-1)! > gaps[0]!, `the delays grow: ${gaps.join(', ')} ms`);
  });
});

describe('DiffPool shutdown', () => {
  it('answers the jobs still running or queued when the drain runs out with 503 and Retry-After, and stops', async () => {
    const { pool, finished, exitEvents } = createPool({ workers: 1 });
    await pool.start();
    const running = pool.run(job('test_sleep', '10000'), deadline());
    const queued = pool.run(job('test_echo'), deadline());
    const fetching = pool.admit();
    await waitFor(() => pool.active === 1 && pool.queued === 1);
    const closed = pool.close(300);
    for (const answer of await Promise.allSettled([running, queued])) {
      assert.equal(answer.status, 'rejected');
      const err = (answer as PromiseRejectedResult).reason as DiffguardError;
      assert.ok(err instanceof OverloadedError, `${err.name}: ${err.message}`);
      assert.equal(err.details.retry_after_seconds, 7);
    }
    // A request that was still fetching its inputs gets the same answer when it submits its job.
    await rejectsWith(fetching.run(job('test_echo'), deadline()), (err) => assert.equal(err.type, 'OVERLOADED'));
    await closed;
    assert.deepEqual(finished.filter((label) => label === 'shutdown').length, 2);
    // Stopped, not replaced: no worker restart is counted for a shutdown.
    assert.ok(exitEvents.length > 0 && exitEvents.every((event) => !event.replaced));
  });

  it('kills every worker synchronously, busy ones included', async () => {
    const { pool, exitEvents } = createPool({ workers: 2, cpuLimitMs: 60_000 });
    await pool.start();
    const spinning = pool.run(job('test_spin'), deadline());
    await pool.run(job('test_echo'), deadline());
    await waitFor(() => pool.active === 1);
    pool.killWorkersNow();
    await assert.rejects(spinning);
    await waitFor(() => exitEvents.length === 2);
    assert.deepEqual(exitEvents.map((event) => [event.reason, event.replaced]), [['shutdown', false], ['shutdown', false]]);
    await pool.close(0);
  });
});

describe('DiffPool JSON results', () => {
  it('returns the result as escaped JSON text made in the worker', async (t) => {
    const { pool } = createPool();
    t.after(() => pool.close(0));
    await pool.start();
    const { json, encodings } = await pool.admit().runJson(job('test_echo', '<b>&</b>'), deadline());
    const text = Buffer.from(json).toString('utf8');
    assert.deepEqual(encodings, {}); // test_echo reads the bytes: nothing was decoded
    assert.match(text, /^\{"diff":"\\u003cb\\u003e\\u0026\\u003c\/b\\u003e","pid":\d+\}$/);
    assert.equal(JSON.parse(text).diff, '<b>&</b>');
  });
});
