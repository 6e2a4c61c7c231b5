// Responses that break the framing they announced, and timeouts that must not fire early.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UpstreamError, UpstreamUnreachableError } from '../../src/errors.ts';
import type { FetchProgress } from '../../src/ingest/index.ts';
import { startRawServer, startServer, testLimits, withFetcher, type TestServer } from './helpers.ts';
import { joinBody } from '../../src/body.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a connection closed before the announced body was sent', () => {
  const responses: Record<string, string> = {
    '/short': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten!!',
    '/chunked-cut': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\na\r\nonly ten!!\r\n',
    '/long': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nasdfEXTRA BYTES NOBODY ANNOUNCED',
    '/nothing': '',
  };
  let origin: string;
  let close: () => void;
  before(async () => {
    ({ origin, close } = await startRawServer(responses));
  });
  after(() => close());

  it('a Content-Length promising more than was sent is an UpstreamError saying so, with the counts', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      const progress: FetchProgress = { status: undefined, wireBytes: 0, bytes: 0 };
      await assert.rejects(fetcher.fetchVersion(`${origin}/short`, { progress }), (err: unknown) => {
        assert.ok(err instanceof UpstreamError, String(err));
        assert.match(err.message, /closed the connection before sending the declared body \(Content-Length 100, 10 bytes received\)/);
        assert.equal(err.details['reason'], 'truncated_body');
        assert.equal(err.details['declared_length'], 100);
        assert.equal(err.details['received_bytes'], 10);
        return true;
      });
      assert.deepEqual(progress, { status: 200, wireBytes: 10, bytes: 10 });
    });
  });

  it('a chunked body cut short is the same UpstreamError', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${origin}/chunked-cut`), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.match(err.message, /closed the connection before the end of the body/);
        assert.equal(err.details['reason'], 'truncated_body');
        return true;
      });
    });
  });

  it('a Content-Length declaring less than was sent yields the declared bytes', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      assert.equal(Buffer.from(joinBody((await fetcher.fetchVersion(`${origin}/long`)).body)).toString(), 'asdf');
    });
  });

  it('a connection closed before any response is still unreachable', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${origin}/nothing`), UpstreamUnreachableError);
    });
  });
});

describe('timeouts fire no earlier than configured', () => {
  let upstream: TestServer;
  before(async () => {
    upstream = await startServer(async (req, res) => {
      res.on('error', () => {});
      if (req.url === '/headers-after-1200') {
        await sleep(1200);
        if (!res.destroyed) res.end('ok');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('o');
      await sleep(1200);
      if (!res.destroyed) res.end('k');
    });
  });
  after(() => upstream.close());

  // undici's own header/body timers tick every ~500 ms and a 1450 ms one fires 1000-1500 ms after it
  // was set, by the phase of the tick. Ten starts staggered across one tick make an early timer show.
  for (const [path, setting] of [['/headers-after-1200', 'headersTimeoutMs'], ['/gap-of-1200', 'bodyTimeoutMs']] as const) {
    it(`${setting} 1450 lets answers that take 1200 ms through, whatever the phase of undici's timers`, async () => {
      await withFetcher(testLimits({ [setting]: 1450 }), async (fetcher) => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => i * 50).map(async (delay) => {
            await sleep(delay);
            return Buffer.from(joinBody((await fetcher.fetchVersion(`${upstream.origin}${path}`)).body)).toString();
          }),
        );
        assert.deepEqual(
          results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))),
          Array(10).fill('ok'),
        );
      });
    });
  }
});
