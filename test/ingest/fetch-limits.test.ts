import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UpstreamError, UpstreamTimeoutError, UpstreamTooLargeError, UpstreamUnreachableError } from '../../src/errors.ts';
import { startServer, testLimits, withFetcher, writePaced, type TestServer } from './helpers.ts';
import { joinBody } from '../../src/body.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A gzip body of exactly `wireBytes` bytes that inflates to a few bytes: the gzip header's
 * comment field (FCOMMENT, RFC 1952) pads it. Only the cap on bytes off the wire can refuse it.
 */
function paddedGzip(wireBytes: number): Buffer {
  const member = gzipSync('small');
  const padding = wireBytes - member.length - 1; // the comment ends with a NUL
  const header = Buffer.from(member.subarray(0, 10));
  header[3] = header[3]! | 0x10; // FLG.FCOMMENT
  const body = Buffer.concat([header, Buffer.alloc(padding, 0x78), Buffer.from([0]), member.subarray(10)]);
  assert.equal(body.length, wireBytes);
  return body;
}

async function startTcpServer(onSocket: (socket: Socket) => void): Promise<{ server: TcpServer; port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('body size limit', () => {
  let upstream: TestServer;
  const sent = new Map<string, Promise<number>>();
  before(async () => {
    upstream = await startServer((req, res) => {
      res.on('error', () => {});
      const path = req.url ?? '';
      if (path === '/exact-chunked') return void sent.set(path, writePaced(res, 64 * KiB));
      if (path === '/over-chunked') return void sent.set(path, writePaced(res, 2 * MiB, 16 * KiB, 0x61, 1));
      if (path === '/over-chunked-by-one') return void writePaced(res, 64 * KiB + 1);
      const gzipWire = /^\/gzip-wire\/(\d+)$/.exec(path);
      if (gzipWire) {
        // Chunked (no Content-Length), so the declared-length check cannot act first.
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        return void res.end(paddedGzip(Number(gzipWire[1])));
      }
      if (path === '/exact-length') {
        res.writeHead(200, { 'content-length': String(64 * KiB) });
        return void res.end(Buffer.alloc(64 * KiB, 0x62));
      }
      if (path === '/over-by-one') {
        res.writeHead(200, { 'content-length': String(64 * KiB + 1) });
        return void res.end(Buffer.alloc(64 * KiB + 1, 0x62));
      }
      if (path === '/declared-huge') {
        res.writeHead(200, { 'content-length': String(10 * MiB) });
        res.flushHeaders();
        // The body starts only after the client had time to refuse the headers.
        return void sent.set(path, sleep(100).then(() => writePaced(res, 10 * MiB)));
      }
      res.writeHead(404).end();
    });
  });
  after(() => upstream.close());
  const limits = testLimits({ maxBodyBytes: 64 * KiB });

  it('passes a body of exactly maxBodyBytes (chunked and with Content-Length)', async () => {
    await withFetcher(limits, async (fetcher) => {
      const chunked = await fetcher.fetchVersion(`${upstream.origin}/exact-chunked`);
      assert.equal(chunked.body.byteLength, 64 * KiB);
      assert.equal(chunked.wireBytes, 64 * KiB);
      const sized = await fetcher.fetchVersion(`${upstream.origin}/exact-length`);
      assert.equal(sized.body.byteLength, 64 * KiB);
    });
  });

  it('refuses a chunked body (no Content-Length) one chunk past the limit, without reading it all', async () => {
    await withFetcher(limits, async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/over-chunked`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['max_size'], 64 * KiB);
        assert.equal(err.details['url'], `${upstream.origin}/over-chunked`);
        return true;
      });
      const written = await sent.get('/over-chunked');
      assert.ok(written !== undefined && written < MiB, `server wrote ${written} bytes`);
    });
  });

  it('refuses a chunked body of maxBodyBytes + 1 bytes (body_size)', async () => {
    await withFetcher(limits, async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/over-chunked-by-one`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'body_size');
        return true;
      });
    });
  });

  it('caps the bytes off the wire, not only the decoded ones: a gzip body of exactly maxBodyBytes passes, one byte more fails', async () => {
    await withFetcher(limits, async (fetcher) => {
      const exact = await fetcher.fetchVersion(`${upstream.origin}/gzip-wire/${64 * KiB}`);
      assert.equal(exact.wireBytes, 64 * KiB);
      assert.equal(Buffer.from(joinBody(exact.body)).toString(), 'small');
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/gzip-wire/${64 * KiB + 1}`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'body_size');
        assert.equal(err.details['max_size'], 64 * KiB);
        return true;
      });
    });
  });

  it('refuses a declared Content-Length one byte over the limit', async () => {
    await withFetcher(limits, async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/over-by-one`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'content_length');
        return true;
      });
    });
  });

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    await withFetcher(limits, async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/declared-huge`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTooLargeError);
        assert.equal(err.details['reason'], 'content_length');
        return true;
      });
      const written = await sent.get('/declared-huge');
      // The connection was closed while the server waited: at most one paced chunk got out.
      assert.ok(written !== undefined && written <= 16 * KiB, `server wrote ${written} bytes`);
    });
  });

  it('a Content-Length that declares less than is sent yields at most the declared bytes', async () => {
    const raw = await startTcpServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
        socket.write(Buffer.alloc(512 * KiB, 0x63));
      });
    });
    try {
      await withFetcher(limits, async (fetcher) => {
        const version = await fetcher.fetchVersion(`http://127.0.0.1:${raw.port}/`);
        assert.equal(version.body.byteLength, 10);
      });
    } finally {
      raw.close();
    }
  });

  it('refuses a body delimited only by connection close once it passes the limit', async () => {
    let written = 0;
    let serverDone!: () => void;
    const serverStopped = new Promise<void>((resolve) => (serverDone = resolve));
    const raw = await startTcpServer((socket) => {
      socket.once('data', async () => {
        socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
        const chunk = Buffer.alloc(16 * KiB, 0x64);
        while (!socket.destroyed && written < 4 * MiB) {
          written += chunk.length;
          if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
          await sleep(0);
        }
        socket.end();
        serverDone();
      });
    });
    try {
      await withFetcher(limits, async (fetcher) => {
        await assert.rejects(fetcher.fetchVersion(`http://127.0.0.1:${raw.port}/`), UpstreamTooLargeError);
      });
      // The server's loop ends when the client hangs up (or after writing all 4 MiB).
      await serverStopped;
      assert.ok(written < 4 * MiB, `server wrote ${written} bytes`);
    } finally {
      raw.close();
    }
  });
});

describe('redirects', () => {
  let upstream: TestServer;
  before(async () => {
    upstream = await startServer((req, res) => {
      const path = req.url ?? '';
      const hop = /^\/hop\/(\d+)$/.exec(path);
      if (hop) {
        const remaining = Number(hop[1]);
        if (remaining === 0) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('arrived');
        return void res.writeHead(remaining % 2 ? 302 : 301, { location: `/hop/${remaining - 1}` }).end();
      }
      if (path === '/loop/a') return void res.writeHead(302, { location: '/loop/b' }).end();
      if (path === '/loop/b') return void res.writeHead(307, { location: `${upstream.origin}/loop/a#x` }).end();
      if (path === '/self') return void res.writeHead(308, { location: '/self' }).end();
      if (path === '/no-location') return void res.writeHead(302).end();
      if (path === '/to-ftp') return void res.writeHead(302, { location: 'ftp://example.com/' }).end();
      const slow = /^\/slow\/(\d+)$/.exec(path);
      if (slow) {
        const remaining = Number(slow[1]);
        return void setTimeout(() => {
          if (remaining === 0) res.end('slow arrival');
          else res.writeHead(302, { location: `/slow/${remaining - 1}` }).end();
        }, 150);
      }
      res.writeHead(404).end();
    });
  });
  after(() => upstream.close());

  it(`follows exactly maxRedirects (5) redirects`, async () => {
    await withFetcher(testLimits({ maxRedirects: 5 }), async (fetcher) => {
      const version = await fetcher.fetchVersion(`${upstream.origin}/hop/5`);
      assert.equal(Buffer.from(joinBody(version.body)).toString(), 'arrived');
      assert.equal(version.finalUrl, `${upstream.origin}/hop/0`);
      assert.equal(version.url, `${upstream.origin}/hop/5`);
    });
  });

  it('refuses the 6th redirect', async () => {
    await withFetcher(testLimits({ maxRedirects: 5 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/hop/6`), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.equal(err.details['reason'], 'too_many_redirects');
        assert.equal(err.details['url'], `${upstream.origin}/hop/6`);
        return true;
      });
    });
  });

  it('maxRedirects 0 refuses any redirect', async () => {
    await withFetcher(testLimits({ maxRedirects: 0 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/hop/1`), UpstreamError);
    });
  });

  it('detects redirect loops (fragment ignored) and self-redirects', async () => {
    await withFetcher(testLimits({ maxRedirects: 20 }), async (fetcher) => {
      for (const path of ['/loop/a', '/self']) {
        await assert.rejects(fetcher.fetchVersion(`${upstream.origin}${path}`), (err: unknown) => {
          assert.ok(err instanceof UpstreamError);
          assert.equal(err.details['reason'], 'redirect_loop');
          return true;
        });
      }
    });
  });

  it('a redirect without Location or to another scheme is an upstream error', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/no-location`), (err: unknown) => {
        assert.ok(err instanceof UpstreamError);
        assert.equal(err.details['upstream_code'], 302);
        return true;
      });
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/to-ftp`), UpstreamError);
    });
  });

  it('the whole-fetch deadline covers all redirect hops', async () => {
    // Each hop answers in 150 ms (well inside the headers timeout); four of them pass 400 ms.
    await withFetcher(testLimits({ bodyTimeoutMs: 400, headersTimeoutMs: 2000 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/slow/3`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTimeoutError);
        assert.equal(err.details['timeout_ms'], 400);
        return true;
      });
    });
    await withFetcher(testLimits({ bodyTimeoutMs: 2000 }), async (fetcher) => {
      const version = await fetcher.fetchVersion(`${upstream.origin}/slow/1`);
      assert.equal(Buffer.from(joinBody(version.body)).toString(), 'slow arrival');
    });
  });
});

describe('timeouts', () => {
  let upstream: TestServer;
  let trickled = 0;
  let trickleStopped: Promise<void> = Promise.resolve();
  before(async () => {
    upstream = await startServer(async (req, res) => {
      res.on('error', () => {});
      if (req.url === '/late-headers') {
        await sleep(600);
        if (!res.destroyed) res.end('late');
        return;
      }
      if (req.url === '/trickle-forever' || req.url === '/trickle-short') {
        let stopped!: () => void;
        if (req.url === '/trickle-forever') trickleStopped = new Promise<void>((resolve) => (stopped = resolve));
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.flushHeaders();
        const limit = req.url === '/trickle-short' ? 3 : Infinity;
        for (let i = 0; i < limit && !res.socket?.destroyed; i++) {
          res.write('x');
          if (req.url === '/trickle-forever') trickled += 1;
          await sleep(req.url === '/trickle-short' ? 30 : 100);
        }
        if (!res.socket?.destroyed) res.end();
        stopped?.();
        return;
      }
      res.end('fast');
    });
  });
  after(() => upstream.close());

  it('response headers timeout: a fast answer passes, a late one fails with UpstreamTimeoutError', async () => {
    await withFetcher(testLimits({ headersTimeoutMs: 200 }), async (fetcher) => {
      assert.equal(Buffer.from(joinBody((await fetcher.fetchVersion(`${upstream.origin}/fast`)).body)).toString(), 'fast');
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/late-headers`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTimeoutError);
        assert.equal(err.details['timeout_ms'], 200);
        assert.equal(err.details['url'], `${upstream.origin}/late-headers`);
        return true;
      });
    });
  });

  it('a body trickling a byte at a time is cut at the whole-body deadline', async () => {
    // The gap between bytes (100 ms) never trips an idle timer of 400 ms: only a total deadline stops it.
    await withFetcher(testLimits({ bodyTimeoutMs: 400 }), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`${upstream.origin}/trickle-forever`), (err: unknown) => {
        assert.ok(err instanceof UpstreamTimeoutError);
        assert.equal(err.details['timeout_ms'], 400);
        return true;
      });
      // The server's loop stops once it sees the hang-up (it would trickle forever otherwise).
      await trickleStopped;
      // 400 ms at one byte per 100 ms, with room for a loaded machine noticing the hang-up late.
      assert.ok(trickled < 40, `${trickled} bytes trickled`);
    });
  });

  it('a short trickle that ends within the deadline passes', async () => {
    await withFetcher(testLimits({ bodyTimeoutMs: 2000 }), async (fetcher) => {
      assert.equal(Buffer.from(joinBody((await fetcher.fetchVersion(`${upstream.origin}/trickle-short`)).body)).toString(), 'xxx');
    });
  });

  it('connect timeout (TLS handshake never answered) fails with UpstreamTimeoutError', async () => {
    const silent = await startTcpServer(() => {});
    try {
      await withFetcher(testLimits({ connectTimeoutMs: 200, bodyTimeoutMs: 5000 }), async (fetcher) => {
        await assert.rejects(fetcher.fetchVersion(`https://127.0.0.1:${silent.port}/`), (err: unknown) => {
          assert.ok(err instanceof UpstreamTimeoutError, String(err));
          assert.equal(err.details['timeout_ms'], 200);
          return true;
        });
      });
    } finally {
      silent.close();
    }
  });
});

describe('TLS', () => {
  const fixtures = new URL('../../fixtures/ingest/', import.meta.url);
  const server = createTlsServer(
    { key: readFileSync(new URL('self-signed-key.pem', fixtures)), cert: readFileSync(new URL('self-signed-cert.pem', fixtures)) },
    (_req, res) => res.end('secret'),
  );
  let port = 0;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('verifies certificates by default: a self-signed one is refused as unreachable', async () => {
    await withFetcher(testLimits(), async (fetcher) => {
      await assert.rejects(fetcher.fetchVersion(`https://127.0.0.1:${port}/`), (err: unknown) => {
        assert.ok(err instanceof UpstreamUnreachableError);
        assert.equal(err.details['reason'], 'tls');
        return true;
      });
    });
  });

  it('verifyTls: false accepts it', async () => {
    await withFetcher(testLimits({ verifyTls: false }), async (fetcher) => {
      assert.equal(Buffer.from(joinBody((await fetcher.fetchVersion(`https://127.0.0.1:${port}/`)).body)).toString(), 'secret');
    });
  });
});
