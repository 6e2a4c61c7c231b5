// Upstream responses whose HTTP framing is broken in every way we know of: each one is the
// upstream's fault, answered 502 UPSTREAM_ERROR with a reason, never an internal error (500).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UpstreamError } from '../../src/errors.ts';
import { startRawServer, testLimits, withFetcher } from './helpers.ts';
import { joinBody } from '../../src/body.ts';

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n';

/** Raw bytes an upstream answers with, by request path. */
const MALFORMED: Record<string, string | Buffer> = {
  '/garbage-status-line': 'this is not HTTP at all\r\n\r\n',
  '/binary-status-line': Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]),
  '/status-not-a-number': 'HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok',
  '/status-out-of-range': 'HTTP/1.1 1000 Huge\r\nContent-Length: 2\r\n\r\nok',
  '/unknown-version': 'HTTP/7.3 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/negative-content-length': `${OK}Content-Length: -1\r\n\r\nok`,
  '/non-numeric-content-length': `${OK}Content-Length: lots\r\n\r\nok`,
  '/two-content-lengths': `${OK}Content-Length: 2\r\nContent-Length: 3\r\n\r\nok!`,
  '/chunk-size-overflow': `${OK}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nok\r\n0\r\n\r\n`,
  '/chunk-size-not-hex': `${OK}Transfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n`,
  '/chunk-without-crlf': `${OK}Transfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n`,
  '/header-with-nul': Buffer.concat([Buffer.from(`${OK}X-Bad: a`), Buffer.from([0x00]), Buffer.from('b\r\nContent-Length: 2\r\n\r\nok')]),
  '/header-name-with-space': `${OK}Bad Name: x\r\nContent-Length: 2\r\n\r\nok`,
  '/header-without-colon': `${OK}NoColonHere\r\nContent-Length: 2\r\n\r\nok`,
  '/lf-only-line-endings-with-junk': 'HTTP/1.1 200 OK\nContent-Length: 2\n\x01\x02\n\nok',
  '/transfer-encoding-and-content-length': `${OK}Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n`,
  // (An unknown Transfer-Encoding is not here: RFC 9112 §6.3 has a response read until the close.)
};

describe('malformed upstream responses', () => {
  let origin: string;
  let close: () => void;
  before(async () => {
    ({ origin, close } = await startRawServer(MALFORMED));
  });
  after(() => close());

  for (const path of Object.keys(MALFORMED)) {
    it(`${path.slice(1)}: 502 UPSTREAM_ERROR with a reason, not a bug`, async () => {
      await withFetcher(testLimits(), async (fetcher) => {
        const outcome = await fetcher.fetchVersion(`${origin}${path}`).then(
          (fetched) => ({ fetched }),
          (error: unknown) => ({ error }),
        );
        if ('fetched' in outcome) assert.fail(`${path} was accepted: ${JSON.stringify(Buffer.from(joinBody(outcome.fetched.body)).toString())}`);
        const err = outcome.error;
        assert.ok(err instanceof UpstreamError, `expected UpstreamError, got ${String(err)} ${(err as Error)?.constructor?.name}`);
        assert.equal(err.details['reason'], 'invalid_response');
        assert.equal(typeof err.details['parser_error'], 'string');
        assert.equal(err.details['url'], `${origin}${path}`);
      });
    });
  }
});
