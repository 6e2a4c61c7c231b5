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
      // Joining the decoded chunks into one buffer holds two copies for a moment: that is charged too.
      const roomy = new BodyBudget(2 * page.length, 5);
      const reservation = roomy.open();
      const version = await fetcher.fetchVersion(`${origin}/gzip`, { reservation });
      assert.equal(version.bytes.byteLength, page.length);
      assert.equal(roomy.heldBytes, page.length, 'decoded size, not the ~1 KiB on the wire');
      reservation.release();

      const tight = new BodyBudget(2 * page.length - 1, 5);
      for (const path of ['/gzip', '/plain']) {
        await assert.rejects(fetcher.fetchVersion(`${origin}${path}`, { reservation: tight.open() }), (err: unknown) => err instanceof OverloadedError);
      }
    });
  });
});
