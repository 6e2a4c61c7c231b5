// The service-wide bound on request bodies held in memory, by bytes (src/ingest/body-budget.ts),
// and how ingest charges it: decoded bytes as they are kept, not what is declared or on the wire.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { OverloadedError } from '../../src/errors.ts';
import { BodyBudget } from '../../src/ingest/index.ts';
import { testLimits, withFetcher } from './helpers.ts';

const KiB = 1024;

describe('BodyBudget', () => {
  it('charges each request, refuses past the limit with a retryable 503, and gives it all back on release', () => {
    const budget = new BodyBudget(100, 9);
    const first = budget.open();
    const second = budget.open();
    first.charge(60);
    second.charge(40);
    assert.equal(budget.heldBytes, 100);
    assert.throws(
      () => second.charge(1),
      (err: unknown) => err instanceof OverloadedError && err.details.scope === 'input_budget' && err.details.retry_after_seconds === 9,
    );
    assert.equal(budget.heldBytes, 100, 'a refused charge holds nothing');
    first.release();
    first.release();
    assert.equal(budget.heldBytes, 40, 'release is idempotent');
    first.charge(10);
    assert.equal(budget.heldBytes, 40, 'a released reservation charges nothing more');
    second.charge(60);
    second.release();
    assert.equal(budget.heldBytes, 0);
  });
});

describe('BodyBudget: refunds and relieving the service', () => {
  it('refunds part of a reservation, never more than it was charged', () => {
    const budget = new BodyBudget(100, 5);
    const reservation = budget.open();
    reservation.charge(70);
    reservation.refund(30);
    assert.equal(reservation.heldBytes, 40);
    assert.equal(budget.heldBytes, 40);
    reservation.refund(1000);
    assert.equal(budget.heldBytes, 0, 'a refund beyond the charge gives back only the charge');
    reservation.charge(100);
    reservation.release();
    reservation.refund(50);
    assert.equal(budget.heldBytes, 0);
  });

  it('relieveLargest stops the request holding the most, once, with a 503 naming the service scope', () => {
    const budget = new BodyBudget(1000, 7);
    const stopped: [string, OverloadedError][] = [];
    const small = budget.open({ onRelieve: (reason) => stopped.push(['small', reason]) });
    const large = budget.open({ onRelieve: (reason) => stopped.push(['large', reason]) });
    const unstoppable = budget.open();
    small.charge(100);
    large.charge(300);
    unstoppable.charge(500);
    assert.equal(budget.relieveLargest(), true);
    assert.deepEqual(stopped.map(([name]) => name), ['large'], 'the largest stoppable one, not the unstoppable 500');
    const reason = stopped[0]![1];
    assert.ok(reason instanceof OverloadedError);
    assert.equal(reason.details.scope, 'service');
    assert.equal(reason.details.retry_after_seconds, 7);
    assert.equal(reason.details.held_bytes, 300);
    // Still winding down (not released yet): not chosen again.
    assert.equal(budget.relieveLargest(), true);
    assert.deepEqual(stopped.map(([name]) => name), ['large', 'small']);
    assert.equal(budget.relieveLargest(), false, 'nothing left to stop');
    large.release();
    small.release();
    const empty = budget.open({ onRelieve: () => stopped.push(['empty', reason]) });
    assert.equal(budget.relieveLargest(), false, 'a request holding nothing is not stopped');
    empty.release();
    unstoppable.release();
    assert.equal(budget.openReservations, 0);
  });
});

describe('ingest charges the body budget', () => {
  const page = Buffer.from('<p>a page</p>'.repeat(8 * KiB)); // 104 KiB, compresses to ~1 KiB
  let origin: string;
  const server = createServer((req, res) => {
    if (req.url === '/gzip') res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzipSync(page));
    else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('charges the decoded bytes kept, and refuses a body that would pass the budget', async () => {
    await withFetcher(testLimits({ maxBodyBytes: 1024 * KiB }), async (fetcher) => {
      const roomy = new BodyBudget(page.length, 5);
      const reservation = roomy.open();
      const version = await fetcher.fetchVersion(`${origin}/gzip`, { reservation });
      assert.equal(version.body.byteLength, page.length);
      assert.equal(roomy.heldBytes, page.length, 'decoded size, not the ~1 KiB on the wire');
      reservation.release();

      const tight = new BodyBudget(page.length - 1, 5);
      for (const path of ['/gzip', '/plain']) {
        await assert.rejects(fetcher.fetchVersion(`${origin}${path}`, { reservation: tight.open() }), (err: unknown) => err instanceof OverloadedError);
      }
    });
  });
});
