import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LimitExceededError, OverloadedError, type DiffguardError } from '../../src/errors.ts';
import { DiffPool, type JobResultLabel } from '../../src/pool/index.ts';

const workerModule = fileURLToPath(new URL('../helpers/hostile-worker.ts', import.meta.url));
const encoder = new TextEncoder();

function job(diffType: string, text = 'hello') {
  return { diffType, a: { bytes: encoder.encode(text) }, b: { bytes: encoder.encode(text) }, options: {}, ignoreDecodingErrors: false };
}

function createPool(overrides: { workers?: number; maxQueued?: number; maxJobsPerWorker?: number; cpuLimitMs?: number; deadlineMs?: number; memoryBudgetMib?: number } = {}) {
  const finished: JobResultLabel[] = [];
  const exits: string[] = [];
  const pool = new DiffPool({
    workers: overrides.workers ?? 1,
    maxQueued: overrides.maxQueued ?? 4,
    maxJobsPerWorker: overrides.maxJobsPerWorker ?? 100,
    retryAfterSeconds: 7,
    workerModule,
    ...(overrides.memoryBudgetMib === undefined ? {} : { memoryBudgetMib: overrides.memoryBudgetMib }),
    limits: {
      heapMib: 64,
      rssLimitMib: 192,
      cpuLimitMs: overrides.cpuLimitMs ?? 3_000,
      deadlineMs: overrides.deadlineMs ?? 20_000,
      watchdogIntervalMs: 20,
      useDataLimit: true,
    },
    observer: {
      jobFinished: (event) => finished.push(event.result),
      workerExited: (event) => exits.push(event.reason),
    },
  });
  return { pool, finished, exits };
}

const deadline = (ms = 20_000) => ({ deadlineAt: Date.now() + ms });

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejectsWith(promise: Promise<unknown>, check: (err: DiffguardError) => void): Promise<void> {
  await assert.rejects(promise, (err: DiffguardError) => {
    check(err);
    return true;
  });
}

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
  ];
  for (const [what, diffType, limit] of hostileCases) {
    it(`stops ${what} with LIMIT_EXCEEDED (${limit}), then serves the next job on a new worker`, async () => {
      await started;
      const before = await pool.run(job('test_echo'), deadline());
      await rejectsWith(pool.run(job(diffType), deadline()), (err) => {
        assert.ok(err instanceof LimitExceededError, `${err.name}: ${err.message}`);
        assert.equal(err.details.limit, limit);
      });
      const next = await pool.run(job('test_echo'), deadline());
      assert.equal(next.diff, 'hello');
      if (limit !== 'memory' || diffType !== 'test_buffers') assert.notEqual(next.pid, before.pid, 'the worker was replaced');
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

  it('counts queue wait against the deadline', async (t) => {
    const { pool } = createPool({ deadlineMs: 300 });
    t.after(() => pool.close(0));
    await pool.start();
    const blocker = pool.run(job('test_sleep', '700'), deadline(5_000));
    await rejectsWith(pool.run(job('test_echo'), deadline(300)), (err) => assert.equal(err.details.limit, 'wall'));
    assert.equal((await blocker).diff, 'woke');
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
    // Budget: what this process and an idle worker use now, plus 60 MiB; the job holds 120 MiB,
    // well under its own 192 MiB resident limit.
    const idleMib = Math.ceil(process.memoryUsage.rss() / 1024 / 1024) + 80;
    const { pool: budgeted } = createPool({ memoryBudgetMib: idleMib + 60 });
    t.after(() => budgeted.close(0));
    await budgeted.start();
    assert.equal((await budgeted.run(job('test_hold', '10'), deadline())).diff, 10);
    await rejectsWith(budgeted.run(job('test_hold', '120'), deadline()), (err) => {
      assert.ok(err instanceof LimitExceededError, err.message);
      assert.equal(err.details.limit, 'memory');
      assert.equal(err.details.scope, 'service');
    });
    assert.equal((await budgeted.run(job('test_echo'), deadline())).diff, 'hello');
  });

  it('replaces a worker that kept much of a big job\'s memory, and reuses a lean one', async (t) => {
    const { pool, exits } = createPool();
    t.after(() => pool.close(0));
    await pool.start();
    const lean = [(await pool.run(job('test_echo'), deadline())).pid, (await pool.run(job('test_echo'), deadline())).pid];
    assert.equal(lean[0], lean[1]);
    // 100 MiB held to the end of the job: over half the 192 MiB resident limit, under the whole.
    assert.equal((await pool.run(job('test_hold', '100'), deadline())).diff, 100);
    // Replaced before the next job, so that job starts from a fresh baseline.
    const after = (await pool.run(job('test_echo'), deadline())).pid;
    assert.notEqual(after, lean[1]);
    assert.ok(exits.includes('recycle'));
  });

  it('counts requests admitted before their job is submitted, and gives the place back on release', async (t) => {
    const { pool } = createPool({ workers: 1, maxQueued: 1 });
    t.after(() => pool.close(0));
    await pool.start();
    const first = pool.admit();
    const second = pool.admit();
    assert.equal(pool.unavailableReason(), 'queue full');
    assert.throws(() => pool.admit(), (err: DiffguardError) => err.type === 'OVERLOADED');
    second.release();
    second.release();
    assert.equal(pool.admitted, 1);
    assert.equal((await first.run(job('test_echo'), deadline())).diff, 'hello');
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
