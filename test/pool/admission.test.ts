import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverloadedError } from '../../src/errors.ts';
import { AdmissionControl, type JobWeight } from '../../src/pool/admission.ts';

const MiB = 1024 * 1024;

/** A task that runs until `finish()` is called; `started` says whether it got a run slot. */
function gate() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const task = { started: false, finish: () => finish(), run: async () => {
    task.started = true;
    await done;
  } };
  return task;
}

function submit(admission: AdmissionControl, weight: JobWeight, signal = new AbortController().signal) {
  const task = gate();
  const settled = admission.schedule(weight, signal, task.run);
  settled.catch(() => {});
  return { ...task, settled, get started() { return task.started; } };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AdmissionControl (size-weighted)', () => {
  it('weighs a job by the bytes of its two bodies', () => {
    const admission = new AdmissionControl({ workers: 2, maxQueued: 4, maxInFlight: 100, heavyJobBytes: 2 * MiB, retryAfterSeconds: 5 });
    assert.equal(admission.weigh(2 * MiB), 'small');
    assert.equal(admission.weigh(2 * MiB + 1), 'heavy');
    // Without a threshold no job is heavy.
    assert.equal(new AdmissionControl({ workers: 1, maxQueued: 2, maxInFlight: 10, retryAfterSeconds: 5 }).weigh(1e12), 'small');
  });

  it('admits a small job while large ones fill their share, and refuses a large one past it', async () => {
    // 2 workers + 4 queued = 6 job places; heavy jobs may hold 3 of them and run on 1 worker.
    const admission = new AdmissionControl({ workers: 2, maxQueued: 4, maxInFlight: 100, heavyJobBytes: MiB, retryAfterSeconds: 5 });
    assert.equal(admission.heavyPlaceLimit, 3);
    const heavy = [submit(admission, 'heavy'), submit(admission, 'heavy'), submit(admission, 'heavy')];
    await tick();
    assert.deepEqual(heavy.map((job) => job.started), [true, false, false], 'large jobs run on all workers but one');
    // Past its share, a large job is refused at once with 503 and a retry delay...
    assert.match(admission.refusalReason('heavy') ?? '', /large jobs hold their share/);
    await assert.rejects(admission.schedule('heavy', new AbortController().signal, async () => {}), (err: OverloadedError) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.details.retry_after_seconds, 5);
      return true;
    });
    // ...while a normal page diff is admitted and runs at once on the worker kept for small jobs.
    assert.equal(admission.refusalReason('small'), undefined);
    const small = submit(admission, 'small');
    await tick();
    assert.ok(small.started);
    small.finish();
    await small.settled;
    for (const job of heavy) job.finish();
    await Promise.all(heavy.map((job) => job.settled));
    assert.equal(admission.refusalReason('heavy'), undefined);
    assert.equal(admission.active + admission.queued, 0);
  });

  it('refuses a small job only when every place is taken', async () => {
    const admission = new AdmissionControl({ workers: 1, maxQueued: 2, maxInFlight: 100, heavyJobBytes: MiB, retryAfterSeconds: 5 });
    // 3 places: heavy jobs may hold 2.
    const jobs = [submit(admission, 'heavy'), submit(admission, 'heavy'), submit(admission, 'small')];
    await tick();
    assert.equal(admission.queueFull(), true);
    assert.equal(admission.refusalReason('small'), 'queue full');
    assert.equal(admission.unavailableReason(), 'queue full');
    for (const job of jobs) job.finish();
    await Promise.all(jobs.map((job) => job.settled));
  });

  it('gives small jobs smallQueuePlaces places of their own beyond maxQueued, and refuses one only past both', async () => {
    const admission = new AdmissionControl({ workers: 1, maxQueued: 2, smallQueuePlaces: 3, maxInFlight: 100, heavyJobBytes: MiB, retryAfterSeconds: 5 });
    // One running, two waiting: as many as maxQueued.
    const jobs = [submit(admission, 'small'), submit(admission, 'small'), submit(admission, 'small')];
    await tick();
    assert.equal(admission.queued, 2);
    // Three more fit in the small-only places...
    assert.equal(admission.unavailableReason(), undefined, 'a request whose weight is not known yet is admitted');
    for (let i = 0; i < 3; i += 1) {
      assert.equal(admission.refusalReason('small'), undefined);
      jobs.push(submit(admission, 'small'));
    }
    await tick();
    assert.equal(admission.queued, 5);
    // ...and are refused past them.
    assert.equal(admission.refusalReason('small'), 'queue full');
    assert.equal(admission.unavailableReason(), 'queue full');
    await assert.rejects(admission.schedule('small', new AbortController().signal, async () => {}), OverloadedError);
    for (const job of jobs) job.finish();
    await Promise.all(jobs.map((job) => job.settled));
  });

  it('lets small jobs fill their own places first: a heavy job still finds a shared place behind them', async () => {
    const admission = new AdmissionControl({ workers: 1, maxQueued: 2, smallQueuePlaces: 3, maxInFlight: 100, heavyJobBytes: MiB, retryAfterSeconds: 5 });
    // One running and three small waiting: they hold the small-only places, the two shared ones are free.
    const jobs = [submit(admission, 'small'), submit(admission, 'small'), submit(admission, 'small'), submit(admission, 'small')];
    await tick();
    assert.equal(admission.queued, 3);
    assert.equal(admission.refusalReason('heavy'), undefined);
    jobs.push(submit(admission, 'heavy'));
    // A fourth small one overflows into the last shared place; then a heavy one has none.
    jobs.push(submit(admission, 'small'));
    await tick();
    assert.equal(admission.refusalReason('heavy'), 'queue full');
    assert.equal(admission.refusalReason('small'), 'queue full');
    for (const job of jobs) job.finish();
    await Promise.all(jobs.map((job) => job.settled));
    assert.equal(admission.active + admission.queued, 0);
  });

  it('lets requests still fetching claim large jobs\' places: past the share a claim is refused, and so is a heavy job', async () => {
    // 2 workers + 4 queued = 6 places; heavy jobs (running, waiting or still fetching) may hold 3.
    const admission = new AdmissionControl({ workers: 2, maxQueued: 4, maxInFlight: 100, heavyJobBytes: MiB, retryAfterSeconds: 5 });
    const claims = [admission.claimHeavyPlace(), admission.claimHeavyPlace(), admission.claimHeavyPlace()];
    assert.ok(claims.every((claim) => 'release' in claim));
    const refused = admission.claimHeavyPlace();
    assert.ok('refused' in refused && /large jobs hold their share/.test(refused.refused));
    assert.match(admission.refusalReason('heavy') ?? '', /large jobs hold their share/);
    assert.equal(admission.refusalReason('small'), undefined, 'small jobs are not affected');
    // A claim given back (twice: idempotent) frees exactly one place.
    const first = claims[0]!;
    if ('release' in first) {
      first.release();
      first.release();
    }
    assert.equal(admission.refusalReason('heavy'), undefined);
    assert.ok('release' in admission.claimHeavyPlace());
    assert.ok('refused' in admission.claimHeavyPlace());
  });

  it('starts a waiting small job before a waiting large one', async () => {
    const admission = new AdmissionControl({ workers: 1, maxQueued: 4, maxInFlight: 100, heavyJobBytes: MiB, retryAfterSeconds: 5 });
    const running = submit(admission, 'small');
    const heavy = submit(admission, 'heavy');
    const small = submit(admission, 'small');
    await tick();
    assert.deepEqual([running.started, heavy.started, small.started], [true, false, false]);
    running.finish();
    await running.settled;
    await tick();
    assert.deepEqual([heavy.started, small.started], [false, true]);
    small.finish();
    await small.settled;
    await tick();
    assert.ok(heavy.started, 'a large job runs once nothing small waits');
    heavy.finish();
    await heavy.settled;
  });

  it('takes a waiting job out when its signal fires, with the signal\'s reason', async () => {
    const admission = new AdmissionControl({ workers: 1, maxQueued: 4, maxInFlight: 100, retryAfterSeconds: 5 });
    const running = submit(admission, 'small');
    const controller = new AbortController();
    const waiting = submit(admission, 'small', controller.signal);
    assert.equal(admission.queued, 1);
    controller.abort('wall');
    await assert.rejects(waiting.settled, (reason) => reason === 'wall');
    assert.equal(admission.queued, 0);
    running.finish();
    await running.settled;
    assert.equal(admission.active, 0);
  });

  it('counts in-flight places, with an idempotent release, and reports the drain', async () => {
    const admission = new AdmissionControl({ workers: 1, maxQueued: 1, maxInFlight: 2, retryAfterSeconds: 5 });
    const first = admission.takePlace();
    admission.takePlace()();
    const second = admission.takePlace();
    assert.equal(admission.unavailableReason(), 'too many requests in flight');
    let drained = false;
    void admission.drained().then(() => (drained = true));
    first();
    first();
    assert.equal(admission.admitted, 1);
    second();
    await tick();
    assert.ok(drained);
  });
});
