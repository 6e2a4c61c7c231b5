import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  BadRequestError,
  ForbiddenSourceError,
  HashMismatchError,
  UndiffableContentError,
  UpstreamError,
  UpstreamTooLargeError,
  UpstreamUnreachableError,
} from '../../src/errors.ts';
import { startServer, testLimits, withFetcher, writePaced, type TestServer } from './helpers.ts';
import { joinBody } from '../../src/body.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A resolver for made-up names, so that tests can give a host any address. */
function fakeLookup(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    const addresses = table[hostname];
    if (addresses === undefined) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    const list = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if (options.all) callback(null, list);
    else callback(null, list[0]?.address ?? '', list[0]?.family ?? 4);
  };
}

describe('responses, hashes and headers', () => {
  let upstream: TestServer;
  const seen: IncomingHttpHeaders[] = [];
  before(async () => {
    upstream = await startServer((req, res) => {
      seen.push(req.headers);
      switch (req.url) {
        case '/page':
          return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-extra': 'yes' }).end('<p>page</p>');
        case '/missing':
          return void res.writeHead(404, { 'content-type': 'text/html' }).end('not here');
        case '/broken':
          return void res.writeHead(503).end('down');
        case '/archived-404':
          return void res
            .writeHead(404, { 'content-type': 'text/html', 'memento-datetime': 'Tue, 01 Oct 2024 10:00:00 GMT' })
            .end('<p>archived not found</p>');
        case '/redirect-to-page':
          return void res.writeHead(302, { location: '/page' }).end();
      }
      res.writeHead(404).end();
    });
  });
  after(() => upstream.close());

  it('returns status, final URL, content type, headers and bytes', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      const version = await fetcher.fetchVersion(`${upstream.origin}/redirect-to-page`);
      assert.equal(version.status, 200);
      assert.equal(version.url, `${upstream.origin}/redirect-to-page`);
      assert.equal(version.finalUrl, `${upstream.origin}/page`);
      assert.equal(version.contentType, 'text/html; charset=utf-8');
      assert.equal(version.headers['x-extra'], 'yes');
      assert.equal(Buffer.from(joinBody(version.body)).toString(), '<p>page</p>');
      assert.equal(version.wireBytes, 11);
    });
  });

  it('upstream 4xx/5xx is an UpstreamError with upstream_code', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      for (const [path, code] of [['/missing', 404], ['/broken', 503]] as const) {
        await assert.rejects(fetcher.fetchVersion(`${upstream.origin}${path}`), (err: unknown) => {
          assert.ok(err instanceof UpstreamError);
          assert.equal(err.details['upstream_code'], code);
          assert.equal(err.details['url'], `${upstream.origin}${path}`);
          return true;
        });
      }
    });
  });

  it('a 404 carrying Memento-Datetime is an archived page: returned as content', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      const version = await fetcher.fetchVersion(`${upstream.origin}/archived-404`);
      assert.equal(version.status, 404);
      assert.equal(Buffer.from(joinBody(version.body)).toString(), '<p>archived not found</p>');
    });
  });

  it('expectedSha256: a match (any case) passes, a mismatch is HashMismatchError with both hashes', async () => {
    const right = sha256('<p>page</p>');
    const wrong = sha256('something else');
    await withFetcher(testLimits(), async (fetcher) => {
      await fetcher.fetchVersion(`${upstream.origin}/page`, { expectedSha256: right.toUpperCase() });
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/page`, { expectedSha256: wrong }), (err: unknown) => {
        assert.ok(err instanceof HashMismatchError);
        assert.deepEqual(err.details, { url: `${upstream.origin}/page`, expected_hash: wrong, actual_hash: right });
        return true;
      });
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/page`, { expectedSha256: 'abc' }), BadRequestError);
    });
  });

  it('sends User-Agent and pass_headers on every hop, never Host or hop-by-hop headers', async () => {
    seen.length = 0;
    await withFetcher(testLimits(), async (fetcher) => {
      await fetcher.fetchVersion(`${upstream.origin}/redirect-to-page`, {
        passHeaders: {
          Cookie: 'session=abc',
          Authorization: 'Bearer t0k3n',
          'X-Custom': 'kept',
          Host: 'evil.example',
          Connection: 'upgrade',
          'Keep-Alive': 'timeout=1000',
          'Transfer-Encoding': 'chunked',
          'Content-Length': '5',
          Upgrade: 'websocket',
          TE: 'trailers',
          Trailer: 'x',
          'Proxy-Authorization': 'Basic eA==',
          'Accept-Encoding': 'identity',
        },
      });
    });
    assert.equal(seen.length, 2);
    for (const headers of seen) {
      assert.equal(headers['cookie'], 'session=abc');
      assert.equal(headers['authorization'], 'Bearer t0k3n');
      assert.equal(headers['x-custom'], 'kept');
      assert.equal(headers['host'], upstream.origin.replace('http://', ''));
      assert.equal(headers['user-agent'], 'diffguard/0.0.0-test');
      assert.equal(headers['accept-encoding'], 'gzip, deflate, br');
      assert.notEqual(headers['connection'], 'upgrade');
      for (const name of ['keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'proxy-authorization']) {
        assert.equal(headers[name], undefined, name);
      }
    }
  });

  it('does not carry Cookie or Authorization across a redirect to another origin', async (t) => {
    const seenElsewhere: IncomingHttpHeaders[] = [];
    const other = await startServer((req, res) => {
      seenElsewhere.push(req.headers);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('other origin');
    });
    t.after(() => other.close());
    const hop = await startServer((_req, res) => {
      res.writeHead(302, { Location: `${other.origin}/page` });
      res.end();
    });
    t.after(() => hop.close());
    await withFetcher(testLimits(), (fetcher) =>
      fetcher.fetchVersion(`${hop.origin}/start`, { passHeaders: { Cookie: 'session=abc', Authorization: 'Bearer t0k3n', 'X-Custom': 'kept' } }),
    );
    assert.equal(seenElsewhere.length, 1);
    assert.equal(seenElsewhere[0]!['cookie'], undefined);
    assert.equal(seenElsewhere[0]!['authorization'], undefined);
    assert.equal(seenElsewhere[0]!['x-custom'], 'kept');
  });

  it('a pass_headers value with CR/LF is refused (no header injection)', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(
        fetcher.fetchVersion(`${upstream.origin}/page`, { passHeaders: { Cookie: 'a=b\r\nX-Injected: 1' } }),
        BadRequestError,
      );
    });
  });

  it('non-http schemes and malformed URLs are BadRequestError', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion('ftp://example.com/x'), BadRequestError);
      await assert.rejects(fetcher.fetchVersion('http//nope'), BadRequestError);
    });
  });
});

describe('unreachable upstreams', () => {
  it('connection refused is UpstreamUnreachableError', async () => {
    const closed = await startServer(() => {});
    await closed.close();
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${closed.origin}/`), (err: unknown) => {
        assert.ok(err instanceof UpstreamUnreachableError);
        assert.deepEqual(err.details, { url: `${closed.origin}/`, reason: 'ECONNREFUSED' });
        return true;
      });
    });
  });

  it('a name that does not resolve is UpstreamUnreachableError', async () => {
    await withFetcher(testLimits({ lookup: fakeLookup({}) }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion('http://no-such-host.test/'), UpstreamUnreachableError);
    });
  });
});

describe('inspectPrefix (sniff hook) and abort', () => {
  let upstream: TestServer;
  const written = new Map<string, Promise<number>>();
  let closedTrickle: Promise<void> | undefined;
  before(async () => {
    upstream = await startServer((req, res) => {
      res.on('error', () => {});
      if (req.url === '/big-pdf' || req.url === '/big-pdf-2') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('%PDF-1.7\n');
        return void written.set(req.url, writePaced(res, 50 * MiB, 16 * KiB, 0x20, 1));
      }
      if (req.url === '/small') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('tiny');
      if (req.url === '/trickle') {
        res.writeHead(200).flushHeaders();
        closedTrickle = new Promise((resolve) => res.on('close', () => resolve()));
        const timer = setInterval(() => res.write('.'), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.writeHead(404).end();
    });
  });
  after(() => upstream.close());

  it('sees exactly the first prefixBytes bytes with content type, final URL and status', async () => {
    const calls: { length: number; head: string; info: unknown }[] = [];
    await withFetcher(testLimits({ maxBodyBytes: 100 * MiB }), async (fetcher) => {
      await assert.rejects(
        fetcher.fetchVersion(`${upstream.origin}/big-pdf`, {
          prefixBytes: 4096,
          inspectPrefix: (prefix, info) => {
            calls.push({ length: prefix.length, head: Buffer.from(prefix.subarray(0, 8)).toString(), info });
            throw new UndiffableContentError('a PDF', { a_content_type: 'application/pdf' });
          },
        }),
        UndiffableContentError,
      );
    });
    assert.deepEqual(calls, [
      {
        length: 4096,
        head: '%PDF-1.7',
        info: { contentType: 'application/octet-stream', finalUrl: `${upstream.origin}/big-pdf`, status: 200 },
      },
    ]);
  });

  it('a refusal (async) aborts a 50 MiB download after a few KiB and rethrows the same error', async () => {
    const refusal = new UndiffableContentError('not diffable');
    await withFetcher(testLimits({ maxBodyBytes: 100 * MiB }), async (fetcher) => {
      const rejection = fetcher.fetchVersion(`${upstream.origin}/big-pdf-2`, {
        prefixBytes: 4096,
        inspectPrefix: async () => {
          await sleep(5);
          throw refusal;
        },
      });
      await assert.rejects(rejection, (err: unknown) => err === refusal);
    });
    const sent = await written.get('/big-pdf-2');
    assert.ok(sent !== undefined && sent < MiB, `server wrote ${sent} bytes of 50 MiB`);
  });

  it('a body shorter than prefixBytes is inspected whole, once, and returned when accepted', async () => {
    const prefixes: string[] = [];
    await withFetcher(testLimits(), async (fetcher) => {
      const version = await fetcher.fetchVersion(`${upstream.origin}/small`, {
        prefixBytes: 4096,
        inspectPrefix: (prefix) => void prefixes.push(Buffer.from(prefix).toString()),
      });
      assert.equal(Buffer.from(joinBody(version.body)).toString(), 'tiny');
    });
    assert.deepEqual(prefixes, ['tiny']);
  });

  it('an AbortSignal aborts the fetch with its reason and closes the upstream connection', async () => {
    const controller = new AbortController();
    const reason = new Error('client went away');
    await withFetcher(testLimits(), async (fetcher) => {
      const pending = fetcher.fetchVersion(`${upstream.origin}/trickle`, { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 100);
      await assert.rejects(pending, (err: unknown) => err === reason);
      await closedTrickle;
      const already = AbortSignal.abort(reason);
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/small`, { signal: already }), (err: unknown) => err === reason);
    });
  });
});

describe('file:// sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diffguard-ingest-'));
  const page = join(dir, 'page.html');
  const big = join(dir, 'big.bin');
  writeFileSync(page, '<p>from disk</p>');
  writeFileSync(big, Buffer.alloc(64 * KiB + 1));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refused by default with ForbiddenSourceError', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(pathToFileURL(page).href), ForbiddenSourceError);
    });
  });

  it('read when allowed, with the sniff hook and hash check', async () => {
    await withFetcher(testLimits({ allowFileUrls: true }), async (fetcher) => {
      const prefixes: number[] = [];
      const version = await fetcher.fetchVersion(pathToFileURL(page).href, {
        expectedSha256: sha256('<p>from disk</p>'),
        inspectPrefix: (prefix) => void prefixes.push(prefix.length),
      });
      assert.equal(Buffer.from(joinBody(version.body)).toString(), '<p>from disk</p>');
      assert.equal(version.status, 200);
      assert.deepEqual(prefixes, [16]);
    });
  });

  it('obeys the size limit, and refuses devices, directories and missing files', async () => {
    await withFetcher(testLimits({ allowFileUrls: true, maxBodyBytes: 64 * KiB }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(pathToFileURL(big).href), UpstreamTooLargeError);
      await assert.rejects(fetcher.fetchVersion('file:///dev/zero'), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.equal(err.details['reason'], 'not_a_file');
        return true;
      });
      await assert.rejects(fetcher.fetchVersion(pathToFileURL(dir).href), UpstreamError);
      await assert.rejects(fetcher.fetchVersion(pathToFileURL(join(dir, 'nope.html')).href), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.equal(err.details['upstream_code'], 404);
        return true;
      });
    });
  });
});

describe('SSRF guard (on)', () => {
  let upstream: TestServer;
  let hits = 0;
  before(async () => {
    upstream = await startServer((req, res) => {
      hits += 1;
      const target = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
      if (target !== null) return void res.writeHead(302, { location: target }).end();
      res.end('public content');
    });
  });
  after(() => upstream.close());

  // The test server is on 127.0.0.1: only that exact address is exempted, and only names in
  // `lookup` resolve, so everything else is judged by the real policy.
  const guardedLimits = () =>
    testLimits({
      allowPrivateUpstreams: false,
      guardExemptAddresses: ['127.0.0.1'],
      lookup: fakeLookup({
        'public.test': ['127.0.0.1'],
        'internal.test': ['127.0.0.2'],
        'metadata.test': ['169.254.169.254'],
        'mixed.test': ['127.0.0.1', '10.0.0.7'],
        'v6-loopback.test': ['::1'],
        'mapped.test': ['::ffff:127.0.0.2'],
      }),
    });

  it('lets a host that resolves to an allowed address through', async () => {
    await withFetcher(guardedLimits(), async (fetcher) => {
      const version = await fetcher.fetchVersion(`http://public.test:${upstream.port}/`);
      assert.equal(Buffer.from(joinBody(version.body)).toString(), 'public content');
    });
  });

  it('refuses literal loopback (IPv4, IPv6, IPv4-mapped) and metadata URLs without connecting', async () => {
    hits = 0;
    await withFetcher(testLimits({ allowPrivateUpstreams: false }), async (fetcher) => {
      for (const url of [
        `http://127.0.0.1:${upstream.port}/`,
        `http://[::1]:${upstream.port}/`,
        `http://[::ffff:127.0.0.1]:${upstream.port}/`,
        'http://169.254.169.254/latest/meta-data/',
        `http://localhost:${upstream.port}/`,
      ]) {
        await assert.rejects(fetcher.fetchVersion(url), ForbiddenSourceError, url);
      }
    });
    assert.equal(hits, 0);
  });

  it('refuses names that resolve to internal addresses (checked on the DNS answer)', async () => {
    await withFetcher(guardedLimits(), async (fetcher) => {
      for (const host of ['internal.test', 'metadata.test', 'mixed.test', 'v6-loopback.test', 'mapped.test']) {
        await assert.rejects(fetcher.fetchVersion(`http://${host}:${upstream.port}/`), (err: unknown) => {
          assert.ok(err instanceof ForbiddenSourceError, `${host}: ${String(err)}`);
          assert.equal(err.details['url'], `http://${host}:${upstream.port}/`);
          return true;
        });
      }
    });
  });

  it('re-checks every redirect hop: to 127.0.0.2, 169.254.169.254, [::1], ::ffff:127.0.0.1, an internal name, file://', async () => {
    await withFetcher({ ...guardedLimits(), allowFileUrls: true }, async (fetcher) => {
      for (const target of [
        `http://127.0.0.2:${upstream.port}/`,
        'http://169.254.169.254/latest/meta-data/iam/',
        `http://[::1]:${upstream.port}/`,
        `http://[::ffff:127.0.0.1]:${upstream.port}/`,
        `http://internal.test:${upstream.port}/`,
        'file:///etc/passwd',
      ]) {
        const url = `http://public.test:${upstream.port}/?to=${encodeURIComponent(target)}`;
        await assert.rejects(fetcher.fetchVersion(url), ForbiddenSourceError, target);
      }
      // A redirect to an allowed host is still followed.
      const ok = await fetcher.fetchVersion(`http://public.test:${upstream.port}/?to=${encodeURIComponent(`http://public.test:${upstream.port}/`)}`);
      assert.equal(Buffer.from(joinBody(ok.body)).toString(), 'public content');
    });
  });

  it('allowPrivateUpstreams lifts the guard', async () => {
    await withFetcher(testLimits({ allowPrivateUpstreams: true }), async (fetcher) => {
      const version = await fetcher.fetchVersion(`http://127.0.0.1:${upstream.port}/?to=${encodeURIComponent(`http://127.0.0.1:${upstream.port}/`)}`);
      assert.equal(Buffer.from(joinBody(version.body)).toString(), 'public content');
    });
  });
});
